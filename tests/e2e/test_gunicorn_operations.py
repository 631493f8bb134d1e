"""The image's gunicorn command as an operator sees it: metrics over workers, JSON logs, no comment text, drain."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.redis_server import LocalRedis
from tests.conftest import API_KEYS, Gunicorn, auth


def start(redis_server: LocalRedis, tmp_path: Path, workers: int, prefix: str) -> Gunicorn:
    env = {
        "REDIS_URL": redis_server.url.removesuffix("/0") + "/3",
        "MODERATION_API_KEYS": API_KEYS,
        "REDIS_KEY_PREFIX": prefix,
        "WEB_CONCURRENCY": str(workers),
    }
    return Gunicorn(env, log_dir=tmp_path).start()


def stop(server: Gunicorn) -> int:
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    return server.process.wait(timeout=60)


@pytest.fixture
def two_workers(redis_server: LocalRedis, tmp_path: Path) -> Iterator[Gunicorn]:
    server = start(redis_server, tmp_path, workers=2, prefix=f"ops{uuid.uuid4().hex[:6]}:")
    yield server
    server.stop()


def test_access_log_stays_json_whatever_the_path(gunicorn: Gunicorn) -> None:
    # Pasted into a JSON template, the quotes would add fields of the client's choosing, the backslash break the line.
    path = '/"}, "status": 200, "forged": "\\ \u00fcber'
    request_id = f"path-{uuid.uuid4().hex}"
    response = httpx.get(gunicorn.url + quote(path), headers={"X-Request-ID": request_id})
    assert response.status_code == 404

    entry = gunicorn.access_entry(request_id)
    assert entry["path"] == path
    assert entry["status"] == 404
    assert "forged" not in entry
    for line in gunicorn.access_log.read_text().splitlines():
        assert {"ts", "logger", "method", "path", "status", "request_id"} <= set(json.loads(line))


def test_metrics_sum_over_workers_and_logs_are_json_without_comment_text(two_workers: Gunicorn) -> None:
    marker = f"marker{uuid.uuid4().hex}"
    returned_ids = set()
    for n in range(12):  # a new connection each time, so both workers take some
        response = httpx.post(
            f"{two_workers.url}/v1/score",
            json={"comments": [{"text": f"{marker} shut up you idiot, take {n}"}]},
            headers={**auth("submitter"), "X-Request-ID": f"ops-{n}"},
        )
        assert response.status_code == 200
        returned_ids.add(response.headers["X-Request-ID"])
    assert returned_ids == {f"ops-{n}" for n in range(12)}
    review_text = f"{marker} the new mayor is a cia puppet and the speech was for public consumption"
    held = httpx.post(
        f"{two_workers.url}/v1/comments",
        json={"id": f"held-{uuid.uuid4()}", "text": review_text},
        headers=auth("submitter"),
    )
    assert held.status_code == 201 and held.json()["status"] == "pending"
    held_flags = held.json()["verdict"]["flags"]
    assert held_flags

    text = httpx.get(f"{two_workers.url}/metrics").text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    scored = (("method", "POST"), ("route", "/v1/score"), ("status", "200"))
    assert samples[("moderation_http_requests_total", scored)] == 12
    assert samples[("moderation_http_request_seconds_count", scored)] == 12
    names = {name for name, _ in samples}
    assert {"moderation_verdict_cache_misses_total", "moderation_queue_depth"} <= names
    assert samples[("moderation_queue_depth", (("status", "pending"),))] == 1
    for flag in held_flags:
        assert samples[("moderation_queue_pending_by_flag", (("flag", flag),))] == 1
    # Scoring time per model, under the same model names as their load times.
    loaded = {dict(labels)["model"] for name, labels in samples if name == "moderation_model_load_seconds"}
    timed = {
        dict(labels)["model"]: count
        for (name, labels), count in samples.items()
        if name == "moderation_scoring_seconds_count"
    }
    assert loaded and set(timed) == loaded
    assert all(count >= 1 for count in timed.values())

    assert stop(two_workers) == 0
    logs = two_workers.access_log.read_text() + two_workers.error_log.read_text()
    assert marker not in logs, "comment text must not reach the logs"
    access = [json.loads(line) for line in two_workers.access_log.read_text().splitlines()]
    assert {entry["request_id"] for entry in access if entry["path"] == "/v1/score"} == returned_ids
    # The error log is JSON, apart from third-party progress bars ("Loading weights") written straight to stderr.
    for line in two_workers.error_log.read_text().splitlines():
        if line.startswith("{"):
            assert {"ts", "level", "logger", "message"} <= set(json.loads(line))


def test_sigterm_lets_an_in_flight_request_finish(redis_server: LocalRedis, tmp_path: Path) -> None:
    server = start(redis_server, tmp_path, workers=1, prefix=f"drain{uuid.uuid4().hex[:6]}:")
    texts = [f"comment {uuid.uuid4()} about the interim government and the checkpoint near Palmyra" for _ in range(100)]
    outcome: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        outcome["response"] = httpx.post(
            f"{server.url}/v1/score",
            json={"comments": [{"text": t} for t in texts]},
            headers=auth("submitter"),
            timeout=60,
        )

    request = threading.Thread(target=slow_request)
    request.start()
    time.sleep(0.3)  # scoring 100 new texts takes well over a second here: the request is in flight
    assert stop(server) == 0
    request.join(timeout=60)
    assert outcome["response"].status_code == 200
    assert len(outcome["response"].json()["results"]) == 100


def test_the_master_loads_the_models_once_and_its_workers_share_that_copy(two_workers: Gunicorn) -> None:
    assert two_workers.process is not None
    master = two_workers.process.pid
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + 60
    while len(children.read_text().split()) < 2 and time.monotonic() < deadline:  # ready once the first is up
        time.sleep(0.2)
    workers = children.read_text().split()
    for n in range(8):  # a new connection each time, so both workers score
        response = httpx.post(
            f"{two_workers.url}/v1/score", json={"comments": [{"text": f"model copies {n}"}]}, headers=auth("submitter")
        )
        assert response.status_code == 200

    assert stop(two_workers) == 0
    messages = [
        json.loads(line)["message"] for line in two_workers.error_log.read_text().splitlines() if line.startswith("{")
    ]
    loads = [message for message in messages if message.startswith("models loaded")]
    assert len(workers) == 2
    assert loads == [loads[0]] and loads[0].startswith(f"models loaded in process {master}:"), loads
