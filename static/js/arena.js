// MIA Arena pages: draw the Plotly figures the server embedded, and keep submission
// statuses live until they are final.
//
// Figures: every element with data-figure="<id>" is drawn from the JSON in
// <script id="<id>" type="application/json"> (Django's json_script), a Plotly figure dict
// built by a selector on the server.
//
// Statuses: every element with data-status-url polls that URL (GET /api/v1/submissions/<id>/)
// while its data-status is "queued" or "scoring", updates its text and class, and reloads the
// page once the submission is "scored" or "failed" so the server renders scores and figures.
(function () {
  "use strict";

  var FINAL = { scored: true, failed: true };
  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 10000;

  // The figures put their legend right of the plot. On a narrow screen that leaves the plot
  // no room: the legend goes below the x-axis title instead, one entry a row, in a bottom
  // margin that grows, with the element, by the legend's height.
  var NARROW_PX = 520;
  var ROW_PX = 19;
  var AXIS_PX = 60;

  function fitLegend(target, figure) {
    var layout = figure.layout || {};
    if (!layout.legend || target.clientWidth >= NARROW_PX) {
      return layout;
    }
    var entries = (figure.data || []).filter(function (trace) {
      return trace.showlegend !== false;
    }).length;
    var legendPx = entries * ROW_PX + 10;
    var margin = Object.assign({ t: 20, b: 50 }, layout.margin);
    var plotPx = target.clientHeight - margin.t - margin.b;
    target.style.height = target.clientHeight + legendPx + "px";
    return Object.assign({}, layout, {
      margin: Object.assign({}, margin, { b: margin.b + legendPx }),
      legend: Object.assign({}, layout.legend, {
        x: 0,
        xanchor: "left",
        y: -AXIS_PX / plotPx,
        yanchor: "top",
      }),
    });
  }

  function drawFigures() {
    if (!window.Plotly) {
      return;
    }
    var targets = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(targets, function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(target, figure.data || [], fitLegend(target, figure), {
        responsive: true,
        displaylogo: false,
      });
    });
  }

  function showStatus(badge, status) {
    badge.textContent = status;
    badge.className = badge.className.replace(/\b(queued|scoring|scored|failed)\b/g, "").trim();
    badge.classList.add(status);
    badge.setAttribute("data-status", status);
  }

  function poll(badge, delay) {
    window.setTimeout(function () {
      fetch(badge.getAttribute("data-status-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (body) {
          var status = body.status;
          if (status !== badge.getAttribute("data-status")) {
            showStatus(badge, status);
          }
          if (FINAL[status]) {
            window.location.reload();
            return;
          }
          poll(badge, Math.min(delay * 1.5, MAX_DELAY_MS));
        })
        .catch(function () {
          poll(badge, MAX_DELAY_MS);
        });
    }, delay);
  }

  function watchStatuses() {
    var badges = document.querySelectorAll("[data-status-url]");
    Array.prototype.forEach.call(badges, function (badge) {
      if (!FINAL[badge.getAttribute("data-status")]) {
        poll(badge, FIRST_DELAY_MS);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawFigures();
    watchStatuses();
  });
})();
