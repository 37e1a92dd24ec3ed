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
