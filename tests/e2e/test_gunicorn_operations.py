"""The image's gunicorn command as an operator sees it: metrics over workers, JSON logs, no comment text, drain."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

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

    text = httpx.get(f"{two_workers.url}/metrics").text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    key = ("moderation_http_requests_total", (("method", "POST"), ("route", "/v1/score"), ("status", "200")))
    assert samples[key] == 12
    names = {name for name, _ in samples}
    assert {"moderation_verdict_cache_misses_total", "moderation_queue_depth", "moderation_model_load_seconds"} <= names
    assert "moderation_scoring_seconds_count" in names

    assert stop(two_workers) == 0
    logs = two_workers.access_log.read_text() + two_workers.error_log.read_text()
    assert marker not in logs, "comment text must not reach the logs"
    access = [json.loads(line) for line in two_workers.access_log.read_text().splitlines() if line.startswith("{")]
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
