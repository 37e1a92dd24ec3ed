"""Object storage: a real S3-compatible server process (moto's server mode), a web process and
two workers, each with a disk of its own. A track is created over HTTP, its zoo is built by
the workers (each chunk pushed to the bucket, the bundle written from what the bucket holds),
the bundle downloaded by a pre-signed URL, a submission uploaded through the web process into
the bucket and scored by a worker that reads it and the solutions from the bucket alone."""

import io
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection

from arena.client import Client
from benchmark.models import Submission, Track
from tests.benchmark.factories import track_toml
from tests.http import Reply, multipart, post_file, request
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BUCKET = "arena-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_server(tmp_path):
    """moto's S3 server in its own process, with an empty bucket; yields its URL."""
    import boto3

    port = _free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp_path / "moto.log").read_text()) from None
                time.sleep(0.2)
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield url, client
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _unfollowed(url: str, token: str) -> Reply:
    """A GET whose redirect is returned, not followed."""
    opener = urllib.request.build_opener(_Stay)
    req = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with opener.open(req, timeout=30) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers.items()), error.read())


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _predictions(track: Track) -> bytes:
    """A valid zip of constant predictions for every dev and final model."""
    from benchmark.services import io as track_io

    indices = track_io.model_indices(track=track)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder in track_io.scenario_folders(track=track).values():
            for phase in ("dev", "final"):
                for index in indices[phase]:
                    row = ",".join(["0.5"] * (2 * track.challenge))
                    archive.writestr(f"{folder}/{phase}/model_{index}/prediction.csv", row)
    return buffer.getvalue()


def test_a_zoo_and_a_submission_live_in_the_bucket_with_no_shared_disk(stack, s3_server):
    assert connection.vendor == "postgresql"
    url, s3 = s3_server
    stack.env.update(
        ARENA_S3_BUCKET=BUCKET,
        ARENA_S3_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        ARENA_AUTO_BASELINES="loss",
    )
    disks = {name: stack.tmp / f"{name}-disk" for name in ("web", "zoo", "scoring")}
    for disk in disks.values():
        disk.mkdir()

    def on(disk: Path) -> None:
        stack.env.update(ARENA_MEDIA_ROOT=str(disk), ARENA_ZOO_ROOT=str(disk / "zoo"))

    on(disks["zoo"])
    stack.worker(queues="zoo,attacks")
    on(disks["scoring"])
    stack.worker(queues="scoring")
    on(disks["web"])
    base = stack.web()

    User.objects.create_superuser("org-s3", password="a-long-password-1")
    client = Client(base)
    token = client.login("org-s3", "a-long-password-1")
    toml = track_toml("s3zoo", m=10, n=120, train=2, dev=2, final=2, chunk=2, dp=False)
    body, content_type = multipart({"file": ("t.toml", toml.encode())})
    created = request(
        "POST", f"{base}/api/v1/tracks/", body=body, headers={"Content-Type": content_type},
        token=token,
    )  # fmt: skip
    assert created.status == 201, created.body

    def ready():
        track = Track.objects.get(slug="s3zoo")
        if track.build_status == Track.BuildStatus.FAILED:
            pytest.fail(track.build_message)
        return track if track.build_status == Track.BuildStatus.READY else None

    track = wait_for(ready, timeout=300, what="the zoo build", logs=stack.logs)
    zoo_keys = _keys(s3, "zoo/")
    assert "zoo/bundles/s3zoo.zip" in zoo_keys and "zoo/bundles/s3zoo.zip.sha256" in zoo_keys
    assert any(key.startswith("zoo/solutions/s3zoo/") for key in zoo_keys)
    assert any(key.endswith("/model.pt") for key in zoo_keys)
    assert not (disks["web"] / "zoo").exists(), "the web process holds no zoo file"

    bundle = stack.tmp / "bundle.zip"
    redirect = _unfollowed(f"{base}/api/v1/tracks/s3zoo/bundle/", token)
    assert redirect.status == 302, redirect.body
    location = redirect.headers["Location"]
    assert location.startswith(f"{url}/{BUCKET}/zoo/bundles/s3zoo.zip?"), location
    assert "X-Amz-Expires=300" in location and "X-Amz-Signature=" in location
    anonymous = request("GET", f"{base}/api/v1/tracks/s3zoo/bundle/")
    assert anonymous.status == 401, "the permission check comes before the URL"
    downloaded = client.download("s3zoo", bundle)  # checked against the announced SHA-256
    assert downloaded["bytes"] == bundle.stat().st_size > 0
    assert "s3zoo/s3zoo_inf/train/model_0/model.pt" in zipfile.ZipFile(bundle).namelist()

    reply = post_file(f"{base}/api/v1/tracks/s3zoo/submissions/", _predictions(track), token=token)
    assert reply.status == 202, reply.body
    submission_id = reply.json()["id"]

    def scored():
        row = Submission.objects.get(pk=submission_id)
        return row if row.status in ("scored", "failed") else None

    row = wait_for(scored, timeout=120, what="scoring from the bucket", logs=stack.logs)
    assert row.status == "scored", row.message
    assert any(key.startswith("media/submissions/s3zoo/") for key in _keys(s3, "media/"))
    assert not any(path.startswith("submissions/") for path in _files(disks["scoring"]))
    assert not any(path.startswith("submissions/") for path in _files(disks["web"]))
    pulled = _files(disks["scoring"] / "zoo")
    assert pulled and all(path.startswith("solutions/s3zoo/") for path in pulled), pulled
    assert not list((disks["web"]).rglob("*.pt")), "no weights on the web disk"
