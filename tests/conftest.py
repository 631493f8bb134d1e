"""Shared fixtures: a real redis-server the suite starts itself, the Flask app, and gunicorn for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.redis_server import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
# The image's own gunicorn configuration: end-to-end tests run the command the image runs.
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"

SECRETS = {"submitter": "submitter-secret", "moderator": "moderator-secret", "admin": "admin-secret"}
API_KEYS = "site:submitter:submitter-secret,mod-ann:moderator:moderator-secret,root:admin:admin-secret"
KEY_PREFIX = "test:"


def auth(role: str) -> dict[str, str]:
    """The Authorization header of the test key with `role`."""
    return {"Authorization": f"Bearer {SECRETS[role]}"}


@pytest.fixture(scope="session")
def seed() -> dict[str, Any]:
    """The acceptance fixture: comments from the seed article with the outcome a moderator expects."""
    with (ROOT / "tests" / "data" / "seed_comments.json").open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    """A client on a freshly emptied database."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def env(redis_server: LocalRedis) -> dict[str, str]:
    """Environment for the service under test; tests may change it before building an app."""
    return {"REDIS_URL": redis_server.url, "MODERATION_API_KEYS": API_KEYS, "REDIS_KEY_PREFIX": KEY_PREFIX}


@pytest.fixture
def app(env: dict[str, str], redis_client: redis.Redis) -> Flask:
    return create_app(env)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Gunicorn:
    """The service as the Docker image runs it: gunicorn with docker/gunicorn.conf.py and service.wsgi:app."""

    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # Its access log (stdout) and error log (stderr) go to files here: a pipe nobody reads would fill and block it.
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gunicorn-logs-")))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.log_dir / f"{self.port}-stdout.log"

    @property
    def error_log(self) -> Path:
        return self.log_dir / f"{self.port}-stderr.log"

    def start(self, timeout: float = 120.0) -> Gunicorn:
        environment = {**os.environ, **self.env, "PORT": str(self.port), "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "service.wsgi:app"]
        with self.access_log.open("wb") as out, self.error_log.open("wb") as err:
            self.process = subprocess.Popen(command, env=environment, cwd=ROOT, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.error_log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not become ready in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def access_entry(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The access-log entry of a request: gunicorn writes it just after the response, so wait for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            written = self.access_log.read_text()
            for line in written[: written.rfind("\n") + 1].splitlines():  # whole lines only: one may be half written
                entry: dict[str, Any] = json.loads(line)
                if entry.get("request_id") == request_id:
                    return entry
            time.sleep(0.05)
        raise AssertionError(f"no access-log entry for {request_id}")

    def client(self, role: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=auth(role) if role else {}, timeout=30)


@pytest.fixture(scope="module")
def gunicorn(redis_server: LocalRedis) -> Iterator[Gunicorn]:
    """One gunicorn per test module, on the session's redis-server under its own key prefix."""
    server = Gunicorn(
        {
            "REDIS_URL": redis_server.url.removesuffix("/0") + "/1",
            "MODERATION_API_KEYS": API_KEYS,
            "REDIS_KEY_PREFIX": "e2e:",
        }
    ).start()
    yield server
    server.stop()
