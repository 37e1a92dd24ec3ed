"""Leaderboard latency: 1,000 participants × 3 scenarios, served through Django's test client.

Seeds a throwaway database (SQLite in a temporary directory unless DATABASE_URL is set) with one
track, 1,000 participants with two scored submissions each (so "latest" has to choose), three
baselines and their scores with display ROCs, then times the leaderboard page and the API.

    .venv/bin/python bench/leaderboard.py

The last lines are ``leaderboard_api_ms: X`` and ``leaderboard_ms: X`` (median of the page,
goal < 100).
"""

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="arena-bench-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'bench.sqlite3'}")
os.environ.setdefault("ARENA_VAR_DIR", str(TMP / "var"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmark.models import (  # noqa: E402
    LeaderboardEntry,
    Scenario,
    ScenarioScore,
    Submission,
    Track,
)
from benchmark.services.scores import SCORER_VERSION, leaderboard_entries  # noqa: E402

PARTICIPANTS = 1000
SCENARIOS = ("inf", "hi", "lo")
METRICS: tuple[str, ...] = ("TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_500", "TPR_FPR_1000")
METRICS += ("TPR_FPR_1500", "TPR_FPR_2000", "AUC", "MIA", "accuracy")
REPEATS = 15


def seed() -> Track:
    call_command("migrate", verbosity=0)
    now = timezone.now()
    track = Track.objects.create(
        slug="bench",
        name="Bench",
        spec_text="",
        spec={"models": {"train": 100, "dev": 50, "final": 50}},
        dev_opens=now - dt.timedelta(days=10),
        final_deadline=now + dt.timedelta(days=10),
        per_day=30,
        total=1000,
        invalid_per_day=30,
        max_bytes=2_000_000,
        challenge=100,
        build_status=Track.BuildStatus.READY,
    )
    scenarios = Scenario.objects.bulk_create(
        Scenario(track=track, slug=slug, position=i, epsilon=[None, 10.0, 4.0][i], delta=1e-5)
        for i, slug in enumerate(SCENARIOS)
    )
    users = User.objects.bulk_create(User(username=f"p{i:04d}") for i in range(PARTICIPANTS))
    submissions = [
        Submission(track=track, owner=user, file="x.zip", sha256="0" * 64, size=1, status="scored")
        for _ in range(2)
        for user in users
    ]
    submissions += [
        Submission(
            track=track,
            owner=None,
            file="x.zip",
            sha256="0" * 64,
            size=1,
            status="scored",
            is_baseline=True,
            attack=attack,
        )
        for attack in ("loss", "lira-offline", "rmia")
    ]
    submissions = Submission.objects.bulk_create(submissions)
    rng = np.random.default_rng(0)
    fpr = np.concatenate(([0.0], np.geomspace(1e-4, 1.0, 300)))
    scores = []
    for submission in submissions:
        for scenario in scenarios:
            for phase in ("dev", "final"):
                value = float(rng.uniform(0, 0.4))
                metrics = {key: float(rng.uniform(0, 1)) for key in METRICS}
                metrics["TPR_FPR_1000"] = value
                scores.append(
                    ScenarioScore(
                        submission=submission,
                        scenario=scenario,
                        phase=phase,
                        primary=value,
                        metrics=metrics,
                        ci_low=value * 0.8,
                        ci_high=value * 1.2,
                        eps_lb=0.5,
                        roc={"fpr": fpr.tolist(), "tpr": np.sqrt(fpr).tolist()},
                        scorer_version=SCORER_VERSION,
                    )
                )
    ScenarioScore.objects.bulk_create(scores, batch_size=2000)
    per_submission: dict[int, list[ScenarioScore]] = {}
    for score in scores:
        per_submission.setdefault(score.submission_id, []).append(score)
    LeaderboardEntry.objects.bulk_create(
        (
            entry
            for submission in submissions
            for entry in leaderboard_entries(submission, per_submission[submission.pk])
        ),
        batch_size=2000,
    )
    return track


def median_ms(client: Client, url: str) -> float:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return 1000 * statistics.median(times)


def main() -> None:
    start = time.perf_counter()
    track = seed()
    rows = ScenarioScore.objects.count()
    elapsed = time.perf_counter() - start
    print(
        f"seeded {PARTICIPANTS} participants x {len(SCENARIOS)} scenarios "
        f"({rows} score rows) in {elapsed:.0f} s"
    )
    client = Client()
    api = median_ms(client, f"/api/v1/tracks/{track.slug}/leaderboard/?phase=dev")
    page = median_ms(client, f"/tracks/{track.slug}/leaderboard/?phase=dev")
    print(f"database: {django.db.connection.vendor}")
    print(f"leaderboard_api_ms: {api:.1f}")
    print(f"leaderboard_ms: {page:.1f}")


if __name__ == "__main__":
    main()
