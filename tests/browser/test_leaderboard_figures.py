"""The leaderboard's ROC figures, drawn by plotly.js in a real browser: the legend keeps out of
the plotting area, participants get distinct colours, baselines are dashed, hovering a point
names the entry and its TPR."""

from pathlib import Path
from typing import Any

import pytest

from attacks import REGISTRY
from tests.benchmark import factories
from tests.benchmark.helpers import scored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARTICIPANTS = {"ada": 3.0, "grace": 2.4, "alan": 1.8, "edsger": 1.2, "barbara": 0.8, "don": 0.4}
SCENARIOS = ("inf", "lo")


@pytest.fixture
def crowded_board(shared_media):
    """Six participants (five are drawn) and every reference attack as a baseline, committed
    before the browser starts."""
    track = factories.ready_track("figures", m=40)
    for seed, (username, skill) in enumerate(PARTICIPANTS.items()):
        scored(track, factories.make_user(username=username), skill=skill, seed=seed)
    for index, attack in enumerate(REGISTRY):
        scored(track, None, attack=attack, skill=0.2 + 0.25 * index, seed=100 + index)
    return track


def _boxes(page, plot_id: str) -> dict[str, dict[str, float]]:
    """Screen boxes of the legend, the plotting area, the x-axis title and the whole figure."""
    return page.evaluate(
        """(id) => {
            const gd = document.getElementById(id);
            const box = (selector) => {
                const r = gd.querySelector(selector).getBoundingClientRect();
                return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
            };
            return {
                legend: box(".legend"),
                plot: box(".draglayer .nsewdrag"),
                xtitle: box(".g-xtitle"),
                figure: box(".main-svg"),
            };
        }""",
        plot_id,
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def _traces(page, plot_id: str) -> list[dict[str, str]]:
    """Name, stroke colour and dash of every drawn curve, read from the SVG."""
    return page.evaluate(
        """(id) => {
            const gd = document.getElementById(id);
            return Array.from(gd.querySelectorAll(".scatterlayer .trace")).map((g, i) => {
                const line = g.querySelector("path.js-line");
                return {
                    name: gd._fullData[i].name,
                    stroke: line.style.stroke,
                    dash: line.style.strokeDasharray || "",
                };
            });
        }""",
        plot_id,
    )


def _hover_first_entry(page, plot_id: str) -> dict[str, Any]:
    """Move the mouse onto a point of the top entry's curve; what plotly says it hovered."""
    page.locator(f"#{plot_id}").scroll_into_view_if_needed()
    point = page.evaluate(
        """(id) => {
            const gd = document.getElementById(id);
            window.hovered = null;
            gd.on("plotly_hover", (event) => {
                const p = event.points[0];
                window.hovered = {name: p.data.name, y: p.y};
            });
            const trace = gd._fullData[0];
            const i = Math.floor(trace.x.length / 2);
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const r = gd.getBoundingClientRect();
            return {x: r.left + xa._offset + xa.c2p(trace.x[i]),
                    y: r.top + ya._offset + ya.c2p(trace.y[i])};
        }""",
        plot_id,
    )
    page.mouse.move(point["x"], point["y"])
    page.wait_for_function("window.hovered !== null", timeout=5_000)
    page.wait_for_selector(f"#{plot_id} .hoverlayer .hovertext", timeout=5_000)
    return {
        "event": page.evaluate("window.hovered"),
        "text": page.locator(f"#{plot_id} .hoverlayer .hovertext").text_content(),
    }


def test_leaderboard_legend_is_outside_the_plot_and_curves_read_apart(
    http_server, crowded_board, browser, tmp_path: Path, artifacts: Path
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{http_server}/tracks/figures/leaderboard/?phase=dev")
    plots = [f"lb-dev-{scenario}-plot" for scenario in SCENARIOS]
    for plot_id in plots:
        page.wait_for_selector(f"#{plot_id} .legend", timeout=30_000)

    drawn = 5 + len(REGISTRY) + 1  # the top five, every baseline, chance
    colours_of_entries = []
    for plot_id in plots:
        boxes = _boxes(page, plot_id)
        assert not _overlap(boxes["legend"], boxes["plot"]), (plot_id, boxes)
        assert not _overlap(boxes["legend"], boxes["xtitle"]), (plot_id, boxes)
        assert boxes["legend"]["bottom"] <= boxes["figure"]["bottom"] + 1, (plot_id, boxes)
        assert page.locator(f"#{plot_id} .legend .traces").count() == drawn

        traces = _traces(page, plot_id)
        entries = [trace for trace in traces if trace["name"].startswith("#")]
        baselines = [trace for trace in traces if trace["name"].startswith("baseline: ")]
        assert [trace["name"] for trace in entries] == [
            "#1 ada",
            "#2 grace",
            "#3 alan",
            "#4 edsger",
            "#5 barbara",
        ]
        assert len({trace["stroke"] for trace in entries}) == 5
        assert len(baselines) == len(REGISTRY)
        assert all(trace["dash"] and trace["dash"] != "none" for trace in baselines)
        assert not {trace["stroke"] for trace in baselines} & {t["stroke"] for t in entries}
        colours_of_entries.append([trace["stroke"] for trace in entries])
    assert colours_of_entries[0] == colours_of_entries[1], "an entry keeps its colour"

    hover = _hover_first_entry(page, plots[0])
    name, tpr = hover["event"]["name"], hover["event"]["y"]
    assert name in hover["text"] and f"TPR {tpr:.3f}" in hover["text"], hover

    shot = tmp_path / "leaderboard.png"
    page.locator(".plots").screenshot(path=str(shot))  # with the hover label showing
    (artifacts / "leaderboard_figures.png").write_bytes(shot.read_bytes())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 30_000, "a blank or failed render is a few KB"

    # A phone: the legend moves below the x-axis title instead of squeezing the plot.
    page.set_viewport_size({"width": 400, "height": 800})
    page.reload()
    page.wait_for_selector(f"#{plots[0]} .legend", timeout=30_000)
    boxes = _boxes(page, plots[0])
    assert boxes["legend"]["top"] >= boxes["xtitle"]["bottom"], boxes
    assert boxes["legend"]["bottom"] <= boxes["figure"]["bottom"] + 1, boxes
    assert boxes["plot"]["right"] - boxes["plot"]["left"] > 250, "the plot keeps its width"
    narrow = tmp_path / "leaderboard-narrow.png"
    page.locator(f"#{plots[0]}").screenshot(path=str(narrow))
    (artifacts / "leaderboard_figures_narrow.png").write_bytes(narrow.read_bytes())
    assert errors == []
