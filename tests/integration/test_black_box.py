"""A black-box track end to end on real processes (gunicorn, a Celery worker on Redis,
PostgreSQL): built by the worker, its bundle without weights, its models queried over HTTP
through attacks.remote (observations and Shokri's shadow-data synthesis), every row counted
once, and its baselines run through the same release."""

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

import attacks
from attacks.oracle import BudgetExhausted
from attacks.remote import ApiError, RemoteOracle, observe_remote
from attacks.synthesis import shokri_synthetic
from benchmark.models import DailyUsage, Submission, Track
from benchmark.zoo.datasets import load_dataset
from tests.benchmark.factories import make_staff, make_user
from tests.benchmark.helpers import client_for
from tests.conftest import ROOT
from tests.http import post_file, request
from tests.integration.conftest import log_tail, wait_for
from tests.zoo.test_black_box import BLACK_BOX

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TRACK = (
    BLACK_BOX.replace('slug = "tiny"', 'slug = "bbint"', 1)
    .replace("epochs = 2", "epochs = 10")
    .replace("max_bytes = 2_000_000", "max_bytes = 2_000_000\nqueries_per_day = 20000")
)


def booked(user) -> int:
    return sum(DailyUsage.objects.filter(entrant__user=user).values_list("queries", flat=True))


def test_a_black_box_track_is_queried_attacked_and_baselined_over_http(
    http_server, celery_worker_process, shared_media, tmp_path
):
    organizer = make_staff(username="bb-org")
    staff = client_for(organizer)
    response = staff.post(
        "/api/v1/tracks/", {"file": SimpleUploadedFile("bbint.toml", TRACK.encode())},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    logs = log_tail(celery_worker_process.log_path)

    def ready():
        track = Track.objects.get(slug="bbint")
        if track.build_status == Track.BuildStatus.FAILED:
            pytest.fail(track.build_message)
        return track if track.build_status == Track.BuildStatus.READY else None

    wait_for(ready, timeout=240, what="the black-box build", logs=logs)

    participant = make_user(username="bb-fan")
    token = Token.objects.create(user=participant).key
    bundle = request("GET", f"{http_server}/api/v1/tracks/bbint/bundle/", token=token)
    assert bundle.status == 200
    names = zipfile.ZipFile(io.BytesIO(bundle.body)).namelist()
    assert names and not [name for name in names if name.endswith("model.pt")]
    zipfile.ZipFile(io.BytesIO(bundle.body)).extractall(tmp_path / "kit")
    scenario = tmp_path / "kit" / "bbint" / "bbint_inf"

    # Observations through the API: every reference attack runs on them unchanged.
    obs = observe_remote(scenario, url=http_server, token=token, population=40)
    scores = attacks.run("rmia", obs)
    assert all(s.min() > 0 and s.max() < 1 for s in scores.values())
    seen = np.exp(obs.target_logits[:, :, 0, :])
    assert (seen > seen.min(axis=-1, keepdims=True) * 1.0001).sum(axis=-1).max() <= 3  # top-3
    spent = booked(participant)
    assert spent > 0

    # Shokri's synthesis against the live API: every row it sent is booked exactly once.
    data = load_dataset("purchase-synthetic", size=500)
    target = RemoteOracle(http_server, token=token, track="bbint", model="inf/dev/3")
    x = data.x[:20].numpy()
    result = shokri_synthetic(
        target, data.feature_space(), x, data.y[:20].numpy(), architecture="mlp-purchase",
        shadows=2, per_class=1, epochs=5, iter_max=60, classifier="logistic",
        attack_per_class=20,
    )  # fmt: skip
    assert result.scores.shape == (20,) and ((result.scores > 0) & (result.scores < 1)).all()
    assert target.spent == result.synthesis.spent + 20
    assert booked(participant) == spent + target.spent
    assert target.remaining == 20000 - booked(participant)

    # The participant's command line: the same release, the rows booked.
    config = tmp_path / "arena.json"
    config.write_text(json.dumps({"url": http_server, "token": token}))
    np.save(tmp_path / "points.npy", np.zeros((3, 600), dtype=np.int64))
    before = booked(participant)
    cli = subprocess.run(
        [sys.executable, "-m", "arena", "query", "bbint", "inf/dev/3", str(tmp_path / "points.npy"),
         "-o", str(tmp_path / "released.npy")],
        cwd=ROOT, env={"ARENA_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert f"3 rows queried; {20000 - before - 3} left today on bbint" in cli.stderr
    released = np.load(tmp_path / "released.npy")
    assert released.shape == (3, 100) and ((released > 0).sum(axis=1) == 3).all()
    assert booked(participant) == before + 3

    # The attacks command line on the bundle, querying the platform: a zip that scores.
    predicted = subprocess.run(
        [sys.executable, "-m", "attacks", "predict", str(tmp_path / "kit" / "bbint"), "loss",
         "--url", http_server, "-o", str(tmp_path / "loss.zip")],
        cwd=ROOT, env={**os.environ, "ARENA_TOKEN": token}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    posted = post_file(
        f"{http_server}/api/v1/tracks/bbint/submissions/", (tmp_path / "loss.zip").read_bytes(),
        token=token,
    )  # fmt: skip
    assert posted.status == 202, posted.body

    def scored():
        body = request("GET", f"{http_server}/api/v1/submissions/{posted.json()['id']}/",
                       token=token).json()  # fmt: skip
        return body if body["status"] in ("scored", "failed") else None

    assert wait_for(scored, timeout=120, what="scoring", logs=logs)["status"] == "scored"

    # One row past the budget: the client's requests that fit are answered and booked, the
    # last one is refused and books nothing.
    before = booked(participant)
    rows = 20000 - before + 1
    last = rows % 1000 or 1000
    oracle = RemoteOracle(http_server, token=token, track="bbint", model="inf/dev/3")
    with pytest.raises(BudgetExhausted, match="query rows on bbint are left today"):
        oracle.query(np.zeros((rows, 600), dtype=np.float32))
    assert oracle.spent == rows - last and booked(participant) == before + rows - last
    with pytest.raises(ApiError, match="HTTP 400: inputs must be 0 or 1"):
        RemoteOracle(http_server, token=make_token(), track="bbint", model="hi/dev/3").query(
            np.full((1, 600), 0.5, dtype=np.float32)
        )

    # Baselines see the release: a weight-reading attack is refused, label-only runs.
    refused = staff.post(
        "/api/v1/tracks/bbint/attacks/", {"attack": "gradient-norm"}, format="json"
    )
    assert refused.status_code == 400 and "black-box track" in refused.json()["message"]
    assert (
        staff.post(
            "/api/v1/tracks/bbint/attacks/", {"attack": "label-only"}, format="json"
        ).status_code
        == 202
    )

    def baseline(name: str):
        def done():
            row = Submission.objects.filter(track__slug="bbint", attack=name).first()
            return row if row is not None and row.status in ("scored", "failed") else None

        return done

    for name in ("loss", "label-only"):
        row = wait_for(baseline(name), timeout=240, what=f"the {name} baseline", logs=logs)
        assert row.status == "scored", row.message


def make_token() -> str:
    return Token.objects.create(user=make_user(username="bb-second")).key
