"""The seed thread and the moderation flows over real HTTP, against gunicorn."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from service.policy import Decision, Policy
from service.redis_server import LocalRedis
from tests.api.test_queue import as_listed
from tests.conftest import Gunicorn

REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject
MILDER_REJECT_TEXT = "I will kill you"  # threat cue alone: reject at toxicity 0.9
REVIEW_TEXT = "the new mayor is a cia puppet and the speech was for public consumption"  # two cue families: review
BENIGN = "Thanks for the article, the map of the region was really helpful."
JSON_TYPE = "application/json"
PENDING_TEXTS = [REJECT_TEXT, MILDER_REJECT_TEXT, REVIEW_TEXT]  # three clearly different risks


def new_id(label: str) -> str:
    return f"{uuid.uuid4()}-{label}"


@pytest.fixture
def submitter(gunicorn: Gunicorn) -> Iterator[httpx.Client]:
    with gunicorn.client("submitter") as client:
        yield client


@pytest.fixture
def moderator(gunicorn: Gunicorn) -> Iterator[httpx.Client]:
    with gunicorn.client("moderator") as client:
        yield client


@pytest.fixture
def store(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    """The database the module's gunicorn writes to (see the `gunicorn` fixture)."""
    client = redis.Redis.from_url(redis_server.url.removesuffix("/0") + "/1", decode_responses=True)
    yield client
    client.close()


def post(client: httpx.Client, body: dict[str, Any], status: int | None = None) -> dict[str, Any]:
    response = client.post("/v1/comments", json=body)
    if status is not None:
        assert response.status_code == status, response.text
    record: dict[str, Any] = response.json()
    return record


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def assert_spans_point_into(text: str, verdict: dict[str, Any]) -> None:
    for span in verdict["evidence"]["conspiracy"]:
        assert text[span["start"] : span["end"]] == span["text"], span


# --- the seed thread -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(gunicorn: Gunicorn, seed: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every seed comment posted once: seed id -> (seed comment, stored record)."""
    prefix = uuid.uuid4().hex
    out = {}
    with gunicorn.client("submitter") as client:
        for comment in seed["comments"]:
            body = {
                "id": f"{prefix}-{comment['id']}",
                "text": comment["text"],
                "thread_id": seed["thread"]["id"],
                "author": comment["author"],
            }
            response = client.post("/v1/comments", json=body)
            assert response.status_code == 201, response.text
            out[comment["id"]] = (comment, response.json())
    return out


def test_every_seed_comment_gets_its_expected_outcome(
    seeded: dict[str, tuple[dict[str, Any], dict[str, Any]]], seed: dict[str, Any]
) -> None:
    wrong = {}
    for seed_id, (comment, record) in seeded.items():
        verdict = record["verdict"]
        expect = comment["expect"]
        ok = verdict["decision"] in expect["decision"] and set(expect["flagged"]) <= set(verdict["flags"])
        if verdict["decision"] == "allow":
            ok = ok and verdict["flags"] == [] and record["status"] == "published"
        else:
            ok = ok and record["status"] == "pending"
        ok = ok and record["thread_id"] == seed["thread"]["id"] and record["text"] == comment["text"]
        if not ok:
            wrong[seed_id] = (expect, verdict["decision"], verdict["flags"], verdict["scores"], record["status"])
    assert not wrong
    assert len(seeded) == len(seed["comments"])


def test_seed_records_read_back(gunicorn: Gunicorn, seeded: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> None:
    with gunicorn.client("moderator") as client:
        for _, record in seeded.values():
            response = client.get(f"/v1/comments/{record['id']}")
            assert response.status_code == 200
            assert response.json() == record


def test_seed_pending_comments_are_in_the_thread_queue(
    gunicorn: Gunicorn, seeded: dict[str, tuple[dict[str, Any], dict[str, Any]]], seed: dict[str, Any]
) -> None:
    pending = {record["id"] for _, record in seeded.values() if record["status"] == "pending"}
    assert pending
    with gunicorn.client("moderator") as client:
        response = client.get("/v1/queue", params={"thread_id": seed["thread"]["id"], "limit": 200})
        assert response.status_code == 200
        listed = [item["id"] for item in response.json()["items"]]
    assert pending <= set(listed)


def test_seed_c1_evidence(seeded: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> None:
    comment, record = seeded["seed-c1"]
    spans = record["verdict"]["evidence"]["conspiracy"]
    texts = [span["text"] for span in spans]
    assert any("puppet" in text for text in texts), texts
    assert any("for public consumption" in text for text in texts), texts
    assert_spans_point_into(comment["text"], record["verdict"])
    assert all(span["cue"] for span in spans)


# --- idempotency, edits, the cache -----------------------------------------------------------------------------------


def test_idempotent_repost(submitter: httpx.Client, moderator: httpx.Client) -> None:
    thread = new_id("thread")
    body = {"id": new_id("repost"), "text": REJECT_TEXT, "thread_id": thread}
    first = post(submitter, body, 201)
    for _ in range(3):
        assert post(submitter, body, 200) == first
    listed = moderator.get("/v1/queue", params={"thread_id": thread}).json()["items"]
    assert listed == [as_listed(first)]


def test_concurrent_identical_posts_store_one_record(gunicorn: Gunicorn, moderator: httpx.Client) -> None:
    thread = new_id("thread")
    body = {"id": new_id("race-post"), "text": f"{REJECT_TEXT} {uuid.uuid4().hex}", "thread_id": thread}
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def send() -> None:
        with gunicorn.client("submitter") as client:
            barrier.wait()
            statuses.append(client.post("/v1/comments", json=body).status_code)

    workers = [threading.Thread(target=send) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(statuses) == [200, 200, 200, 201]
    listed = moderator.get("/v1/queue", params={"thread_id": thread}).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert listed[0]["version"] == 1


def test_edit(submitter: httpx.Client, moderator: httpx.Client) -> None:
    thread = new_id("thread")
    comment_id = new_id("edit")
    first = post(submitter, {"id": comment_id, "text": REJECT_TEXT, "thread_id": thread}, 201)
    assert first["status"] == "pending"

    edited = post(submitter, {"id": comment_id, "text": BENIGN, "thread_id": thread}, 200)
    assert edited["version"] == 2
    assert edited["text"] == BENIGN
    assert edited["status"] == "published"
    assert edited["verdict"]["decision"] == "allow"
    assert edited["created_at"] == first["created_at"]
    assert moderator.get(f"/v1/comments/{comment_id}").json() == edited
    assert moderator.get("/v1/queue", params={"thread_id": thread}).json()["items"] == []

    again = post(submitter, {"id": comment_id, "text": REVIEW_TEXT, "thread_id": thread}, 200)
    assert again["version"] == 3
    assert again["status"] == "pending"
    assert "conspiracy" in again["verdict"]["flags"]
    assert moderator.get("/v1/queue", params={"thread_id": thread}).json()["items"] == [as_listed(again)]


def test_cache_hit_for_the_same_text_under_another_id(submitter: httpx.Client) -> None:
    text = f"{REJECT_TEXT}, said reader {uuid.uuid4().hex}"
    first = post(submitter, {"id": new_id("cache-a"), "text": text}, 201)
    second = post(submitter, {"id": new_id("cache-b"), "text": text}, 201)
    assert first["verdict"]["cached"] is False
    assert second["verdict"]["cached"] is True
    assert second["verdict"]["scores"] == first["verdict"]["scores"]
    assert second["verdict"]["decision"] == first["verdict"]["decision"]
    scored = submitter.post("/v1/score", json={"comments": [{"text": text}]}).json()["results"][0]
    assert scored["cached"] is True


def test_score_over_http(submitter: httpx.Client, seed: dict[str, Any]) -> None:
    comments = seed["comments"]
    response = submitter.post("/v1/score", json={"comments": [{"text": c["text"]} for c in comments]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(comments)
    for comment, verdict in zip(comments, results, strict=True):
        assert verdict["decision"] in comment["expect"]["decision"], comment["id"]
        assert set(comment["expect"]["flagged"]) <= set(verdict["flags"]), comment["id"]


# --- racing moderators -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(5))
def test_two_concurrent_decisions_one_wins(
    gunicorn: Gunicorn, submitter: httpx.Client, store: redis.Redis, round_: int
) -> None:
    comment_id = new_id(f"race-{round_}")
    assert post(submitter, {"id": comment_id, "text": REJECT_TEXT}, 201)["status"] == "pending"
    barrier = threading.Barrier(2)
    results: dict[str, httpx.Response] = {}

    def decide(role: str, action: str) -> None:
        with gunicorn.client(role) as client:
            barrier.wait()
            results[action] = client.post(f"/v1/queue/{comment_id}/decision", json={"action": action})

    workers = [
        threading.Thread(target=decide, args=("moderator", "approve")),
        threading.Thread(target=decide, args=("admin", "reject")),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    statuses = sorted(response.status_code for response in results.values())
    assert statuses == [200, 409], {a: (r.status_code, r.text) for a, r in results.items()}
    winner = next(action for action, response in results.items() if response.status_code == 200)
    loser = next(action for action, response in results.items() if response.status_code == 409)
    assert_error(results[loser], 409)
    with gunicorn.client("moderator") as client:
        record = client.get(f"/v1/comments/{comment_id}").json()
    assert record["status"] == {"approve": "approved", "reject": "rejected"}[winner]
    assert record == results[winner].json()
    entries = [fields for _, fields in store.xrange("e2e:audit") if fields["comment_id"] == comment_id]
    assert len(entries) == 1
    assert entries[0]["action"] == winner


# --- paging while others insert ------------------------------------------------------------------------------------


def test_paging_with_concurrent_inserts(gunicorn: Gunicorn, submitter: httpx.Client, moderator: httpx.Client) -> None:
    thread = new_id("paging")
    existing_records = [
        post(submitter, {"id": new_id(f"old-{n}"), "text": PENDING_TEXTS[n % 3], "thread_id": thread}, 201)
        for n in range(12)
    ]
    existing = [record["id"] for record in existing_records]
    inserted: list[str] = []
    progress = threading.Condition()
    done = threading.Event()
    failures: list[str] = []

    def insert() -> None:
        with gunicorn.client("submitter") as client:
            for n in range(40):
                comment_id = new_id(f"new-{n}")
                body = {"id": comment_id, "text": PENDING_TEXTS[n % 3], "thread_id": thread}
                response = client.post("/v1/comments", json=body)
                if response.status_code != 201:
                    failures.append(response.text)
                with progress:
                    inserted.append(comment_id)
                    progress.notify_all()
        done.set()

    inserter = threading.Thread(target=insert)
    inserter.start()
    seen: list[str] = []
    pages = 0
    cursor = None
    inserted_at_first_page: int | None = None
    try:
        while True:
            with progress:  # let the inserter get ahead of every page
                before = len(inserted)
                progress.wait_for(lambda b=before: len(inserted) > b or done.is_set(), timeout=30)
                if inserted_at_first_page is None:
                    inserted_at_first_page = len(inserted)
            params: dict[str, Any] = {"thread_id": thread, "limit": 3}
            if cursor:
                params["cursor"] = cursor
            response = moderator.get("/v1/queue", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body["items"]) <= 3
            assert all(item["status"] == "pending" and item["thread_id"] == thread for item in body["items"])
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
            assert pages < 200
        assert inserted_at_first_page is not None
        inserted_while_paging = len(inserted) - inserted_at_first_page
    finally:
        inserter.join(timeout=120)
    assert not failures
    assert pages > 1
    assert inserted_while_paging > 0, "nothing was inserted while paging"

    repeated = [comment_id for comment_id, n in Counter(seen).items() if n > 1]
    assert not repeated
    counts = Counter(seen)
    assert all(counts[comment_id] == 1 for comment_id in existing), [i for i in existing if counts[i] != 1]
    # the pre-existing items came in queue order: riskiest first, then oldest
    final = moderator.get("/v1/queue", params={"thread_id": thread, "limit": 200}).json()["items"]
    final_order = [item["id"] for item in final if item["id"] in set(existing)]
    assert [i for i in seen if i in set(existing)] == final_order
    # riskiest first (the policy's risk of each verdict), then oldest: a stable sort keeps submission order
    ranked = sorted(existing_records, key=lambda r: -_risk(r["verdict"]))
    assert len({_risk(r["verdict"]) for r in existing_records}) == 3
    assert final_order == [r["id"] for r in ranked]


def _risk(verdict: dict[str, Any]) -> float:
    """The queue's priority of a verdict; it depends on the decision and the flagged scores only."""
    policy = Policy(name="risk", review={}, reject={})
    return policy.risk(Decision(verdict["decision"]), verdict["scores"], verdict["flags"])


# --- errors over real HTTP -------------------------------------------------------------------------------------------


def test_401_over_http(gunicorn: Gunicorn) -> None:
    with gunicorn.client() as anonymous:
        error = assert_error(anonymous.get("/v1/queue"), 401)
        assert error["code"] == "unauthorized"
        response = anonymous.get("/v1/queue", headers={"Authorization": "Bearer wrong"})
        assert_error(response, 401)
        assert "bearer" in response.headers.get("www-authenticate", "").lower()
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200
        assert anonymous.get("/openapi.json").json()["openapi"].startswith("3.")
        assert "moderation_http_requests" in anonymous.get("/metrics").text


def test_403_over_http(moderator: httpx.Client, submitter: httpx.Client) -> None:
    comment_id = new_id("forbidden")
    assert_error(moderator.post("/v1/comments", json={"id": comment_id, "text": BENIGN}), 403)
    assert_error(submitter.get("/v1/queue"), 403)
    assert_error(submitter.get("/v1/queue/stats"), 403)
    assert_error(moderator.get(f"/v1/comments/{comment_id}"), 404)


def test_404_over_http(moderator: httpx.Client) -> None:
    assert_error(moderator.get(f"/v1/comments/{new_id('missing')}"), 404)
    assert_error(moderator.post(f"/v1/queue/{new_id('missing')}/decision", json={"action": "reject"}), 404)
    assert_error(moderator.get("/v1/nothing-here"), 404)


def test_409_over_http(submitter: httpx.Client, moderator: httpx.Client) -> None:
    comment_id = new_id("twice")
    post(submitter, {"id": comment_id, "text": REJECT_TEXT}, 201)
    assert moderator.post(f"/v1/queue/{comment_id}/decision", json={"action": "reject"}).status_code == 200
    assert_error(moderator.post(f"/v1/queue/{comment_id}/decision", json={"action": "approve"}), 409)
    published = new_id("published")
    post(submitter, {"id": published, "text": BENIGN}, 201)
    assert_error(moderator.post(f"/v1/queue/{published}/decision", json={"action": "approve"}), 409)


def big_body(comment_id: str) -> bytes:
    return f'{{"id": "{comment_id}", "text": "{"a" * 300_000}"}}'.encode()


def test_413_over_http(gunicorn: Gunicorn, moderator: httpx.Client) -> None:
    comment_id = new_id("big")
    with gunicorn.client("submitter") as client:
        response = client.post("/v1/comments", content=big_body(comment_id), headers={"Content-Type": JSON_TYPE})
        assert_error(response, 413)
    assert_error(moderator.get(f"/v1/comments/{comment_id}"), 404)


def test_413_for_a_chunked_body_over_http(gunicorn: Gunicorn, moderator: httpx.Client) -> None:
    """No Content-Length: the limit must still hold while the body streams in."""
    comment_id = new_id("big-chunked")
    big = big_body(comment_id)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    with gunicorn.client("submitter") as client:
        response = client.post("/v1/comments", content=chunks(), headers={"Content-Type": JSON_TYPE})
        assert "content-length" not in response.request.headers
        assert_error(response, 413)
    assert_error(moderator.get(f"/v1/comments/{comment_id}"), 404)


def test_connection_survives_a_413(gunicorn: Gunicorn) -> None:
    """A server that will not read the rest of a body must say `Connection: close`, or keep serving the connection."""
    for _ in range(5):
        with gunicorn.client("submitter") as client:
            response = client.post("/v1/comments", content=big_body(new_id("big")), headers={"Content-Type": JSON_TYPE})
            assert_error(response, 413)
            if response.headers.get("connection", "").lower() == "close":
                continue
            try:
                follow_up = client.get("/healthz")
            except httpx.TransportError as exc:
                pytest.fail(f"413 said keep-alive, then the connection was dropped: {exc!r}")
            assert follow_up.status_code == 200


def test_chunked_body_under_the_limit_is_fine(submitter: httpx.Client) -> None:
    body = f'{{"id": "{new_id("chunked")}", "text": "{BENIGN}"}}'.encode()

    def chunks() -> Iterator[bytes]:
        yield body[:10]
        yield body[10:]

    response = submitter.post("/v1/comments", content=chunks(), headers={"Content-Type": JSON_TYPE})
    assert response.status_code == 201, response.text


def test_415_over_http(submitter: httpx.Client, moderator: httpx.Client) -> None:
    comment_id = new_id("ctype")
    body = f'{{"id": "{comment_id}", "text": "hello"}}'
    assert_error(submitter.post("/v1/comments", content=body, headers={"Content-Type": "text/plain"}), 415)
    assert_error(submitter.post("/v1/comments", data={"id": comment_id, "text": "hello"}), 415)
    assert_error(moderator.get(f"/v1/comments/{comment_id}"), 404)


def test_400_and_422_over_http(submitter: httpx.Client, moderator: httpx.Client) -> None:
    comment_id = new_id("invalid")
    json_type = {"Content-Type": "application/json"}
    assert_error(submitter.post("/v1/comments", content=b"{not json", headers=json_type), 400)
    invalid_utf8 = f'{{"id": "{comment_id}", "text": "\xff"}}'.encode("latin-1")
    assert_error(submitter.post("/v1/comments", content=invalid_utf8, headers=json_type), 400)
    surrogate = f'{{"id": "{comment_id}", "text": "\\ud800"}}'.encode()
    assert assert_error(submitter.post("/v1/comments", content=surrogate, headers=json_type), 422)["field"] == "text"
    assert assert_error(submitter.post("/v1/comments", json={"id": comment_id}), 422)["field"] == "text"
    assert assert_error(submitter.post("/v1/comments", json={"id": comment_id, "text": ""}), 422)["field"] == "text"
    error = assert_error(submitter.post("/v1/comments", json={"id": "bad id", "text": "hello"}), 422)
    assert error["field"] == "id"
    error = assert_error(submitter.post("/v1/comments", json={"id": comment_id, "text": "hi", "x": 1}), 422)
    assert error["field"] == "x"
    assert_error(moderator.get("/v1/queue", params={"limit": 0}), 422)
    assert_error(moderator.get("/v1/queue", params={"status": "bogus"}), 422)
    assert_error(moderator.get(f"/v1/comments/{comment_id}"), 404)
