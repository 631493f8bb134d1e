"""MODERATION_RATE_LIMIT over real HTTP: one budget per API key, counted in Redis across two gunicorn workers.

The window is an hour, so that no run straddles a window boundary (fixed windows reset there) and flakes.
Which worker served a request is read from the Prometheus files each worker writes (`counter_<pid>.db`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from service.redis_server import LocalRedis
from tests.conftest import API_KEYS, SECRETS, Gunicorn, auth

LIMIT = 6
WINDOW_SECONDS = 3600
# One more submitter key, used only through the Perspective routes, so that its budget is its own.
PERSPECTIVE_SECRET = "perspective-only-secret"
KEYS = f"{API_KEYS},coral:submitter:{PERSPECTIVE_SECRET}"
SCORE_ROUTE = "/v1/score"
ANALYZE = "/v1alpha1/comments:analyze"
TEXT = "Thanks for the article, the map of the region was really helpful."


@pytest.fixture(scope="module")
def limited(redis_server: LocalRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """Two workers, 6 requests an hour per key; the workers' metric files in a folder this module can read."""
    metrics_dir = tmp_path_factory.mktemp("metrics")
    server = Gunicorn(
        {
            "REDIS_URL": redis_server.url.removesuffix("/0") + "/2",
            "MODERATION_API_KEYS": KEYS,
            "REDIS_KEY_PREFIX": f"rl{uuid.uuid4().hex[:8]}:",
            "MODERATION_RATE_LIMIT": f"{LIMIT}/hour",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        log_dir=tmp_path_factory.mktemp("logs"),
    ).start()
    yield server
    server.stop()


def metrics_dir(server: Gunicorn) -> Path:
    return Path(server.env["PROMETHEUS_MULTIPROC_DIR"])


def requests_by_pid(server: Gunicorn, route: str, status: int | None = None) -> dict[int, float]:
    """pid -> requests to `route` (with `status`) that process answered, from its own counter file."""
    counts: dict[int, float] = {}
    for path in metrics_dir(server).glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):  # type: ignore[no-untyped-call]
            for sample in metric.samples:
                if (
                    sample.name == "moderation_http_requests_total"
                    and sample.labels["route"] == route
                    and (status is None or sample.labels["status"] == str(status))
                ):
                    counts[pid] = counts.get(pid, 0) + sample.value
    return {pid: count for pid, count in counts.items() if count}


def worker_pids(server: Gunicorn) -> set[int]:
    """The master's children, read from /proc."""
    assert server.process is not None
    master = server.process.pid
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() == str(master):
                children.add(int(entry.name))
    return children


def wait_for_workers(server: Gunicorn, count: int, timeout: float = 60.0) -> set[int]:
    """gunicorn forks its workers one after another: /readyz may answer before the last one is up."""
    deadline = time.monotonic() + timeout
    while len(pids := worker_pids(server)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(pids) == count, (pids, server.error_log.read_text()[-3000:])
    return pids


def served_by(server: Gunicorn, client: httpx.Client) -> int:
    """The pid of the worker that answers `client`'s connection (a /healthz request: it needs no key)."""
    before = requests_by_pid(server, "/healthz")
    assert client.get("/healthz").status_code == 200
    after = requests_by_pid(server, "/healthz")
    changed = [pid for pid, count in after.items() if count > before.get(pid, 0)]
    assert len(changed) == 1, (before, after)
    return changed[0]


def one_connection_per_worker(server: Gunicorn) -> list[httpx.Client]:
    """Keep-alive clients, one on each worker's connection: open fresh ones until the other worker takes one."""
    first = server.client("submitter")
    found = {served_by(server, first): first}
    deadline = time.monotonic() + 60
    while len(found) < 2 and time.monotonic() < deadline:
        candidate = server.client("submitter")
        pid = served_by(server, candidate)
        if pid in found:
            candidate.close()
        else:
            found[pid] = candidate
    if len(found) < 2:
        for client in found.values():
            client.close()
        pytest.fail(f"every fresh connection went to worker {list(found)}: cannot spread requests over both")
    return list(found.values())


def score(client: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(SCORE_ROUTE, json={"comments": [{"text": f"{TEXT} {uuid.uuid4().hex}"}]}, headers=headers)


def assert_retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After", "")
    assert value.isdigit(), response.headers
    seconds = int(value)
    assert 1 <= seconds <= WINDOW_SECONDS
    return seconds


def assert_own_error_shape(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == "rate_limited"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert_retry_after(response)
    error: dict[str, Any] = body["error"]
    return error


def assert_resource_exhausted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == 429
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert isinstance(error["message"], str) and error["message"]
    assert_retry_after(response)
    return error


@pytest.fixture(scope="module")
def submitter_run(limited: Gunicorn) -> dict[str, Any]:
    """The submitter's key spends its budget: 6 requests alternating over both workers, then a 7th."""
    wait_for_workers(limited, 2)
    clients = one_connection_per_worker(limited)
    try:
        responses = [score(clients[n % 2]) for n in range(LIMIT + 1)]
    finally:
        for client in clients:
            client.close()
    return {
        "responses": responses,
        "served_ok": requests_by_pid(limited, SCORE_ROUTE, 200),
        "served_429": requests_by_pid(limited, SCORE_ROUTE, 429),
        "workers": worker_pids(limited),
    }


def test_the_limit_holds_across_both_workers(submitter_run: dict[str, Any]) -> None:
    responses: list[httpx.Response] = submitter_run["responses"]
    statuses = [response.status_code for response in responses]
    assert statuses == [200] * LIMIT + [429], [(r.status_code, r.text[:200]) for r in responses]
    for response in responses[:LIMIT]:
        assert len(response.json()["results"]) == 1
    error = assert_own_error_shape(responses[LIMIT])
    assert error["field"] is None
    # Both workers answered some of the six: the count lives in Redis, not in a worker.
    served_ok: dict[int, float] = submitter_run["served_ok"]
    assert len(served_ok) == 2, served_ok
    assert set(served_ok) == submitter_run["workers"]
    assert sum(served_ok.values()) == LIMIT
    assert sum(submitter_run["served_429"].values()) == 1


def test_the_limit_stays_spent_on_a_fresh_connection(limited: Gunicorn, submitter_run: dict[str, Any]) -> None:
    for _ in range(3):  # new connections, whichever worker takes them
        with limited.client("submitter") as client:
            assert_own_error_shape(score(client))


def test_admin_key_has_its_own_budget(limited: Gunicorn, submitter_run: dict[str, Any]) -> None:
    with limited.client("submitter") as client:
        assert_own_error_shape(score(client))
    with limited.client("admin") as admin:
        statuses = [score(admin).status_code for _ in range(LIMIT)]
        assert statuses == [200] * LIMIT
        assert_own_error_shape(score(admin))
    with limited.client("moderator") as moderator:  # the moderator's own budget is untouched too
        assert moderator.get("/v1/queue").status_code == 200


def test_perspective_analyze_over_the_limit_is_resource_exhausted(
    limited: Gunicorn, submitter_run: dict[str, Any]
) -> None:
    body = {"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}}
    # The submitter spent its budget on /v1/score: the same key's Perspective calls share it.
    spent = httpx.post(f"{limited.url}{ANALYZE}", params={"key": SECRETS["submitter"]}, json=body)
    assert_resource_exhausted(spent)
    spent = httpx.post(f"{limited.url}{ANALYZE}", headers={"X-Goog-Api-Key": SECRETS["submitter"]}, json=body)
    assert_resource_exhausted(spent)

    # A key used only here: six analyze calls, then 429 RESOURCE_EXHAUSTED.
    with httpx.Client(base_url=limited.url, params={"key": PERSPECTIVE_SECRET}, timeout=30) as client:
        for n in range(LIMIT):
            response = client.post(ANALYZE, json=body)
            assert response.status_code == 200, (n, response.text)
            assert "TOXICITY" in response.json()["attributeScores"]
        assert_resource_exhausted(client.post(ANALYZE, json=body))
    # Its /v1 calls then get our own 429.
    with httpx.Client(base_url=limited.url, headers={"Authorization": f"Bearer {PERSPECTIVE_SECRET}"}) as client:
        assert_own_error_shape(score(client))


def test_no_rate_limit_on_health_and_metrics(limited: Gunicorn, submitter_run: dict[str, Any]) -> None:
    with httpx.Client(base_url=limited.url, headers=auth("submitter"), timeout=30) as client:
        for _ in range(LIMIT + 2):
            assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/metrics").status_code == 200
