"""The deployment files, checked statically: no Docker engine runs here, so nothing is built or started."""

from __future__ import annotations

import fnmatch
import json
import os
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
# Gunicorn's own reading of a -c file: run it, keep the names that are settings, validate each through Config.set.
READ_GUNICORN_CONFIG = """
import json, runpy, sys
from gunicorn.config import Config
config = Config()
for name, value in runpy.run_path(sys.argv[1]).items():
    if name in config.settings:
        config.set(name, value)
names = ["bind", "workers", "worker_class", "threads", "preload_app", "graceful_timeout"]
settings = {name: config.settings[name].get() for name in names}
settings["logger_class"] = config.logger_class.__module__ + "." + config.logger_class.__qualname__
print(json.dumps(settings))
"""


def dockerfile_instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def gunicorn_settings(environment: dict[str, str]) -> dict[str, Any]:
    """docker/gunicorn.conf.py as gunicorn reads it under `environment`, in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", READ_GUNICORN_CONFIG, str(ROOT / "docker" / "gunicorn.conf.py")],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    settings: dict[str, Any] = json.loads(result.stdout)
    return settings


def without_gunicorn_variables() -> dict[str, str]:
    """The test run's environment without the variables the gunicorn settings read."""
    read = ("WEB_CONCURRENCY", "GUNICORN_", "HOST", "PORT", "PROMETHEUS_MULTIPROC_DIR")
    return {name: value for name, value in os.environ.items() if not name.startswith(read)}


def dotenv_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


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
    assert "8000" not in " ".join(api["healthcheck"]["test"]), "checks the port gunicorn binds, $PORT"


def test_the_worker_runs_the_same_image_beside_the_api(compose: dict[str, Any]) -> None:
    worker, api = compose["services"]["worker"], compose["services"]["api"]
    assert worker["build"] == api["build"]
    assert worker["entrypoint"] == ["moderation", "worker"]
    assert worker["environment"]["REDIS_URL"] == api["environment"]["REDIS_URL"]
    assert worker["env_file"] == api["env_file"]
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["healthcheck"] == {"disable": True}, "the image's check asks gunicorn's /readyz"
    assert worker["restart"] == "unless-stopped"


def test_api_reaches_the_compose_redis_unless_env_sets_redis_url(compose: dict[str, Any]) -> None:
    # Compose fills ${REDIS_URL:-...} from .env or the shell: a literal URL here would override .env's.
    wiring = compose["services"]["api"]["environment"]["REDIS_URL"]
    default = re.fullmatch(r"\$\{REDIS_URL:-(redis://(\w+):6379/\d+)\}", wiring)
    assert default, f"REDIS_URL should be ${{REDIS_URL:-redis://redis:6379/0}}, not {wiring!r}"
    assert default.group(2) in compose["services"], "the default points at the compose redis service"
    assert "REDIS_URL" in (ROOT / ".env.example").read_text()


def test_backup_recipe_names_the_volume_compose_creates_and_waits_for_the_rewrite(compose: dict[str, Any]) -> None:
    # Compose names a volume <project>_<volume>; .env pins the project name, which is otherwise the directory's.
    (volume,) = compose["volumes"]
    project = dotenv_example()["COMPOSE_PROJECT_NAME"]
    operations = (ROOT / "docs" / "operations.md").read_text()
    deployment = operations[operations.index("## Deployment with docker compose") :]
    backups = deployment[deployment.index("**Backups**") : deployment.index("**Upgrading models**")]
    assert f"{project}_{volume}" in backups
    assert backups.index("BGREWRITEAOF") < backups.index("aof_rewrite_") < backups.index("tar ")


def test_proxy_publishes_one_port_and_balances_over_api_replicas(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+(-\w+)?", proxy["image"])
    assert len(proxy["ports"]) == 1
    nginx = (ROOT / "docker" / "nginx" / "nginx.conf").read_text()
    assert "server api:8000 resolve" in nginx and "resolver 127.0.0.11" in nginx


def test_proxy_keeps_an_incoming_request_id_and_makes_one_otherwise() -> None:
    nginx = (ROOT / "docker" / "nginx" / "nginx.conf").read_text()
    mapping = re.search(r"map \$http_x_request_id \$(\w+) \{([^}]*)\}", nginx)
    assert mapping, "a map from the incoming X-Request-ID"
    variable, body = mapping.groups()
    rules = dict(line.strip().rstrip(";").split(None, 1) for line in body.strip().splitlines())
    assert rules == {"default": "$http_x_request_id", '""': "$request_id"}
    assert re.findall(r"proxy_set_header X-Request-ID (\S+);", nginx) == [f"${variable}"]


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
    installs = [line for line in dockerfile_instructions() if line.startswith("RUN pip install")]
    assert len(installs) == 2, "torch first, then the project"
    assert all("-c docker/constraints.txt" in line for line in installs), "every pip install takes the constraints"
    assert "ARG TOXICITY_MODEL=detoxify-unbiased" in text
    assert 'moderation fetch-models --model "${TOXICITY_MODEL}"' in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0")), "runs as a non-root user"
    (healthcheck,) = [line for line in dockerfile_instructions() if line.startswith("HEALTHCHECK")]
    assert "/readyz" in healthcheck
    assert "PORT" in healthcheck and "8000" not in healthcheck, "checks the port gunicorn binds"


def test_dockerignore_keeps_the_venv_local_data_and_secrets_out_of_the_build_context() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip().strip("/") for line in lines if line.strip() and not line.startswith(("#", "!"))]
    assert {".venv", "var", ".env"} <= set(patterns)
    # Nothing the Dockerfile copies from the context may be excluded.
    for instruction in dockerfile_instructions():
        words = instruction.split()
        if words[0] != "COPY" or any(word.startswith("--from") for word in words):
            continue
        for source in words[1:-1]:
            parts = source.split("/")
            prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
            excluding = [p for p in patterns if any(fnmatch.fnmatch(prefix, p) for prefix in prefixes)]
            assert not excluding, f"{source} is copied but .dockerignore excludes it ({excluding})"


def test_gunicorn_reads_workers_threads_and_port_from_the_environment(tmp_path: Path) -> None:
    settings = gunicorn_settings(
        {
            **without_gunicorn_variables(),
            "WEB_CONCURRENCY": "3",
            "GUNICORN_THREADS": "5",
            "HOST": "0.0.0.0",
            "PORT": "9123",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),  # else the config makes a temporary directory of its own
        }
    )
    assert settings["bind"] == ["0.0.0.0:9123"]
    assert settings["workers"] == 3
    assert settings["worker_class"] == "gthread" and settings["threads"] == 5, "threads need the gthread worker"
    assert settings["preload_app"] is True, "the master loads the models once; workers share them by fork"
    assert settings["logger_class"] == "service.gunicorn_conf.JsonAccessLogger"


def test_gunicorn_runs_as_many_threads_as_a_batch_holds_by_default() -> None:
    from service.config import Settings

    # Each request waits in its thread while scored: fewer threads than the batch size and batches never fill.
    assert gunicorn_settings(without_gunicorn_variables())["threads"] >= Settings.model_fields["batch_max_size"].default


def test_gunicorn_drains_within_the_time_compose_waits_before_sigkill(compose: dict[str, Any]) -> None:
    graceful = gunicorn_settings(without_gunicorn_variables())["graceful_timeout"]
    stop_grace = re.fullmatch(r"(\d+)s", compose["services"]["api"]["stop_grace_period"])
    assert stop_grace, "stop_grace_period in seconds"
    assert 0 < graceful < int(stop_grace.group(1))


def test_image_entrypoint_is_the_command_the_end_to_end_tests_run() -> None:
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE)
    assert entrypoint is not None
    command = json.loads(entrypoint.group(1))
    assert command == ["gunicorn", "-c", "/etc/moderation/gunicorn.conf.py", "service.wsgi:app"]
    assert "COPY docker/gunicorn.conf.py /etc/moderation/gunicorn.conf.py" in DOCKERFILE.read_text()
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert 'GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"' in conftest
    assert '"service.wsgi:app"' in conftest


def test_the_image_installs_every_shipped_model_file() -> None:
    """The image pip-installs the package (not editable): only package-data patterns reach it."""
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    artifacts = ROOT / "service" / "artifacts"
    shipped = [p.name for p in artifacts.iterdir() if p.is_file() and p.suffix != ".py"]
    assert shipped
    missing = [name for name in shipped if not any(fnmatch.fnmatch(name, p) for p in patterns["service.artifacts"])]
    assert not missing
