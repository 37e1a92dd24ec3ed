"""The production stack file stays valid (Debian's docker-compose parses it without an engine)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docker_compose_file_is_valid():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_compose_runs_a_worker_per_queue():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "--services"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    services = set(result.stdout.split())
    assert {
        "web",
        "worker-scoring",
        "worker-zoo",
        "worker-attacks",
        "beat",
        "redis",
        "postgres",
    } <= services


def test_the_s3_variant_adds_a_bucket_server_and_points_every_service_at_it():
    import os

    env = {**os.environ, "ARENA_S3_BUCKET": "arena", "ARENA_S3_ENDPOINT_URL": "http://s3:9000"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "--profile", "s3", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    import yaml

    config = yaml.safe_load(result.stdout)
    assert {"minio", "minio-bucket"} <= set(config["services"])
    for name in ("web", "worker-scoring", "worker-zoo", "worker-attacks"):
        environment = config["services"][name]["environment"]
        assert environment["ARENA_S3_BUCKET"] == "arena"
        assert environment["ARENA_S3_ENDPOINT_URL"] == "http://s3:9000"
