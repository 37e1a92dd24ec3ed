"""Plotly ROC figures as plain dicts, and a self-contained HTML report of a scored submission.

The figure dicts need no plotly import to build; templates embed them with ``Plotly.newPlot``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from scoring.metrics import METRIC_KEYS

Curve = Mapping[str, Sequence[float]]

# Okabe & Ito's colour-blind-safe qualitative palette, without its black. Only the entries being
# compared get these; references are drawn in greys so they never share a colour with an entry.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
REFERENCE_GREYS = ("#6b6b6b", "#8c8c8c", "#a8a8a8")
# Dashes for references, short enough to show in a legend's sample; the dotted line is the
# chance diagonal's alone. Four dashes and three greys give twelve distinct looks.
REFERENCE_DASHES = ("dash", "dashdot", "4px,3px", "12px,4px,2px,4px")
# The name is read from the trace (not pasted into the template), so no name is ever parsed
# as template syntax.
HOVER = "<b>%{fullData.name}</b><br>FPR %{x:.3~g}<br>TPR %{y:.3f}<extra></extra>"


def _style(index: int, *, reference: bool) -> dict[str, Any]:
    if reference:
        return {
            "color": REFERENCE_GREYS[index % len(REFERENCE_GREYS)],
            "dash": REFERENCE_DASHES[index % len(REFERENCE_DASHES)],
            "width": 1.5,
        }
    return {"color": PALETTE[index % len(PALETTE)], "width": 2.5}


def roc_figure(
    curves: Mapping[str, Curve],
    *,
    log: bool = False,
    title: str | None = None,
    references: Collection[str] = (),
) -> dict[str, Any]:
    """A Plotly figure overlaying ROC curves, its legend right of the plotting area.

    Parameters
    ----------
    curves : mapping of str to {"fpr": [...], "tpr": [...]}
        Legend name to curve (e.g. the ``roc`` of :func:`scoring.score_scenario`), in legend
        order. The entries that are not references get the colours of :data:`PALETTE` in this
        order (they repeat after seven), so the same order gives the same colours in every figure.
    log : bool
        Log-log axes, which show the low-FPR regime MICO's metrics reward. Points at FPR or
        TPR 0 cannot be drawn there and are left out.
    title : str, optional
    references : collection of str
        Names in ``curves`` drawn as references (baselines): thin, dashed, in greys, listed
        after the entries.

    Returns
    -------
    dict
        ``{"data": [...], "layout": {...}}``, JSON-serialisable. Hovering a point shows the
        curve's name, FPR and TPR; the chance diagonal is drawn dotted and has no hover.

    Examples
    --------
    >>> figure = roc_figure({"a": {"fpr": [0.0, 0.5, 1.0], "tpr": [0.0, 0.8, 1.0]}}, log=True)
    >>> figure["data"][0]["x"], figure["layout"]["xaxis"]["type"]
    ([0.5, 1.0], 'log')
    """
    unknown = sorted(set(references) - set(curves))
    if unknown:
        raise ValueError(f"references {unknown} are not among the curves")
    entries = [name for name in curves if name not in references]
    ordered = [*entries, *(name for name in curves if name in references)]
    data: list[dict[str, Any]] = []
    for name in ordered:
        curve = curves[name]
        points = list(zip(curve["fpr"], curve["tpr"], strict=True))
        if log:
            points = [(x, y) for x, y in points if x > 0 and y > 0]
        reference = name in references
        index = len(data) - len(entries) if reference else len(data)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": [float(x) for x, _ in points],
                "y": [float(y) for _, y in points],
                "line": {"shape": "linear", **_style(index, reference=reference)},
                "hovertemplate": HOVER,
            }
        )
    smallest = [x for trace in data for x in trace["x"] if x > 0]
    low = min(smallest, default=1e-5) if log else 0.0
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "chance",
            "x": [low, 1.0],
            "y": [low, 1.0],
            "line": {"dash": "dot", "color": "#bbb", "width": 1},
            "hoverinfo": "skip",
        }
    )
    axis: dict[str, Any] = {"type": "log", "dtick": "D2"} if log else {"type": "linear"}
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": "False positive rate"}, **axis},
        "yaxis": {"title": {"text": "True positive rate"}, **axis},
        # Right of the plotting area, outside it: the low-FPR corner of a log-log plot, the
        # region that matters most, stays clear however many curves there are.
        "legend": {"x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top", "font": {"size": 11}},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 40 if title else 20, "b": 50},
    }
    if not log:
        layout["xaxis"]["range"] = [0, 1]
        layout["yaxis"]["range"] = [0, 1]
    if title:
        layout["title"] = {"text": title}
    return {"data": data, "layout": layout}


def _table(scores: Mapping[str, Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(key)}</th>" for key in (*METRIC_KEYS, "ci", "eps_lb"))
    rows = []
    for phase, result in scores.items():
        cells = [f"{result[key]:.4f}" for key in METRIC_KEYS]
        cells.append("[{:.4f}, {:.4f}]".format(*result["ci"]))
        cells.append(f"{result['eps_lb']:.3f}")
        body = "".join(f"<td>{cell}</td>" for cell in cells)
        rows.append(f"<tr><th>{html.escape(phase)}</th>{body}</tr>")
    return f"<table><tr><th>phase</th>{head}</tr>{''.join(rows)}</table>"


def _notices_html(notices: Sequence[tuple[str, str]]) -> str:
    if not notices:
        return ""
    items = "".join(
        f"<li><code>{html.escape(path)}</code>: {html.escape(reason)}</li>"
        for path, reason in notices
    )
    count = len(notices)
    return (
        f"<details><summary>{count} file{'s' if count != 1 else ''} of the submission "
        f"{'were' if count != 1 else 'was'} not scored</summary><ul>{items}</ul></details>"
    )


def report_html(
    result: Mapping[str, Any],
    rocs: Mapping[str, Mapping[str, Curve]],
    *,
    notices: Sequence[tuple[str, str]] = (),
    plotly_js: str | None = None,
) -> str:
    """A self-contained HTML page: metrics and ROC curves (linear and log-log) per scenario.

    Parameters
    ----------
    result : mapping
        The CLI's JSON result (``track``, ``scenarios``, ``rank``).
    rocs : mapping
        ``scenario -> phase -> {"fpr", "tpr"}``, the downsampled curves.
    notices : sequence of (str, str)
        Files of the submission that were not scored, listed under the scores.
    plotly_js : str, optional
        plotly.js itself; by default the plotly package's copy.

    Returns
    -------
    str
        HTML with plotly.js inlined (no network needed to view it).
    """
    if plotly_js is None:
        from plotly.offline import get_plotlyjs

        plotly_js = get_plotlyjs()
    track = html.escape(str(result["track"]))
    rank = ", ".join(f"{phase}: {value:.4f}" for phase, value in result["rank"].items())
    sections = []
    for number, (scenario, phases) in enumerate(result["scenarios"].items()):
        figures = []
        for log in (False, True):
            figure = roc_figure(rocs[scenario], log=log, title="log-log" if log else "linear")
            element = f"roc-{number}-{'log' if log else 'linear'}"
            payload = json.dumps(figure).replace("</", "<\\/")
            figures.append(
                f'<div id="{element}" class="figure"></div><script>'
                f"Plotly.newPlot({json.dumps(element)}, {payload}.data, {payload}.layout);"
                "</script>"
            )
        sections.append(
            f"<section><h2>{html.escape(scenario)}</h2>{_table(phases)}"
            f'<div class="figures">{"".join(figures)}</div></section>'
        )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:small}"
        "td,th{border:1px solid #ccc;padding:2px 6px}.figures{display:flex;flex-wrap:wrap}"
        ".figure{width:480px;height:420px}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>MIA Arena scores: {track}</title><style>{style}</style>"
        f"<script>{plotly_js}</script></head><body>"
        f"<h1>{track}</h1><p>Rank (mean primary metric over scenarios): {html.escape(rank)}</p>"
        f"{''.join(sections)}{_notices_html(notices)}</body></html>"
    )
