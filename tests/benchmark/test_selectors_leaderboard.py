"""The leaderboard: one row per participant, ranking rules, baselines, ties, secrecy, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmark import selectors, services
from benchmark.models import Track
from tests.benchmark.factories import make_staff, make_user, ready_track
from tests.benchmark.helpers import scored

pytestmark = pytest.mark.django_db


def _board(track, phase="dev", user=None):
    return selectors.leaderboard_for_phase(track=track, phase=phase, user=user or make_user())


def test_one_row_per_participant_from_the_latest_submission_ranked_by_mean_primary():
    track = ready_track()
    alice, bob = make_user(), make_user()
    scored(track, alice, skill=4.0, seed=1)
    alice_latest = scored(track, alice, skill=0.0, seed=2)
    bob_only = scored(track, bob, skill=2.0, seed=3)
    rows = _board(track)["rows"]
    assert [row["submission_id"] for row in rows] == [bob_only.pk, alice_latest.pk]
    assert [row["rank"] for row in rows] == [1, 2]
    assert rows[0]["score"] >= rows[1]["score"]
    top = rows[0]
    expected = sum(top["per_scenario"][s]["TPR_FPR_1000"] for s in ("inf", "lo")) / 2
    assert top["score"] == pytest.approx(expected)
    assert set(top["per_scenario"]) == {"inf", "lo"}
    assert top["per_scenario"]["lo"]["epsilon"] == 4.0
    assert "eps_lb" in top["per_scenario"]["lo"]


def test_best_ranking_keeps_the_best_dev_submission():
    track = ready_track(final_rule=Track.Final.BEST_DEV)
    alice = make_user()
    best = scored(track, alice, skill=5.0, seed=1)
    scored(track, alice, skill=0.0, seed=2)
    assert [row["submission_id"] for row in _board(track)["rows"]] == [best.pk]


def test_staff_hidden_and_disqualified_are_not_ranked_and_baselines_are_unranked_rows():
    track = ready_track()
    alice, carol, dave = make_user(), make_user(), make_user()
    kept = scored(track, alice, seed=1)
    services.submission_set_flags(submission=scored(track, carol, seed=2), hidden=True)
    services.submission_set_flags(submission=scored(track, dave, seed=3), disqualified=True)
    scored(track, make_staff(), skill=9.0, seed=4)
    baseline = scored(track, None, attack="loss", skill=9.0, seed=5)
    rows = _board(track)["rows"]
    assert {row["submission_id"] for row in rows} == {kept.pk, baseline.pk}
    (base_row,) = [row for row in rows if row["is_baseline"]]
    assert base_row["rank"] is None and base_row["attack"] == "loss"
    assert [row["rank"] for row in rows if not row["is_baseline"]] == [1]


def test_final_is_empty_before_the_reveal_except_for_staff():
    track = ready_track()
    scored(track, make_user(), seed=1)
    hidden = _board(track, "final")
    assert hidden["rows"] == [] and not hidden["visible"]
    assert len(_board(track, "final", make_staff())["rows"]) == 1
    Track.objects.filter(pk=track.pk).update(revealed_at=timezone.now())
    track.refresh_from_db()
    assert len(_board(track, "final")["rows"]) == 1


def test_identical_entries_are_tied_and_far_apart_ones_are_not():
    track = ready_track(dev=12, final=4, m=25)
    strong = scored(track, make_user(), skill=6.0, seed=1)
    twin_a = scored(track, make_user(), skill=0.3, seed=7)
    twin_b = scored(track, make_user(), skill=0.3, seed=7)
    assert services.leaderboard_compare(track=track) == 4
    rows = {row["submission_id"]: row for row in _board(track)["rows"]}
    assert rows[strong.pk]["rank"] == 1 and not rows[strong.pk]["tied_with_above"]
    lower = max(twin_a.pk, twin_b.pk, key=lambda pk: rows[pk]["rank"])
    upper = min(twin_a.pk, twin_b.pk, key=lambda pk: rows[pk]["rank"])
    assert rows[lower]["tied_with_above"], "the same predictions cannot be separated"
    assert not rows[upper]["tied_with_above"], "a strong attack is separated from a weak one"
    assert services.leaderboard_compare(track=track) == 0, "cached"


def _queries(track, user):
    with CaptureQueriesContext(connection) as context:
        selectors.leaderboard_for_phase(track=track, phase="dev", user=user)
    return len(context.captured_queries)


@pytest.mark.parametrize("final_rule", ["latest", "best-dev", "selected"])
def test_the_query_count_does_not_grow_with_submissions(django_assert_num_queries, final_rule):
    track = ready_track(final_rule=final_rule)
    viewer = make_user()
    scored(track, make_user(), seed=1)
    scored(track, None, attack="loss", seed=2)
    small = _queries(track, viewer)
    for seed in range(3, 6):
        user = make_user()
        scored(track, user, seed=seed)
        scored(track, user, seed=seed + 50)
    scored(track, None, attack="rmia", seed=99)
    with django_assert_num_queries(small):
        board = selectors.leaderboard_for_phase(track=track, phase="dev", user=viewer)
    assert len(board["rows"]) == 6
    assert small == 5


def test_figures_draw_the_top_entries_in_rank_order_in_colour_and_baselines_as_references():
    track = ready_track()
    for seed, (username, skill) in enumerate([("ann", 3.0), ("ben", 2.0), ("cat", 1.0)]):
        scored(track, make_user(username=username), skill=skill, seed=seed)
    for seed, attack in enumerate(["rmia", "loss"], start=10):
        scored(track, None, attack=attack, skill=0.5, seed=seed)
    figures = selectors.leaderboard_figures(track=track, phase="dev", user=make_user(), top=2)
    assert list(figures) == ["inf", "lo"]
    colours = []
    for figure in figures.values():
        traces = figure["data"]
        names = [trace["name"] for trace in traces]
        assert names == ["#1 ann", "#2 ben", "baseline: loss", "baseline: rmia", "chance"]
        assert all("dash" in trace["line"] for trace in traces[2:])
        assert all("dash" not in trace["line"] for trace in traces[:2])
        colours.append([trace["line"]["color"] for trace in traces[:2]])
        assert figure["layout"]["xaxis"]["type"] == "log"
    assert colours[0] == colours[1] and len(set(colours[0])) == 2, "an entry keeps its colour"


def test_final_figures_are_for_staff_only_before_the_reveal():
    track = ready_track()
    scored(track, make_user(), seed=1)
    assert selectors.leaderboard_figures(track=track, phase="final", user=make_user()) == {}
    staff = selectors.leaderboard_figures(track=track, phase="final", user=make_staff())
    assert set(staff) == {"inf", "lo"}
