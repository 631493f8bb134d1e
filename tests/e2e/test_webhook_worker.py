"""The worker process as `make run` and the compose file start it, delivering to a real receiver while gunicorn
takes comments: killed with SIGKILL in the middle of a delivery, a new worker sends that event again and the rest
after it, so nothing is lost. A receiver that hangs does not hold up submissions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.redis_server import LocalRedis
from tests.conftest import API_KEYS, ROOT, Gunicorn
from tests.webhook_receiver import Receiver

SECRET = "worker-test-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(SECRET).start()
    yield started
    started.stop()


@pytest.fixture
def service_env(redis_server: LocalRedis, receiver: Receiver) -> dict[str, str]:
    hook = {"name": "desk", "url": receiver.url, "secret": SECRET, "events": ["comment.held", "comment.rejected"]}
    return {
        "REDIS_URL": redis_server.url.removesuffix("/0") + "/2",
        "REDIS_KEY_PREFIX": f"hook{uuid.uuid4().hex[:6]}:",
        "MODERATION_API_KEYS": API_KEYS,
        "MODERATION_WEBHOOKS": json.dumps([hook]),
        "MODERATION_WEBHOOK_TIMEOUT_SECONDS": "1",  # the delivery lock lapses 7 s after a worker dies
        "MODERATION_WEBHOOK_RETRY_SECONDS": "0.1",
    }


@pytest.fixture
def server(service_env: dict[str, str]) -> Iterator[Gunicorn]:
    started = Gunicorn(service_env).start()
    yield started
    started.stop()


def start_worker(service_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker"],
            env={**os.environ, **service_env, "HF_HUB_OFFLINE": "1"},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_killed_mid_delivery_loses_nothing(
    server: Gunicorn, service_env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    receiver.release.clear()  # the first request is held open: the worker is killed while it waits
    with server.client("submitter") as client:
        ids = []
        for n in range(3):
            response = client.post("/v1/comments", json={"id": f"c{n}", "text": "shut up you fucking idiot"})
            assert response.status_code == 201
            ids.append(response.json()["id"])

        worker = start_worker(service_env, tmp_path / "worker.log")
        try:
            assert receiver.arrived.wait(timeout=60), (tmp_path / "worker.log").read_text()
            # The receiver hangs; comments are still taken, since the worker, not the request, waits on it.
            response = client.post("/v1/comments", json={"id": "c3", "text": "shut up you fucking idiot"})
            assert response.status_code == 201
            ids.append("c3")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        receiver.release.set()  # the held request is answered now, to a worker that is gone

        again = start_worker(service_env, tmp_path / "worker.log")
        try:
            accepted = receiver.wait_for(len(ids) + 1, timeout=60)  # the held one counts once as answered
        finally:
            again.send_signal(signal.SIGTERM)
            assert again.wait(timeout=30) == 0
        log = (tmp_path / "worker.log").read_text()
        assert "worker stopped" in log

    delivered = [json.loads(d.body)["comment"]["id"] for d in accepted]
    assert delivered[0] == "c0"  # the event in flight at the kill, answered after it died
    assert delivered[1:] == ids  # sent again, then everything after it, in order
    assert all(d.signed for d in receiver.attempts)

    with server.client("admin") as admin:
        counts = admin.get("/v1/admin/webhooks/desk").json()["delivery"]
    assert counts["pending"] == 0 and counts["delivered"] == len(ids)
