"""Sites under the image's gunicorn with two workers: a rule changed through one worker reaches the other, and one
cached score serves each site's own decision."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.redis_server import LocalRedis
from tests.conftest import API_KEYS, Gunicorn, auth

# The bound: a change made through one worker is in force in every worker within this many seconds.
PROPAGATION_SECONDS = 5.0
# Answers in a row, each on a new connection, that must all show the change once both workers have shown it.
CONSECUTIVE = 20
# A made-up word the models score as harmless (toxicity ~0.01): only the word list can reject it.
WORD = "zorblatt"
WORD_TEXT = f"The {WORD} festival is on Friday."
# Mildly rude: toxicity ~0.2, well under the deployment's review threshold (0.75), well over a strict site's 0.01.
RUDE_TEXT = "This article is rubbish."
# Another such text: it shows the strict policy in force without putting RUDE_TEXT in the cache.
PROBE_TEXT = "Stop whining about the weather."
STRICT_TOXICITY_REVIEW = 0.01


@pytest.fixture(scope="module")
def two_workers(redis_server: LocalRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    env = {
        "REDIS_URL": redis_server.url.removesuffix("/0") + "/3",
        "MODERATION_API_KEYS": API_KEYS,
        "REDIS_KEY_PREFIX": f"sites{uuid.uuid4().hex[:6]}:",  # an empty verdict cache and no rules from another run
        "WEB_CONCURRENCY": "2",
    }
    server = Gunicorn(env, log_dir=tmp_path_factory.mktemp("sites-gunicorn")).start()
    yield server
    server.stop()


def worker_pids(server: Gunicorn, count: int = 2, timeout: float = 60.0) -> list[int]:
    """The master's worker processes; ready answers once the first is up, so wait for all of them."""
    assert server.process is not None
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + timeout
    while len(children.read_text().split()) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = [int(pid) for pid in children.read_text().split()]
    assert len(pids) == count, pids
    return pids


_ESTABLISHED = "01"


def _socket_inode(server_port: int, client_port: int) -> str:
    """The inode of the server side of the loopback connection from `client_port` (Linux /proc/net/tcp)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state != _ESTABLISHED or inode == "0":  # a closed connection that used the same port earlier
                continue
            if int(local.rsplit(":", 1)[1], 16) == server_port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return inode
    raise AssertionError(f"no server socket for the connection from port {client_port}")


def answering_worker(server: Gunicorn, workers: list[int], response: httpx.Response) -> int:
    """The worker that answered `response`: the one holding the server side of its connection, which keep-alive
    leaves open until the client closes it (so call this before closing the client)."""
    client_port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    target = f"socket:[{_socket_inode(server.port, client_port)}]"
    for pid in workers:
        fds = Path(f"/proc/{pid}/fd")
        for fd in os.listdir(fds):
            try:
                if os.readlink(fds / fd) == target:
                    return pid
            except FileNotFoundError:  # an fd closed while we looked
                continue
    raise AssertionError(f"no worker of {workers} holds the connection from port {client_port}")


@dataclass(frozen=True)
class Answer:
    worker: int
    sent_at: float
    verdict: dict[str, Any]


def score_on_a_new_connection(server: Gunicorn, workers: list[int], text: str, site: str | None = None) -> Answer:
    """POST /v1/score on a connection of its own, so that either worker may take it; which one did is read back."""
    comment = {"text": text} if site is None else {"text": text, "site": site}
    sent_at = time.monotonic()
    with httpx.Client(base_url=server.url, headers=auth("submitter"), timeout=30) as client:
        response = client.post("/v1/score", json={"comments": [comment]})
        assert response.status_code == 200, response.text
        worker = answering_worker(server, workers, response)
    (verdict,) = response.json()["results"]
    return Answer(worker, sent_at, verdict)


def word_listed(verdict: dict[str, Any], name: str) -> bool:
    """The verdict a reject list naming WORD gives: rejected, flagged `wordlist`, with the list as the cue."""
    cues = [(span["cue"], span["text"]) for span in verdict["evidence"].get("wordlist", [])]
    return verdict["decision"] == "reject" and "wordlist" in verdict["flags"] and cues == [(f"wordlist:{name}", WORD)]


def not_word_listed(verdict: dict[str, Any]) -> bool:
    return (
        verdict["decision"] == "allow" and "wordlist" not in verdict["flags"] and "wordlist" not in verdict["evidence"]
    )


def both_workers_show(
    server: Gunicorn,
    workers: list[int],
    changed: Callable[[dict[str, Any]], bool],
    since: float,
    what: str,
    text: str = WORD_TEXT,
    site: str | None = None,
    within: float = PROPAGATION_SECONDS,
) -> list[Answer]:
    """Poll on new connections until each worker has answered `text` as `changed` says to a request sent within
    `within` seconds of `since`, then check that CONSECUTIVE more answers in a row, each on a new connection, all
    agree."""
    deadline = since + within
    shown: set[int] = set()
    answers: list[Answer] = []
    while shown != set(workers):
        if time.monotonic() > deadline:
            seen = [(a.worker, round(a.sent_at - since, 2), a.verdict["decision"]) for a in answers]
            raise AssertionError(
                f"{what}: after {within} s only workers {sorted(shown)} of {workers} showed it; "
                f"answers (worker, seconds after the change, decision): {seen}"
            )
        answer = score_on_a_new_connection(server, workers, text, site)
        answers.append(answer)
        if changed(answer.verdict) and answer.sent_at <= deadline:
            shown.add(answer.worker)
    after = [score_on_a_new_connection(server, workers, text, site) for _ in range(CONSECUTIVE)]
    wrong = [(a.worker, a.verdict["decision"], a.verdict["flags"]) for a in after if not changed(a.verdict)]
    assert not wrong, f"{what}: once both workers showed it, these answers did not: {wrong}"
    return answers + after


def test_a_word_list_changed_through_one_worker_is_in_force_in_both_within_5_seconds(two_workers: Gunicorn) -> None:
    workers = worker_pids(two_workers)
    name = f"banned-{uuid.uuid4().hex[:8]}"
    # Before: both workers have answered the text (allowed) and hold its score and the rules without the list.
    # (No bound of the issue here: the first answer runs the model, slow on a busy machine.)
    before = both_workers_show(two_workers, workers, not_word_listed, time.monotonic(), "before the list", within=120)
    assert all(a.verdict["site"] == "default" for a in before)

    with two_workers.client("admin") as admin:
        put = admin.put(f"/v1/admin/wordlists/{name}", json={"action": "reject", "terms": [WORD]})
        assert put.status_code == 200, put.text
        changed_by = answering_worker(two_workers, workers, put)
    put_done = time.monotonic()
    assert put.json()["name"] == name and put.json()["action"] == "reject"
    answers = both_workers_show(
        two_workers, workers, lambda verdict: word_listed(verdict, name), put_done, f"PUT through worker {changed_by}"
    )
    # The list decides on the cached score: the model ran for this text before the list existed.
    assert all(a.verdict["cached"] for a in answers)

    with two_workers.client("admin") as admin:
        deleted = admin.delete(f"/v1/admin/wordlists/{name}")
        assert deleted.status_code == 204, deleted.text
        changed_by = answering_worker(two_workers, workers, deleted)
    delete_done = time.monotonic()
    both_workers_show(two_workers, workers, not_word_listed, delete_done, f"DELETE through worker {changed_by}")
    with two_workers.client("admin") as admin:
        assert admin.get(f"/v1/admin/wordlists/{name}").status_code == 404


def test_two_sites_decide_one_cached_score_by_their_own_thresholds(two_workers: Gunicorn) -> None:
    workers = worker_pids(two_workers)
    with two_workers.client("admin") as admin:
        put = admin.put("/v1/admin/sites/strict/policy", json={"review": {"toxicity": STRICT_TOXICITY_REVIEW}})
        assert put.status_code == 200, put.text
        put_done = time.monotonic()
        strict_policy: dict[str, Any] = put.json()["effective"]
        assert strict_policy["review"]["toxicity"] == STRICT_TOXICITY_REVIEW
        lenient_policy = admin.get("/v1/admin/sites/lenient/policy").json()
        assert lenient_policy["own"] is False
    assert put.json()["site"] == "strict" and put.json()["own"] is True

    strict_version = str(strict_policy["version"])

    def strict_decides(verdict: dict[str, Any]) -> bool:
        return bool(verdict["policy"] == strict_version and verdict["decision"] == "review")

    both_workers_show(two_workers, workers, strict_decides, put_done, "strict policy", PROBE_TEXT, "strict")

    with two_workers.client("submitter") as submitter:
        lenient_response = submitter.post("/v1/score", json={"comments": [{"text": RUDE_TEXT, "site": "lenient"}]})
        strict_response = submitter.post("/v1/score", json={"comments": [{"text": RUDE_TEXT, "site": "strict"}]})
    assert lenient_response.status_code == strict_response.status_code == 200
    (lenient,) = lenient_response.json()["results"]
    (strict,) = strict_response.json()["results"]

    toxicity = lenient["scores"]["toxicity"]
    default_review = lenient_policy["effective"]["review"]["toxicity"]
    assert STRICT_TOXICITY_REVIEW <= toxicity < default_review, f"{RUDE_TEXT!r} no longer tells the sites apart"
    assert lenient["cached"] is False
    assert strict["cached"] is True
    assert strict["scores"] == lenient["scores"]
    assert strict["models"] == lenient["models"]
    assert (lenient["site"], strict["site"]) == ("lenient", "strict")
    assert lenient["decision"] == "allow" and "toxicity" not in lenient["flags"]
    assert strict["decision"] == "review" and "toxicity" in strict["flags"]
    assert lenient["policy"] == lenient_policy["effective"]["version"]
    assert strict["policy"] == strict_policy["version"]
    assert strict["policy"] != lenient["policy"]

    # And the other way round, both from the cache now: each site keeps its own decision.
    with two_workers.client("submitter") as submitter:
        both = submitter.post(
            "/v1/score",
            json={"comments": [{"text": RUDE_TEXT, "site": "strict"}, {"text": RUDE_TEXT, "site": "lenient"}]},
        )
    again_strict, again_lenient = both.json()["results"]
    assert again_strict["cached"] and again_lenient["cached"]
    assert (again_strict["decision"], again_lenient["decision"]) == ("review", "allow")
    assert (again_strict["site"], again_lenient["site"]) == ("strict", "lenient")
