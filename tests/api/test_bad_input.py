"""Every way a request can be wrong gets a 4xx in the error shape, never a 500, and stores nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service import create_app
from tests.conftest import KEY_PREFIX, auth

JSON = "application/json"
REJECT_TEXT = "shut up you fucking idiot"  # profanity and insult cues: reject
CODES = {400: {"bad_request", "invalid_json"}, 413: {"payload_too_large"}, 415: {"unsupported_media_type"},
         422: {"invalid_field"}, 404: {"not_found"}, 405: {"method_not_allowed"}}


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


# Beyond what a JSON number can portably hold (an IEEE double): past Python's int-to-str limit (4,300 digits),
# past the double's range without reaching that limit, and floats that overflow to infinity.
HUGE_INT = "1" + "0" * 5000
BEYOND_DOUBLE_INT = "9" * 310
HUGE_FLOATS = ("1e999", "-1E400", HUGE_INT + ".5")


def nested(depth: int) -> str:
    """A body whose metadata nests lists `depth` deep."""
    return '{"id": "ID", "text": "hi", "metadata": {"a": ' + "[" * depth + "1" + "]" * depth + "}}"


@dataclass(frozen=True)
class Case:
    name: str
    body: Callable[[str], bytes]  # the comment id -> the raw request body
    content_type: str | None
    status: int | frozenset[int]
    field: str | None = None  # the field the error must name, when one is named


def valid(comment_id: str, **changes: Any) -> dict[str, Any]:
    return {"id": comment_id, "text": "a perfectly fine remark", **changes}


def with_fields(**changes: Any) -> Callable[[str], bytes]:
    return lambda i: dumps(valid(i, **changes))


def without(name: str) -> Callable[[str], bytes]:
    return lambda i: dumps({k: v for k, v in valid(i).items() if k != name})


def raw(template: str | bytes) -> Callable[[str], bytes]:
    """A body written by hand; `ID` stands for the comment id."""
    data = template.encode() if isinstance(template, str) else template
    return lambda i: data.replace(b"ID", i.encode())


def number_in(template: str, number: str = HUGE_INT) -> Callable[[str], bytes]:
    """`raw(template)` with the number literal `number` where `NUMBER` stands."""
    return raw(template.replace("NUMBER", number))


SUBMIT_CASES = [
    # not JSON at all
    Case("not-json", raw("not json"), JSON, 400),
    Case("truncated-json", lambda i: dumps(valid(i))[:-1], JSON, 400),
    Case("trailing-garbage", lambda i: dumps(valid(i)) + b" }", JSON, 400),
    Case("empty-body", raw(""), JSON, 400),
    Case("single-quotes", raw("{'id': 'ID', 'text': 'hi'}"), JSON, 400),
    Case("nan", raw('{"id": "ID", "text": "hi", "metadata": {"x": NaN}}'), JSON, 400),
    Case("infinity", raw('{"id": "ID", "text": "hi", "metadata": {"x": -Infinity}}'), JSON, 400),
    # invalid UTF-8
    Case("utf8-invalid-byte", raw(b'{"id": "ID", "text": "caf\xe9"}'), JSON, 400),
    Case("utf8-lone-ff", raw(b'{"id": "ID", "text": "\xff"}'), JSON, 400),
    Case("utf8-overlong", raw(b'{"id": "ID", "text": "\xc0\xaf"}'), JSON, 400),
    Case("utf8-encoded-surrogate", raw(b'{"id": "ID", "text": "\xed\xa0\x80"}'), JSON, 400),
    Case("utf8-truncated-sequence", raw(b'{"id": "ID", "text": "\xe2\x82"}'), JSON, 400),
    # content type
    Case("text-plain", lambda i: dumps(valid(i)), "text/plain", 415),
    Case("no-content-type", lambda i: dumps(valid(i)), None, 415),
    Case("form", raw("id=ID&text=hello"), "application/x-www-form-urlencoded", 415),
    Case("xml", raw("<comment id='ID'>hi</comment>"), "application/xml", 415),
    Case("multipart", raw("--b\r\n\r\nhi\r\n--b--"), "multipart/form-data; boundary=b", 415),
    # too large
    Case("over-default-limit", lambda i: dumps(valid(i, text="a" * 300_000)), JSON, 413),
    # not an object
    Case("array", lambda i: dumps([valid(i)]), JSON, 422),
    Case("string", raw('"ID"'), JSON, 422),
    Case("null", raw("null"), JSON, 422),
    Case("number", raw("1"), JSON, 422),
    # missing, unknown, wrong-typed fields
    Case("missing-id", without("id"), JSON, 422, "id"),
    Case("missing-text", without("text"), JSON, 422, "text"),
    Case("unknown-field", with_fields(bogus=1), JSON, 422, "bogus"),
    Case("unknown-author-field", with_fields(author={"name": "a", "email": "a@b.c"}), JSON, 422, "author.email"),
    Case("id-number", lambda i: dumps({"id": 12345, "text": "hi"}), JSON, 422, "id"),
    Case("id-null", lambda i: dumps({"id": None, "text": "hi"}), JSON, 422, "id"),
    Case("text-number", with_fields(text=5), JSON, 422, "text"),
    Case("text-list", with_fields(text=["hi"]), JSON, 422, "text"),
    Case("text-null", with_fields(text=None), JSON, 422, "text"),
    Case("text-bool", with_fields(text=True), JSON, 422, "text"),
    Case("thread-number", with_fields(thread_id=7), JSON, 422, "thread_id"),
    Case("parent-number", with_fields(parent_id=7), JSON, 422, "parent_id"),
    Case("author-string", with_fields(author="Ann"), JSON, 422, "author"),
    Case("author-list", with_fields(author=["Ann"]), JSON, 422, "author"),
    Case("author-name-number", with_fields(author={"name": 5}), JSON, 422, "author.name"),
    Case("author-name-too-long", with_fields(author={"name": "n" * 201}), JSON, 422, "author.name"),
    Case("author-id-too-long", with_fields(author={"id": "n" * 129}), JSON, 422, "author.id"),
    Case("created-at-number", with_fields(created_at=1714000000), JSON, 422, "created_at"),
    Case("metadata-list", with_fields(metadata=[1, 2]), JSON, 422, "metadata"),
    Case("metadata-string", with_fields(metadata="x"), JSON, 422, "metadata"),
    Case("metadata-too-big", with_fields(metadata={"blob": "x" * 5000}), JSON, 422, "metadata"),
    Case("metadata-deeply-nested", raw(nested(600)),
         JSON, frozenset({400, 422})),
    Case("json-nested-too-deep", raw(nested(100_000)),
         JSON, frozenset({400, 422})),
    # numbers out of range, wherever they are: the field holding them is named
    Case("metadata-huge-int", number_in('{"id": "ID", "text": "hi", "metadata": {"n": NUMBER}}'), JSON, 422,
         "metadata.n"),
    Case("metadata-huge-negative-int", number_in('{"id": "ID", "text": "hi", "metadata": {"n": -NUMBER}}'), JSON,
         422, "metadata.n"),
    Case("metadata-int-beyond-double",
         number_in('{"id": "ID", "text": "hi", "metadata": {"n": NUMBER}}', BEYOND_DOUBLE_INT), JSON, 422,
         "metadata.n"),
    Case("metadata-nested-huge-int",
         number_in('{"id": "ID", "text": "hi", "metadata": {"a": {"b": [1, NUMBER]}}}'), JSON, 422, "metadata.a.b.1"),
    *[Case(f"metadata-float-overflow-{n}", number_in('{"id": "ID", "text": "hi", "metadata": {"x": [NUMBER]}}', number),
           JSON, 422, "metadata.x.0") for n, number in enumerate(HUGE_FLOATS)],
    Case("text-huge-int", number_in('{"id": "ID", "text": NUMBER}'), JSON, 422, "text"),
    Case("text-huge-float", raw('{"id": "ID", "text": 1e999}'), JSON, 422, "text"),
    Case("id-huge-int", number_in('{"id": NUMBER, "text": "hi"}'), JSON, 422, "id"),
    Case("author-name-huge-int", number_in('{"id": "ID", "text": "hi", "author": {"name": NUMBER}}'), JSON, 422,
         "author.name"),
    Case("unknown-field-huge-int", number_in('{"id": "ID", "text": "hi", "n": NUMBER}'), JSON, 422, "n"),
    Case("body-huge-int", raw(HUGE_INT), JSON, 422),
    # text content
    Case("text-empty", with_fields(text=""), JSON, 422, "text"),
    Case("text-spaces", with_fields(text=" \t\n  "), JSON, 422, "text"),
    Case("text-invisible", with_fields(text="\u200b\u200d\u2060"), JSON, 422, "text"),
    Case("text-controls", with_fields(text="\x00\x01\x7f"), JSON, 422, "text"),
    Case("text-too-long", with_fields(text="a" * 10_001), JSON, 422, "text"),
    Case("text-too-long-astral", with_fields(text="\U0001f600" * 10_001), JSON, 422, "text"),
    # lone surrogates
    Case("surrogate-high", raw('{"id": "ID", "text": "hi \\ud800 there"}'), JSON, 422, "text"),
    Case("surrogate-low", raw('{"id": "ID", "text": "\\udc00"}'), JSON, 422, "text"),
    Case("surrogate-reversed-pair", raw('{"id": "ID", "text": "\\udc00\\ud800"}'), JSON, 422, "text"),
    Case("surrogate-author", raw('{"id": "ID", "text": "hi", "author": {"name": "\\ud83d"}}'), JSON, 422,
         "author.name"),
    Case("surrogate-metadata-value", raw('{"id": "ID", "text": "hi", "metadata": {"k": "\\ud800"}}'), JSON, 422,
         "metadata.k"),
    Case("surrogate-metadata-key", raw('{"id": "ID", "text": "hi", "metadata": {"\\udfff": 1}}'), JSON, 422),
    # ids
    Case("id-empty", lambda i: dumps(valid("")), JSON, 422, "id"),
    Case("id-too-long", lambda i: dumps(valid("a" * 129)), JSON, 422, "id"),
    Case("id-space", lambda i: dumps(valid("a b")), JSON, 422, "id"),
    Case("id-slash", lambda i: dumps(valid("a/b")), JSON, 422, "id"),
    Case("id-non-ascii", lambda i: dumps(valid("caf\u00e9")), JSON, 422, "id"),
    Case("id-newline", lambda i: dumps(valid("abc\n")), JSON, 422, "id"),
    Case("id-nul", lambda i: dumps(valid("abc\x00")), JSON, 422, "id"),
    Case("id-percent", lambda i: dumps(valid("a%20b")), JSON, 422, "id"),
    Case("thread-id-bad", with_fields(thread_id="thread one"), JSON, 422, "thread_id"),
    Case("thread-id-empty", with_fields(thread_id=""), JSON, 422, "thread_id"),
    Case("thread-id-too-long", with_fields(thread_id="t" * 129), JSON, 422, "thread_id"),
    Case("parent-id-bad", with_fields(parent_id="../etc"), JSON, 422, "parent_id"),
    # timestamps that are not RFC 3339
    Case("created-at-words", with_fields(created_at="yesterday"), JSON, 422, "created_at"),
    Case("created-at-no-zone", with_fields(created_at="2026-04-24T10:00:00"), JSON, 422, "created_at"),
    Case("created-at-date-only", with_fields(created_at="2026-04-24"), JSON, 422, "created_at"),
    Case("created-at-impossible-date", with_fields(created_at="2026-02-30T10:00:00Z"), JSON, 422, "created_at"),
    Case("created-at-hour-24", with_fields(created_at="2026-04-24T24:00:00Z"), JSON, 422, "created_at"),
    Case("created-at-empty", with_fields(created_at=""), JSON, 422, "created_at"),
    Case("created-at-basic-format", with_fields(created_at="20260424T100000Z"), JSON, 422, "created_at"),
    Case("created-at-no-seconds", with_fields(created_at="2026-04-24T10:00Z"), JSON, 422, "created_at"),
    Case("created-at-offset-without-colon", with_fields(created_at="2026-04-24T10:00:00+0000"), JSON, 422,
         "created_at"),
    Case("created-at-week-date", with_fields(created_at="2026-W17-5T10:00:00Z"), JSON, 422, "created_at"),
]


def assert_error(response: Any, status: int | frozenset[int], field: str | None = None) -> None:
    statuses = status if isinstance(status, frozenset) else frozenset({status})
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    payload = response.get_json()
    assert set(payload) == {"error"}
    error = payload["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] in CODES[response.status_code]
    assert isinstance(error["message"], str) and error["message"]
    assert error["field"] is None or isinstance(error["field"], str)
    if field is not None:
        assert error["field"] == field, error


def assert_nothing_stored(client: FlaskClient, redis_client: redis.Redis, comment_id: str | None = None) -> None:
    assert redis_client.keys(f"{KEY_PREFIX}comment:*") == []
    assert redis_client.keys(f"{KEY_PREFIX}queue:*") == []
    assert not redis_client.exists(f"{KEY_PREFIX}audit")
    if comment_id is not None:
        assert client.get(f"/v1/comments/{comment_id}", headers=auth("admin")).status_code == 404


@pytest.mark.parametrize("case", SUBMIT_CASES, ids=[c.name for c in SUBMIT_CASES])
def test_bad_submission(client: FlaskClient, redis_client: redis.Redis, case: Case) -> None:
    comment_id = f"bad-{uuid.uuid4()}"
    headers = auth("submitter")
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    response = client.post("/v1/comments", data=case.body(comment_id), headers=headers)
    assert_error(response, case.status, case.field)
    assert_nothing_stored(client, redis_client, comment_id)


def test_the_same_submission_done_right_is_accepted(client: FlaskClient) -> None:
    """The cases above differ from an accepted submission only in what they get wrong."""
    comment_id = f"ok-{uuid.uuid4()}"
    body = valid(comment_id, thread_id="t-1", parent_id="p-1", author={"id": "u", "name": "Ann"},
                 created_at="2026-04-24T10:00:00.5+02:00", metadata={"k": [1, {"x": None}]})
    response = client.post("/v1/comments", data=dumps(body), headers={**auth("submitter"), "Content-Type": JSON})
    assert response.status_code == 201


def test_numbers_within_a_double_are_kept_exactly(client: FlaskClient) -> None:
    """The range check refuses only what cannot be held: 64-bit ids and the double's extremes go through unchanged."""
    comment_id = f"ok-{uuid.uuid4()}"
    metadata = {"snowflake": 1234567890123456789, "u64": 2**64 - 1, "wide": 10**300, "largest": 1.7976931348623157e308,
                "smallest": -1.7976931348623157e308, "tiny": 5e-324}
    response = client.post("/v1/comments", data=dumps(valid(comment_id, metadata=metadata)),
                           headers={**auth("submitter"), "Content-Type": JSON})
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = client.get(f"/v1/comments/{comment_id}", headers=auth("submitter")).get_json()
    assert stored["metadata"] == metadata


def test_charset_parameter_is_fine(client: FlaskClient) -> None:
    comment_id = f"ok-{uuid.uuid4()}"
    headers = {**auth("submitter"), "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/v1/comments", data=dumps(valid(comment_id)), headers=headers).status_code == 201


@pytest.mark.parametrize(("limit", "size", "status"), [(2048, 1500, 201), (2048, 3000, 413), (1024, 1100, 413)])
def test_configured_body_limit(env: dict[str, str], redis_client: redis.Redis, limit: int, size: int,
                               status: int) -> None:
    client = create_app({**env, "MODERATION_MAX_BODY_BYTES": str(limit)}).test_client()
    comment_id = f"size-{uuid.uuid4()}"
    body = dumps(valid(comment_id, text="x"))
    body = dumps(valid(comment_id, text="word " * ((size - len(body)) // 5)))
    assert abs(len(body) - size) < 10
    response = client.post("/v1/comments", data=body, headers={**auth("submitter"), "Content-Type": JSON})
    if status == 201:
        assert response.status_code == 201
    else:
        assert_error(response, 413)
        assert_nothing_stored(client, redis_client, comment_id)


# --- /v1/score ---------------------------------------------------------------------------------------------------

SCORE_CASES = [
    Case("not-json", raw("{comments: []}"), JSON, 400),
    Case("invalid-utf8", raw(b'{"comments": [{"text": "\xff"}]}'), JSON, 400),
    Case("text-plain", raw('{"comments": [{"text": "hi"}]}'), "text/plain", 415),
    Case("no-content-type", raw('{"comments": [{"text": "hi"}]}'), None, 415),
    Case("over-limit", lambda i: dumps({"comments": [{"text": "a" * 9000}] * 40}), JSON, 413),
    Case("array", raw('[{"text": "hi"}]'), JSON, 422),
    Case("missing-comments", raw("{}"), JSON, 422, "comments"),
    Case("unknown-field", raw('{"comments": [{"text": "hi"}], "store": true}'), JSON, 422, "store"),
    Case("comments-object", raw('{"comments": {"text": "hi"}}'), JSON, 422, "comments"),
    Case("comments-string", raw('{"comments": "hi"}'), JSON, 422, "comments"),
    Case("comments-null", raw('{"comments": null}'), JSON, 422, "comments"),
    Case("empty-list", raw('{"comments": []}'), JSON, 422, "comments"),
    Case("too-many", lambda i: dumps({"comments": [{"text": f"t{n}"} for n in range(101)]}), JSON, 422, "comments"),
    Case("item-string", raw('{"comments": ["hi"]}'), JSON, 422, "comments.0"),
    Case("item-missing-text", raw('{"comments": [{"text": "ok"}, {}]}'), JSON, 422, "comments.1.text"),
    Case("item-unknown-field", raw('{"comments": [{"text": "hi", "id": "x"}]}'), JSON, 422, "comments.0.id"),
    Case("item-text-number", raw('{"comments": [{"text": 3}]}'), JSON, 422, "comments.0.text"),
    Case("item-text-empty", raw('{"comments": [{"text": "ok"}, {"text": ""}]}'), JSON, 422, "comments.1.text"),
    Case("item-text-blank", raw('{"comments": [{"text": "\\u200b "}]}'), JSON, 422, "comments.0.text"),
    Case("item-text-too-long", lambda i: dumps({"comments": [{"text": "a" * 10_001}]}), JSON, 422,
         "comments.0.text"),
    Case("item-surrogate", raw('{"comments": [{"text": "ok"}, {"text": "\\ud800"}]}'), JSON, 422, "comments.1.text"),
    Case("item-text-huge-int", number_in('{"comments": [{"text": "ok"}, {"text": NUMBER}]}'), JSON, 422,
         "comments.1.text"),
    Case("item-text-huge-float", raw('{"comments": [{"text": -1e999}]}'), JSON, 422, "comments.0.text"),
    Case("comments-huge-int", number_in('{"comments": NUMBER}'), JSON, 422, "comments"),
]


@pytest.mark.parametrize("case", SCORE_CASES, ids=[c.name for c in SCORE_CASES])
def test_bad_score_request(client: FlaskClient, redis_client: redis.Redis, case: Case) -> None:
    headers = auth("submitter")
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    response = client.post("/v1/score", data=case.body(""), headers=headers)
    assert_error(response, case.status, case.field)
    assert redis_client.keys(f"{KEY_PREFIX}*") == []  # no comment, and nothing scored into the cache


# --- /v1/queue query ---------------------------------------------------------------------------------------------

QUERY_CASES = [
    ("status-unknown", {"status": "bogus"}, "status"),
    ("status-published", {"status": "published"}, "status"),
    ("status-upper", {"status": "PENDING"}, "status"),
    ("status-empty", {"status": ""}, "status"),
    ("limit-zero", {"limit": "0"}, "limit"),
    ("limit-negative", {"limit": "-1"}, "limit"),
    ("limit-over", {"limit": "201"}, "limit"),
    ("limit-word", {"limit": "ten"}, "limit"),
    ("limit-float", {"limit": "1.5"}, "limit"),
    ("limit-empty", {"limit": ""}, "limit"),
    ("limit-huge", {"limit": "9" * 40}, "limit"),
    ("flag-unknown", {"flag": "spam"}, "flag"),
    ("flag-empty", {"flag": ""}, "flag"),
    ("thread-bad", {"thread_id": "a b"}, "thread_id"),
    ("thread-too-long", {"thread_id": "t" * 129}, "thread_id"),
    ("cursor-garbage", {"cursor": "not-a-cursor!"}, "cursor"),
    ("cursor-base64-junk", {"cursor": "aGVsbG8"}, "cursor"),
    ("cursor-too-long", {"cursor": "r" * 65}, "cursor"),
    ("unknown-parameter", {"sort": "newest"}, "sort"),
    # numbers far out of range in query values: refused like any other bad value, naming the parameter
    ("limit-huge-int", {"limit": HUGE_INT}, "limit"),
    ("limit-huge-negative-int", {"limit": "-" + HUGE_INT}, "limit"),
    ("limit-huge-float", {"limit": "1e999"}, "limit"),
    ("status-huge-int", {"status": HUGE_INT}, "status"),
    ("flag-huge-int", {"flag": HUGE_INT}, "flag"),
    ("thread-huge-int", {"thread_id": HUGE_INT}, "thread_id"),
    ("cursor-huge-int", {"cursor": HUGE_INT}, "cursor"),
    ("unknown-parameter-huge-int", {"n": HUGE_INT}, "n"),
]


@pytest.mark.parametrize(("name", "query", "field"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_bad_queue_query(client: FlaskClient, name: str, query: dict[str, str], field: str) -> None:
    response = client.get("/v1/queue", query_string=query, headers=auth("moderator"))
    assert_error(response, frozenset({400, 422}), field)


def test_bad_queue_query_bytes(client: FlaskClient) -> None:
    response = client.get("/v1/queue?limit=%ff%fe", headers=auth("moderator"))
    assert_error(response, frozenset({400, 422}))


# --- decisions -----------------------------------------------------------------------------------------------------

DECISION_CASES = [
    Case("not-json", raw("approve"), JSON, 400),
    Case("invalid-utf8", raw(b'{"action": "approve", "note": "\xfe"}'), JSON, 400),
    Case("text-plain", raw('{"action": "approve"}'), "text/plain", 415),
    Case("no-content-type", raw('{"action": "approve"}'), None, 415),
    Case("over-limit", lambda i: dumps({"action": "approve", "note": "n" * 300_000}), JSON, 413),
    Case("array", raw('["approve"]'), JSON, 422),
    Case("missing-action", raw("{}"), JSON, 422, "action"),
    Case("action-unknown", raw('{"action": "maybe"}'), JSON, 422, "action"),
    Case("action-upper", raw('{"action": "APPROVE"}'), JSON, 422, "action"),
    Case("action-number", raw('{"action": 1}'), JSON, 422, "action"),
    Case("action-null", raw('{"action": null}'), JSON, 422, "action"),
    Case("unknown-field", raw('{"action": "approve", "by": "me"}'), JSON, 422, "by"),
    Case("note-number", raw('{"action": "approve", "note": 5}'), JSON, 422, "note"),
    Case("note-too-long", lambda i: dumps({"action": "approve", "note": "n" * 2001}), JSON, 422, "note"),
    Case("note-surrogate", raw('{"action": "approve", "note": "\\udc80"}'), JSON, 422, "note"),
    Case("action-huge-int", number_in('{"action": NUMBER}'), JSON, 422, "action"),
    Case("note-huge-int", number_in('{"action": "approve", "note": NUMBER}'), JSON, 422, "note"),
    Case("note-huge-float", raw('{"action": "approve", "note": 1e999}'), JSON, 422, "note"),
]


@pytest.fixture
def pending_id(client: FlaskClient) -> str:
    comment_id = f"pending-{uuid.uuid4()}"
    response = client.post("/v1/comments", json={"id": comment_id, "text": REJECT_TEXT}, headers=auth("submitter"))
    assert response.get_json()["status"] == "pending"
    return comment_id


def assert_still_pending(client: FlaskClient, redis_client: redis.Redis, comment_id: str) -> None:
    record = client.get(f"/v1/comments/{comment_id}", headers=auth("moderator")).get_json()
    assert record["status"] == "pending"
    assert record["moderation"] is None
    assert not redis_client.exists(f"{KEY_PREFIX}audit")
    queue = client.get("/v1/queue", headers=auth("moderator")).get_json()
    assert [item["id"] for item in queue["items"]] == [comment_id]


@pytest.mark.parametrize("case", DECISION_CASES, ids=[c.name for c in DECISION_CASES])
def test_bad_decision(client: FlaskClient, redis_client: redis.Redis, pending_id: str, case: Case) -> None:
    headers = auth("moderator")
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    response = client.post(f"/v1/queue/{pending_id}/decision", data=case.body(pending_id), headers=headers)
    assert_error(response, case.status, case.field)
    assert_still_pending(client, redis_client, pending_id)


# --- ids in the path -----------------------------------------------------------------------------------------------

BAD_PATH_IDS = ["a%20b", "a" * 129, "caf%C3%A9", "a%0Ab", "%2E%2E%2Fx", "x%00"]


@pytest.mark.parametrize("bad_id", BAD_PATH_IDS)
def test_bad_id_in_comment_path(client: FlaskClient, bad_id: str) -> None:
    response = client.get(f"/v1/comments/{bad_id}", headers=auth("moderator"))
    assert_error(response, frozenset({404, 422}))
    if response.status_code == 422:
        assert response.get_json()["error"]["field"]


@pytest.mark.parametrize("bad_id", BAD_PATH_IDS)
def test_bad_id_in_decision_path(client: FlaskClient, redis_client: redis.Redis, pending_id: str, bad_id: str) -> None:
    response = client.post(f"/v1/queue/{bad_id}/decision", json={"action": "approve"}, headers=auth("moderator"))
    assert_error(response, frozenset({404, 422}))
    assert_still_pending(client, redis_client, pending_id)


def test_plain_bad_ids_in_paths_are_422(client: FlaskClient) -> None:
    for path in ("/v1/comments/a%20b", "/v1/comments/" + "a" * 129):
        response = client.get(path, headers=auth("submitter"))
        assert_error(response, 422)
        assert response.get_json()["error"]["field"]


# --- routes and methods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/v1/comments", 405),
        ("DELETE", "/v1/comments/abc", 405),
        ("PUT", "/v1/comments/abc", 405),
        ("GET", "/v1/score", 405),
        ("POST", "/v1/queue", 405),
        ("GET", "/v1/queue/abc/decision", 405),
        ("POST", "/healthz", 405),
    ],
)
def test_unknown_routes_and_methods(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method, headers=auth("admin"))
    assert_error(response, status)
    if status == 405:
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert method not in allowed and allowed & {"GET", "POST"}, "a 405 names the route's methods (RFC 9110)"
