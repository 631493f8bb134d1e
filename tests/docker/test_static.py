"""The deployment files, checked statically: no Docker engine runs here, so nothing is built or started."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_compose_file_validates_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.schema.json").read_text())
    jsonschema.validate(compose, schema)


def test_redis_is_durable_private_and_health_checked(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+(-\w+)?", redis["image"]), "pin the official image's exact tag"
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync always" in command
    assert "ports" not in redis
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "Redis data lives in a named volume"
    assert "healthcheck" in redis


def test_api_waits_for_redis_and_is_limited_and_restarted(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["build"]["dockerfile"] == "docker/Dockerfile"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["restart"] == "unless-stopped"
    assert api["deploy"]["resources"]["limits"]["memory"]
    assert "ports" not in api, "replicas are reached through the proxy only"
    assert api["env_file"] == ".env" and (ROOT / ".env.example").is_file()


def test_proxy_publishes_one_port_and_balances_over_api_replicas(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+(-\w+)?", proxy["image"])
    assert len(proxy["ports"]) == 1
    nginx = (ROOT / "docker" / "nginx" / "nginx.conf").read_text()
    assert "server api:8000 resolve" in nginx and "resolver 127.0.0.11" in nginx


def test_dockerfile_passes_hadolint_at_error_level() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "error", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_has_the_required_settings() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text), "a pinned slim Python 3.11 base"
    assert text.count("FROM ") >= 2, "multi-stage"
    assert "download.pytorch.org/whl/cpu torch==2.13.0" in text
    assert "-c docker/constraints.txt" in text and (ROOT / "docker" / "constraints.txt").is_file()
    assert "ARG TOXICITY_MODEL=detoxify-unbiased" in text
    assert 'moderation fetch-models --model "${TOXICITY_MODEL}"' in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "runs as a non-root user"
    assert "HEALTHCHECK" in text and "/readyz" in text


def test_image_entrypoint_is_the_command_the_end_to_end_tests_run() -> None:
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE)
    assert entrypoint is not None
    command = json.loads(entrypoint.group(1))
    assert command == ["gunicorn", "-c", "/etc/moderation/gunicorn.conf.py", "service.wsgi:app"]
    assert "COPY docker/gunicorn.conf.py /etc/moderation/gunicorn.conf.py" in DOCKERFILE.read_text()
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert 'GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"' in conftest
    assert '"service.wsgi:app"' in conftest
