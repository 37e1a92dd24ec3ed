"""MICO's benchmark hosted unchanged, end to end on real processes (gunicorn, a Celery worker on
Redis, PostgreSQL).

A MICO-layout release (a Purchase-format file, MICO's split procedure, DP weights carrying
Opacus's ``_module.``) is imported with ``manage.py track_import``; the participant bundle,
downloaded over HTTP, gives back MICO's exact challenge points; MICO's starting-kit steps run on
it with only the imports changed; the zip goes up through the REST API and its scores equal an
independent scikit-learn computation. The DDP demo track (two scenarios, each with its own
dataset, architecture and MICO-style folder) builds on the worker and its baseline scores.
"""

import csv
import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from sklearn.metrics import roc_auc_score, roc_curve

from benchmark.models import Submission, Track
from tests.benchmark.factories import make_staff
from tests.benchmark.helpers import client_for
from tests.conftest import ROOT
from tests.http import post_file, request
from tests.integration.conftest import log_tail, wait_for
from tests.zoo.mico_release import write_release

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

M, N = 100, 150  # MICO: the starting kit calls from_path with len_challenge = 100


def _sklearn_scores(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """TPR at FPR strictly below 10% (MICO's score.py) and the AUC, from scikit-learn alone."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return {
        "TPR_FPR_1000": float(tpr[fpr < 0.1].max()),
        "AUC": float(roc_auc_score(labels, scores)),
    }


def test_a_mico_release_imports_and_the_starting_kit_scores_through_rest(
    http_server, celery_worker_process, shared_media, tmp_path, settings, monkeypatch
):
    settings.ARENA_AUTO_BASELINES = []
    release = write_release(tmp_path / "mico", slug="micohost", m=M, n=N, train=2, dev=3, final=2)
    out = io.StringIO()
    call_command(
        "track_import", str(release["track"]), "--release", str(release["release"]),
        "--solutions", str(release["solutions"]), stdout=out, stderr=out,
    )  # fmt: skip
    assert "ready" in out.getvalue(), out.getvalue()
    assert Track.objects.get(slug="micohost").build_status == Track.BuildStatus.READY

    user = User.objects.create_user("mico-fan", password="a-long-password-1")
    token = Token.objects.create(user=user).key
    bundle = request("GET", f"{http_server}/api/v1/tracks/micohost/bundle/", token=token)
    assert bundle.status == 200 and bundle.body.startswith(b"PK")
    kit = tmp_path / "kit"
    zipfile.ZipFile(io.BytesIO(bundle.body)).extractall(kit)
    data_dir = tmp_path / "data"
    (data_dir / "purchase100").mkdir(parents=True)
    shutil.copy(release["data"], data_dir / "purchase100" / "dataset_purchase")
    monkeypatch.chdir(kit)

    # MICO's starting kit (starting-kit/purchase100.ipynb), only its imports changed.
    from benchmark.zoo.mico import ChallengeDataset, load_model, load_purchase100
    from benchmark.zoo.mico.scoring import score, tpr_at_fpr

    CHALLENGE = "micohost"
    LEN_TRAINING = N
    LEN_CHALLENGE = M
    scenarios = os.listdir(CHALLENGE)
    phases = ["dev", "final", "train"]
    dataset = load_purchase100(dataset_dir=str(data_dir))
    criterion = torch.nn.CrossEntropyLoss(reduction="none")
    for scenario in scenarios:
        for phase in phases:
            root = os.path.join(CHALLENGE, scenario, phase)
            for model_folder in sorted(os.listdir(root), key=lambda d: int(d.split("_")[1])):
                path = os.path.join(root, model_folder)
                challenge_dataset = ChallengeDataset.from_path(
                    path, dataset=dataset, len_training=LEN_TRAINING
                )
                challenge_points = challenge_dataset.get_challenges()
                # MICO's exact challenge points, in MICO's order.
                index = int(model_folder.split("_")[1])
                rows, labels = release["truth"][(scenario.split("_")[1], phase, index)]
                assert challenge_points.indices == rows, path
                if phase == "train":
                    assert challenge_dataset.get_solutions() == labels, path
                model = load_model("purchase100", path)
                loader = torch.utils.data.DataLoader(challenge_points, batch_size=2 * LEN_CHALLENGE)
                features, targets = next(iter(loader))
                output = model(features)
                predictions = -criterion(output, targets).detach().numpy()
                low, high = np.min(predictions), np.max(predictions)
                predictions = (predictions - low) / (high - low)
                with open(os.path.join(path, "prediction.csv"), "w") as f:
                    csv.writer(f).writerow(predictions)
    assert sorted(scenarios) == ["micohost_inf", "micohost_lo"]
    for scenario in scenarios:
        root = os.path.join(CHALLENGE, scenario, "train")
        folders = sorted(os.listdir(root), key=lambda d: int(d.split("_")[1]))
        predictions = np.concatenate(
            [np.loadtxt(os.path.join(root, d, "prediction.csv"), delimiter=",") for d in folders]
        )
        solutions = np.concatenate(
            [np.loadtxt(os.path.join(root, d, "solution.csv"), delimiter=",") for d in folders]
        )
        assert score(solutions, predictions)["TPR_FPR_1000"] == tpr_at_fpr(solutions, predictions)
    with zipfile.ZipFile("predictions_micohost.zip", "w") as zipf:
        for scenario in scenarios:
            for phase in ["dev", "final"]:
                root = os.path.join(CHALLENGE, scenario, phase)
                for model_folder in sorted(os.listdir(root), key=lambda d: int(d.split("_")[1])):
                    zipf.write(os.path.join(root, model_folder, "prediction.csv"))

    upload = (kit / "predictions_micohost.zip").read_bytes()
    posted = post_file(f"{http_server}/api/v1/tracks/micohost/submissions/", upload, token=token)
    assert posted.status == 202, posted.body
    url = f"{http_server}/api/v1/submissions/{posted.json()['id']}/"

    def scored():
        body = request("GET", url, token=token).json()
        return body if body["status"] in ("scored", "failed") else None

    body = wait_for(
        scored, timeout=120, what="scoring", logs=log_tail(celery_worker_process.log_path)
    )
    assert body["status"] == "scored", body
    for scenario in ("inf", "lo"):
        keys = [(scenario, "dev", index) for index in (2, 3, 4)]
        labels = np.concatenate([release["truth"][key][1] for key in keys])
        values = np.concatenate(
            [
                np.loadtxt(
                    kit / f"micohost/micohost_{s}/{p}/model_{i}/prediction.csv", delimiter=","
                )
                for s, p, i in keys
            ]
        )
        expected = _sklearn_scores(labels, values)
        got = body["scores"][scenario]["dev"]
        assert got["TPR_FPR_1000"] == pytest.approx(expected["TPR_FPR_1000"], abs=1e-12)
        assert got["AUC"] == pytest.approx(expected["AUC"], abs=1e-12)


def test_the_ddp_demo_track_builds_with_mico_folders_and_its_baseline_scores(
    celery_worker_process, shared_media, settings
):
    settings.ARENA_AUTO_BASELINES = ["loss"]
    organizer = make_staff(username="org-ddp")
    client = client_for(organizer)
    toml = (ROOT / "tracks" / "demo-ddp.toml").read_bytes()
    response = client.post(
        "/api/v1/tracks/", {"file": SimpleUploadedFile("demo-ddp.toml", toml)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    logs = log_tail(celery_worker_process.log_path)

    def ready():
        track = Track.objects.get(slug="demo-ddp")
        if track.build_status == Track.BuildStatus.FAILED:
            pytest.fail(track.build_message)
        return track if track.build_status == Track.BuildStatus.READY else None

    track = wait_for(ready, timeout=300, what="the demo-ddp build", logs=logs)
    zoo = Path(settings.ARENA_ZOO_ROOT)
    assert sorted(p.name for p in (zoo / "demo-ddp").iterdir()) == ["digits_ddp", "purchase_ddp"]
    with zipfile.ZipFile(zoo / track.bundle.name) as archive:
        names = archive.namelist()
    assert "demo-ddp/digits_ddp/dev/model_8/seed_training" in names, "training seeds revealed"
    assert "demo-ddp.digits_ddp.population.csv" in names

    def baseline():
        row = Submission.objects.filter(track=track, attack="loss").first()
        return row if row is not None and row.status in ("scored", "failed") else None

    loss = wait_for(baseline, timeout=240, what="the loss baseline", logs=logs)
    assert loss.status == "scored", loss.message
    detail = client.get(f"/api/v1/submissions/{loss.pk}/").json()
    assert set(detail["scores"]) == {"purchase", "digits"}
    assert all(0.0 <= detail["scores"][s]["dev"]["AUC"] <= 1.0 for s in ("purchase", "digits"))
