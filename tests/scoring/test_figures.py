import json

import pytest

from scoring import roc_figure

CURVES = {
    "dev": {"fpr": [0.0, 0.0, 0.001, 0.5, 1.0], "tpr": [0.0, 0.2, 0.3, 0.9, 1.0]},
    "final": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]},
}


def test_linear_figure_draws_every_curve_and_chance():
    figure = roc_figure(CURVES, title="hi")
    assert [trace["name"] for trace in figure["data"]] == ["dev", "final", "chance"]
    assert figure["data"][0]["x"] == CURVES["dev"]["fpr"]
    assert figure["layout"]["xaxis"]["type"] == "linear"
    assert figure["layout"]["title"]["text"] == "hi"
    json.dumps(figure)


def test_log_figure_leaves_out_points_a_log_axis_cannot_show():
    figure = roc_figure(CURVES, log=True)
    assert figure["data"][0]["x"] == [0.001, 0.5, 1.0]
    assert figure["data"][0]["y"] == [0.3, 0.9, 1.0]
    assert figure["layout"]["yaxis"]["type"] == "log"


def test_mismatched_curve_is_refused():
    with pytest.raises(ValueError):
        roc_figure({"bad": {"fpr": [0.0, 1.0], "tpr": [0.0]}})
