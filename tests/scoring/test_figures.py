import json

import pytest

from scoring import roc_figure
from scoring.figures import PALETTE

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


def _crowd(entries: int, references: int) -> dict[str, dict[str, list[float]]]:
    curve = {"fpr": [0.0, 0.01, 0.1, 1.0], "tpr": [0.0, 0.2, 0.5, 1.0]}
    names = [f"#{i} user{i}" for i in range(1, entries + 1)]
    names += [f"baseline: attack{i}" for i in range(references)]
    return {name: curve for name in names}


@pytest.mark.parametrize("log", [False, True])
def test_the_legend_sits_outside_the_plotting_area(log):
    legend = roc_figure(_crowd(5, 11), log=log)["layout"]["legend"]
    outside_x = legend["x"] > 1 and legend["xanchor"] == "left"
    below = legend.get("orientation") == "h" and legend["y"] < 0 and legend["yanchor"] == "top"
    assert outside_x or below, legend


def test_entries_get_distinct_palette_colours_and_references_dashed_greys():
    curves = _crowd(5, 11)
    references = {name for name in curves if name.startswith("baseline: ")}
    traces = roc_figure(curves, log=True, references=references)["data"]
    entries = [trace for trace in traces if trace["name"].startswith("#")]
    baselines = [trace for trace in traces if trace["name"] in references]
    entry_colours = [trace["line"]["color"] for trace in entries]
    assert len(set(entry_colours)) == 5
    assert set(entry_colours) <= set(PALETTE)
    assert all("dash" not in trace["line"] for trace in entries)
    assert all(trace["line"]["dash"] not in ("solid", "dot") for trace in baselines)
    assert not {trace["line"]["color"] for trace in baselines} & set(PALETTE)
    looks = {(trace["line"]["color"], trace["line"]["dash"]) for trace in baselines}
    assert len(looks) == len(baselines), "every reference attack has its own look"
    assert all(trace["line"]["width"] < entries[0]["line"]["width"] for trace in baselines)


def test_references_are_listed_after_the_entries_whatever_the_order_given():
    curves = {"baseline": CURVES["dev"], "b": CURVES["dev"], "a": CURVES["final"]}
    traces = roc_figure(curves, references={"baseline"})["data"]
    assert [trace["name"] for trace in traces] == ["b", "a", "baseline", "chance"]
    assert traces[0]["line"]["color"] == PALETTE[0] and traces[1]["line"]["color"] == PALETTE[1]


def test_hovering_a_point_names_the_curve_and_gives_its_fpr_and_tpr():
    traces = roc_figure(CURVES, log=True)["data"]
    for trace in traces[:-1]:
        template = trace["hovertemplate"]
        assert "%{fullData.name}" in template
        assert "TPR %{y" in template and "FPR %{x" in template
        assert template.endswith("<extra></extra>")
    chance = traces[-1]
    assert chance["name"] == "chance" and chance["hoverinfo"] == "skip"
    assert chance["line"]["dash"] == "dot"


def test_an_unknown_reference_is_refused_by_name():
    with pytest.raises(ValueError, match="nobody"):
        roc_figure(CURVES, references={"nobody"})
