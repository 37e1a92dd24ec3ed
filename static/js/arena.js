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

  // A horizontal legend at Plotly's default place overlaps the x-axis title: put it below.
  function belowAxisTitle(layout) {
    var legend = layout.legend;
    if (legend && legend.orientation === "h" && legend.y === undefined) {
      layout.legend = Object.assign({}, legend, { y: -0.18, yanchor: "top" });
    }
    return layout;
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
      window.Plotly.newPlot(target, figure.data || [], belowAxisTitle(figure.layout || {}), {
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
