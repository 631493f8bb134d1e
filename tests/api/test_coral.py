"""POST /integrations/coral/moderate, with requests built and signed exactly as Coral Talk builds them.

Where Node.js is installed, Coral's own serialisation and signing (`JSON.stringify(request, null, 2)`, Node's
crypto HMAC) build the request (tests/data/coral_request.js); Python's `json.dumps(indent=2, ensure_ascii=False)`
writes the same bytes for these bodies, and builds the rest. Every answer is checked against Coral's own response
schema (its Joi schema in external.ts, as JSON Schema below): a value outside its enums would make Coral drop it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import redis
from flask.testing import FlaskClient

from service.schemas import Reason
from tests.api.test_audit import stamp
from tests.api.test_queue import REJECT_TEXT, REVIEW_TEXT
from tests.conftest import KEY_PREFIX, ROOT, auth

OLD_SECRET, NEW_SECRET = "whsec_old_3f9a", "whsec_new_81c2"
CORAL_SITE = "5f1c0a3e-8d2b-4c59-9a57-2f0e6b1d7c44"
NODE = shutil.which("node")
BENIGN = "Which way does the ferry go on Sundays? The timetable on the site is out of date."
TOXIC_REVIEW = "You are a stupid idiot and I hate you"

# Coral 9.11.8's ExternalModerationResponseSchema (external.ts), with GQLCOMMENT_STATUS and REJECTION_REASON_CODE.
CORAL_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"enum": ["NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]},
        "moderationAction": {
            "type": "object",
            "properties": {
                "status": {"enum": ["NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]},
                "rejectionReason": {
                    "type": "object",
                    "properties": {
                        "code": {"enum": [r.value for r in Reason]},
                        "legalGrounds": {"type": "string"},
                        "detailedExplanation": {"type": "string"},
                        "customReason": {"type": "string"},
                    },
                },
            },
        },
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "actionType": {"const": "FLAG"},
                    "reason": {"enum": ["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]},
                },
                "required": ["actionType", "reason"],
            },
        },
        "tags": {"type": "array", "items": {"enum": ["FEATURED", "STAFF"]}},
    },
}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "MODERATION_CORAL_SECRETS": f"{OLD_SECRET},{NEW_SECRET}",
        "MODERATION_COMMUNITY_SITES": f"{CORAL_SITE}=news",
    }


def coral_request(body: str, action: str = "NEW", **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "action": action,
        "comment": {"body": body, "parentID": None},
        "author": {"id": "a7d1e2f0-reader", "role": "COMMENTER"},
        "story": {"id": "story-9b1e", "url": "https://news.example.org/2026/12/ferry-timetable"},
        "site": {"id": CORAL_SITE},
        "tenantID": "tenant-41",
        "tenantDomain": "comments.news.example.org",
    }
    request.update(changes)
    return request


def signed(request: dict[str, Any], secrets: list[str]) -> tuple[bytes, str]:
    """The body and X-Coral-Signature Coral sends for `request`: from Node where it is installed."""
    if NODE is not None:
        built = subprocess.run(
            [NODE, str(ROOT / "tests" / "data" / "coral_request.js")],
            input=json.dumps({"request": request, "secrets": secrets}),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        document = json.loads(built.stdout)
        return document["body"].encode(), document["signature"]
    body = json.dumps(request, indent=2, ensure_ascii=False).encode()
    return body, ",".join("sha256=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)


def post(client: FlaskClient, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json", "User-Agent": "Coral Moderation/9.11.8"}
    if signature is not None:
        headers["X-Coral-Signature"] = signature
    return client.post("/integrations/coral/moderate", data=body, headers=headers)


def moderate(client: FlaskClient, text: str, secrets: list[str] | None = None, **changes: Any) -> Any:
    body, signature = signed(coral_request(text, **changes), secrets or [NEW_SECRET])
    response = post(client, body, signature)
    if response.status_code == 200:
        jsonschema.validate(response.get_json(), CORAL_RESPONSE_SCHEMA)
    return response


def comment_keys(redis_client: redis.Redis) -> list[str]:
    return list(redis_client.scan_iter(f"{KEY_PREFIX}comment:*"))


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed: requests are built by Python alone")
def test_node_and_python_write_the_same_bytes() -> None:
    request = coral_request('Zoë\'s <b>café</b> & "quotes"\nnew line')
    body, signature = signed(request, [OLD_SECRET, NEW_SECRET])
    assert body == json.dumps(request, indent=2, ensure_ascii=False).encode()
    assert signature.count("sha256=") == 2


def test_reject_carries_a_reason_code(client: FlaskClient, redis_client: redis.Redis) -> None:
    response = moderate(client, REJECT_TEXT)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "REJECTED"
    assert answer["moderationAction"]["status"] == "REJECTED"
    reason = answer["moderationAction"]["rejectionReason"]
    assert reason["code"] == "ABUSIVE"
    assert reason["detailedExplanation"]
    assert comment_keys(redis_client) == []  # Coral keeps the comment; we keep nothing of it


def test_review_is_withheld_and_flagged_when_toxic(client: FlaskClient) -> None:
    toxic = moderate(client, TOXIC_REVIEW).get_json()
    assert toxic == {
        "status": "SYSTEM_WITHHELD",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }
    claim = moderate(client, REVIEW_TEXT).get_json()
    assert claim == {"status": "SYSTEM_WITHHELD"}  # conspiracy alone: held, not reported as toxic


def test_allow_is_204_with_no_body(client: FlaskClient) -> None:
    response = moderate(client, BENIGN)
    assert response.status_code == 204
    assert response.get_data() == b""


def test_html_bodies_are_read_as_their_words(client: FlaskClient) -> None:
    html = "<div>Shut up you <b>fucking</b> idiot</div><div><br></div>"
    answer = moderate(client, html).get_json()
    assert answer["moderationAction"]["rejectionReason"]["code"] == "ABUSIVE"
    assert moderate(client, "<p>Which way does the ferry go &amp; when?</p>").status_code == 204
    assert moderate(client, "<div><br></div>").status_code == 204  # nothing left to judge


def test_either_secret_of_a_rotation_is_accepted(client: FlaskClient) -> None:
    for secrets in ([OLD_SECRET, NEW_SECRET], [OLD_SECRET], [NEW_SECRET], ["whsec_unknown", NEW_SECRET]):
        assert moderate(client, REJECT_TEXT, secrets=secrets).status_code == 200, secrets


def test_bad_signatures_are_401_before_the_body_is_read(client: FlaskClient, redis_client: redis.Redis) -> None:
    body, signature = signed(coral_request(REJECT_TEXT), [NEW_SECRET])
    tampered = body.replace(b"idiot", b"idiom")
    cases = [
        (body, None),
        (body, ""),
        (body, "sha256=" + "0" * 64),
        (body, signed(coral_request(REJECT_TEXT), ["whsec_unknown"])[1]),
        (body, signature.removeprefix("sha256=")),
        (tampered, signature),
        (b"{not json", "sha256=" + hmac.new(b"wrong", b"{not json", hashlib.sha256).hexdigest()),
    ]
    for raw, header in cases:
        response = post(client, raw, header)
        assert response.status_code == 401, header
        assert response.get_json()["error"]["field"] == "X-Coral-Signature"
    assert comment_keys(redis_client) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "DELETE"}, "action"),
        ({"comment": {"parentID": None}}, "comment.body"),
        ({"author": {"role": "COMMENTER"}}, "author.id"),
        ({"site": {}}, "site.id"),
        ({"story": "story-1"}, "story"),
    ],
)
def test_a_body_not_in_corals_shape_is_422(client: FlaskClient, change: dict[str, Any], field: str) -> None:
    request = coral_request(REJECT_TEXT)
    request.update(change)
    body, signature = signed(request, [NEW_SECRET])
    response = post(client, body, signature)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_signed_invalid_json_is_400(client: FlaskClient) -> None:
    raw = b'{"action": "NEW",'
    response = post(client, raw, "sha256=" + hmac.new(NEW_SECRET.encode(), raw, hashlib.sha256).hexdigest())
    assert response.status_code == 400


def test_the_sites_own_word_list_decides(client: FlaskClient) -> None:
    listed = client.put(
        "/v1/admin/wordlists/banned",
        json={"action": "reject", "terms": ["ferryman"], "sites": ["news"]},
        headers=auth("admin"),
    )
    assert listed.status_code in (200, 201)
    text = "Ask the ferryman about the Sunday timetable."
    answer = moderate(client, text).get_json()
    assert answer["moderationAction"]["rejectionReason"]["code"] == "BANNED_WORD"
    assert moderate(client, text, site={"id": "another-coral-site"}).status_code == 204


def test_queue_copy_when_asked(env: dict[str, str], redis_client: redis.Redis) -> None:
    from service import create_app

    client = create_app({**env, "MODERATION_CORAL_QUEUE_COPY": "true"}).test_client()
    for _ in range(2):  # Coral retrying the same comment makes one record
        assert moderate(client, REJECT_TEXT).status_code == 200
    assert moderate(client, BENIGN).status_code == 204
    items = client.get("/v1/queue", headers=auth("moderator")).get_json()["items"]
    assert len(items) == 1
    (item,) = items
    assert item["id"].startswith("coral-") and item["site"] == "news"
    assert item["text"] == REJECT_TEXT and item["thread_id"] == "story-9b1e"
    assert item["author"]["id"] == "a7d1e2f0-reader"


def test_off_without_secrets(env: dict[str, str]) -> None:
    from service import create_app

    client = create_app({**env, "MODERATION_CORAL_SECRETS": ""}).test_client()
    body, signature = signed(coral_request(REJECT_TEXT), [NEW_SECRET])
    assert post(client, body, signature).status_code == 404


def test_oversized_body_is_413(client: FlaskClient) -> None:
    body, signature = signed(coral_request("x" * 300_000), [NEW_SECRET])
    assert post(client, body, signature).status_code == 413


def test_the_phases_decisions_count_in_the_transparency_report(client: FlaskClient) -> None:
    moderate(client, REJECT_TEXT)
    moderate(client, BENIGN)
    now = datetime.now(UTC)
    period = {"from": stamp(now - timedelta(hours=1)), "to": stamp(now + timedelta(hours=1)), "site": "news"}
    report = client.get("/v1/transparency", query_string=period, headers=auth("admin")).get_json()
    assert report["automated"]["total"] == 2
    assert report["automated"]["by_decision"]["allow"] == 1
