"""Plotly figure dicts of ROC curves; templates and clients only embed them."""

from typing import Any

#: The smallest FPR a log-log axis shows (a ROC's first point has FPR 0).
LOG_FLOOR = 1e-5


def roc_figure(curves: list[dict[str, Any]], *, log: bool = False) -> dict[str, Any]:
    """One figure overlaying ``curves`` (``{"name", "fpr", "tpr"}`` each) and the diagonal.

    On log-log axes points with FPR or TPR of zero are dropped (they have no position there).
    """
    data: list[dict[str, Any]] = []
    for curve in curves:
        fpr, tpr = curve["fpr"], curve["tpr"]
        if log:
            kept = [(x, y) for x, y in zip(fpr, tpr, strict=True) if x > 0 and y > 0]
            fpr, tpr = [x for x, _ in kept], [y for _, y in kept]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": curve["name"],
                "x": fpr,
                "y": tpr,
                "line": {"shape": "hv", "dash": curve.get("dash", "solid")},
            }
        )
    low = LOG_FLOOR if log else 0.0
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "chance",
            "x": [low, 1.0],
            "y": [low, 1.0],
            "line": {"dash": "dot", "color": "#999"},
            "hoverinfo": "skip",
        }
    )
    axis_type = "log" if log else "linear"
    axis_range = [-5, 0] if log else [0, 1]
    return {
        "data": data,
        "layout": {
            "xaxis": {
                "title": {"text": "false positive rate"},
                "type": axis_type,
                "range": axis_range,
            },
            "yaxis": {
                "title": {"text": "true positive rate"},
                "type": axis_type,
                "range": axis_range,
            },
            "margin": {"l": 60, "r": 10, "t": 30, "b": 50},
            "legend": {"orientation": "h"},
        },
    }
