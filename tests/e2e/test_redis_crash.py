"""Redis is SIGKILLed under load and restarted on its append-only file: no acknowledged comment is lost.

16 clients post comments to the image's gunicorn while redis-server (appendfsync always) is killed and restarted
twice. Afterwards every comment answered 200/201 is stored as it was answered, every pending one is in the queue,
and while Redis was down every answer was a 503 with Retry-After, within the bound.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.redis_server import LocalRedis, free_port
from tests.conftest import API_KEYS, Gunicorn

CLIENTS = 16
CRASHES = 2
UP_SECONDS = 1.5  # load before each crash and after the last recovery
DOWN_SECONDS = 1.5
RECOVERY_TIMEOUT = 20.0
HANG_BOUND = 1.0  # seconds: the contract (these took under 0.2 s here, with the two cores busy)
# A handful of texts, so that after the first of each the verdicts come from the cache and the clients exercise
# the store rather than the model. The flagged ones are caught by cue phrases, so they are pending whatever the model.
BENIGN_TEXTS = (
    "thanks for the thoughtful article",
    "the photos of the old harbour are lovely",
    "I read this twice, well argued",
)
FLAGGED_TEXTS = (
    "shut up you fucking idiot",
    "isis rebranding is for public consumption. they sent cia / mossad puppet al-jolani to iraq",
)


@dataclass(frozen=True)
class Attempt:
    """One POST /v1/comments as the client saw it; status 0 stands for no HTTP answer at all."""

    comment_id: str
    started: float
    finished: float
    status: int
    body: dict[str, Any]
    retry_after: str | None

    @property
    def acknowledged(self) -> bool:
        return self.status in (200, 201)


@dataclass
class Stack:
    redis: LocalRedis
    gunicorn: Gunicorn

    def crash_redis(self) -> float:
        """SIGKILL redis-server; returns when it is gone (its port closed), as time.monotonic()."""
        process = self.redis.process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.redis.process = None
        return time.monotonic()

    def restart_redis(self) -> None:
        """A new redis-server on the same port and data directory: it replays the append-only file."""
        self.redis = LocalRedis(self.redis.data_dir, port=self.redis.port, appendfsync="always").start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("crash-redis")
    local = LocalRedis(data_dir, port=free_port(), appendfsync="always").start()
    server = Gunicorn({"REDIS_URL": local.url, "MODERATION_API_KEYS": API_KEYS, "REDIS_KEY_PREFIX": "crash:"})
    running = Stack(local, server.start())
    yield running
    running.gunicorn.stop()
    running.redis.stop()


def post(client: httpx.Client, comment_id: str, text: str) -> Attempt:
    started = time.monotonic()
    try:
        response = client.post("/v1/comments", json={"id": comment_id, "text": text})
    except httpx.TransportError:
        return Attempt(comment_id, started, time.monotonic(), 0, {}, None)
    finished = time.monotonic()
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {"unparsed": response.text[:200]}
    return Attempt(comment_id, started, finished, response.status_code, body, response.headers.get("retry-after"))


def post_until_stopped(stack: Stack, client_number: int, stop: threading.Event, attempts: list[Attempt]) -> None:
    with stack.gunicorn.client("submitter") as client:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            texts = FLAGGED_TEXTS if sequence % 4 == 0 else BENIGN_TEXTS
            attempts.append(post(client, f"crash-{client_number}-{sequence}", texts[sequence % len(texts)]))


def wait_until_accepting(stack: Stack, attempts: list[Attempt]) -> None:
    """Post until one comment is acknowledged: the service is back on the restarted Redis."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    with stack.gunicorn.client("submitter") as client:
        for probe in itertools.count():
            attempt = post(client, f"crash-probe-{len(attempts)}-{probe}", BENIGN_TEXTS[0])
            attempts.append(attempt)
            if attempt.acknowledged:
                return
            assert time.monotonic() < deadline, "the service did not recover after Redis came back"
            time.sleep(0.05)


def stored_records(stack: Stack, comment_ids: list[str]) -> dict[str, dict[str, Any]]:
    """GET every id, several at a time: id -> the stored record, for those that are stored."""
    def fetch(chunk: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        with stack.gunicorn.client("moderator") as client:
            for comment_id in chunk:
                response = client.get(f"/v1/comments/{comment_id}")
                assert response.status_code in (200, 404), (comment_id, response.status_code, response.text)
                if response.status_code == 200:
                    found[comment_id] = response.json()
        return found

    chunks = [comment_ids[start::8] for start in range(8)]
    with ThreadPoolExecutor(len(chunks)) as pool:
        return {k: v for part in pool.map(fetch, chunks) for k, v in part.items()}


def queued_ids(stack: Stack) -> list[str]:
    """Every id in the pending queue, page by page."""
    ids: list[str] = []
    cursor: str | None = None
    with stack.gunicorn.client("moderator") as client:
        while True:
            params: dict[str, str | int] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            response = client.get("/v1/queue", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids


def test_acknowledged_comments_survive_redis_sigkill(stack: Stack) -> None:
    attempts: list[Attempt] = []  # list.append is atomic: every client thread appends here
    with stack.gunicorn.client("submitter") as client:
        for number, text in enumerate(BENIGN_TEXTS + FLAGGED_TEXTS):  # score each text once, before the load
            attempts.append(post(client, f"crash-warm-{number}", text))
    assert all(a.status == 201 for a in attempts), [(a.status, a.body) for a in attempts]

    outages: list[tuple[float, float]] = []  # (Redis gone, restart begun), as time.monotonic()
    stop = threading.Event()
    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(post_until_stopped, stack, n, stop, attempts) for n in range(CLIENTS)]
        try:
            for _ in range(CRASHES):
                time.sleep(UP_SECONDS)
                gone = stack.crash_redis()
                time.sleep(DOWN_SECONDS)
                outages.append((gone, time.monotonic()))
                stack.restart_redis()
                wait_until_accepting(stack, attempts)
            time.sleep(UP_SECONDS)
        finally:
            stop.set()
            for running in clients:
                running.result()

    assert all(a.status in (200, 201, 503) for a in attempts), {(a.status, str(a.body)[:200]) for a in attempts}
    unavailable = [a for a in attempts if a.status == 503]
    for attempt in unavailable:
        assert attempt.retry_after is not None and attempt.retry_after.isdigit(), attempt
        assert attempt.body["error"]["code"] == "store_unavailable", attempt.body
        assert attempt.finished - attempt.started < HANG_BOUND, f"a 503 took {attempt.finished - attempt.started:.2f} s"
    for gone, restarting in outages:
        while_down = [a for a in attempts if a.started >= gone and a.finished <= restarting]
        assert while_down, "no request was made while Redis was down"
        assert all(a.status == 503 for a in while_down), {a.status for a in while_down}
    restarts = [0.0] + [restarting for _, restarting in outages]
    crashes = [gone for gone, _ in outages] + [float("inf")]
    for up_from, up_to in zip(restarts, crashes, strict=True):  # before the first crash, and after each restart
        assert any(a.acknowledged and up_from <= a.started < up_to for a in attempts), "no comment accepted"

    acknowledged = {a.comment_id: a.body for a in attempts if a.acknowledged}
    stored = stored_records(stack, [a.comment_id for a in attempts])
    lost = sorted(set(acknowledged) - set(stored))
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged comments lost, e.g. {lost[:5]}"
    changed = [i for i, record in acknowledged.items() if stored[i] != record]
    assert not changed, f"stored records differ from what was acknowledged: {changed[:5]}"

    queue = queued_ids(stack)
    assert len(queue) == len(set(queue))
    acknowledged_pending = {i for i, record in acknowledged.items() if record["status"] == "pending"}
    assert acknowledged_pending, "the flagged texts should have left comments pending"
    assert acknowledged_pending <= set(queue), sorted(acknowledged_pending - set(queue))[:5]
    # A record and its queue entry are written in one transaction: the queue holds exactly the pending records
    # (those include any the server stored but could not acknowledge before Redis died).
    assert set(queue) == {i for i, record in stored.items() if record["status"] == "pending"}
