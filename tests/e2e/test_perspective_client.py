"""The Perspective API (Comment Analyzer v1alpha1) as real clients call it, against gunicorn.

Google's own google-api-python-client builds the API from the discovery document this server serves, then calls
analyze, suggestscore and batch through it; the request shapes of Coral, Discourse and Perspective's own samples
go over plain HTTP. See /work/shared/perspective/SPEC.md for the contract.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from googleapiclient import discovery, errors  # type: ignore[import-untyped]

from service.redis_server import LocalRedis
from tests.conftest import SECRETS, Gunicorn

SUBMITTER_SECRET = SECRETS["submitter"]
TOXIC = "shut up you fucking idiot"
BENIGN = "Thanks for the article, the map of the region was really helpful."
ANALYZE = "v1alpha1/comments:analyze"
INVALID_KEY_MESSAGE = "API key not valid. Please pass a valid API key."


def utf16(text: str) -> int:
    """Length of `text` in UTF-16 code units, as Perspective counts span offsets."""
    return len(text.encode("utf-16-le")) // 2


def discovery_url(base: str) -> str:
    return f"{base}/$discovery/rest?version=v1alpha1"


def build(base: str, key: str = SUBMITTER_SECRET, **kwargs: Any) -> Any:
    """The call Perspective's docs and HELM use, pointed at `base`."""
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=discovery_url(base),
        static_discovery=False,
        **kwargs,
    )


def analyze_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, **extra}


def assert_probability(score: dict[str, Any]) -> float:
    assert score["type"] == "PROBABILITY", score
    value = score["value"]
    assert isinstance(value, float | int) and 0.0 <= value <= 1.0, score
    return float(value)


@pytest.fixture(scope="module")
def service(gunicorn: Gunicorn) -> Any:
    return build(gunicorn.url)


@pytest.fixture
def store(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    """The database the module's gunicorn writes to (see the `gunicorn` fixture)."""
    client = redis.Redis.from_url(redis_server.url.removesuffix("/0") + "/1", decode_responses=True)
    yield client
    client.close()


# --- discovery ---------------------------------------------------------------------------------------------------


def test_discovery_build_points_the_client_at_this_server(gunicorn: Gunicorn, service: Any) -> None:
    fetched = service._rootDesc  # the document build() fetched and built the client from
    assert fetched["name"] == "commentanalyzer"
    assert fetched["version"] == "v1alpha1"
    assert fetched["rootUrl"] == f"{gunicorn.url}/"
    assert fetched["baseUrl"] == f"{gunicorn.url}/"
    assert fetched["mtlsRootUrl"] == f"{gunicorn.url}/"
    request = service.comments().analyze(body=analyze_body(BENIGN))
    assert request.uri.startswith(f"{gunicorn.url}/{ANALYZE}?")


def test_discovery_build_with_a_bad_key_fails_400(gunicorn: Gunicorn) -> None:
    with pytest.raises(errors.HttpError) as caught:
        build(gunicorn.url, key="not-a-key", cache_discovery=False)
    assert caught.value.status_code == 400
    assert caught.value.reason == INVALID_KEY_MESSAGE


# --- analyze and suggestscore through the client -----------------------------------------------------------------


def test_analyze_returns_a_toxicity_probability(service: Any) -> None:
    response = service.comments().analyze(body=analyze_body(BENIGN)).execute()
    assert_probability(response["attributeScores"]["TOXICITY"]["summaryScore"])
    assert response["languages"] == ["en"]
    assert response["detectedLanguages"] and response["detectedLanguages"][0] == "en"


def test_toxic_text_scores_above_benign_text(service: Any) -> None:
    def toxicity(text: str) -> float:
        response = service.comments().analyze(body=analyze_body(text)).execute()
        return assert_probability(response["attributeScores"]["TOXICITY"]["summaryScore"])

    toxic, benign = toxicity(TOXIC), toxicity(BENIGN)
    assert toxic > benign, (toxic, benign)


def test_span_annotations_count_utf16_code_units(service: Any) -> None:
    first = "What kind of idiot name is foo \U0001f914?"  # the emoji is two UTF-16 units, one code point
    second = "Sorry, I like your name."
    text = f"{first} {second}"
    assert utf16(first) == len(first) + 1
    response = service.comments().analyze(body=analyze_body(text, spanAnnotations=True)).execute()
    scores = response["attributeScores"]["TOXICITY"]
    assert_probability(scores["summaryScore"])
    spans = scores["spanScores"]
    assert [(span.get("begin", 0), span["end"]) for span in spans] == [
        (0, utf16(first)),
        (utf16(f"{first} "), utf16(text)),
    ], spans
    assert spans[0]["begin"] == 0  # written out, not left as the proto3 default
    for span in spans:
        assert_probability(span["score"])


def test_suggestscore_echoes_the_client_token(service: Any) -> None:
    body = {
        "comment": {"text": f"{BENIGN} {uuid.uuid4().hex}"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
        "clientToken": "tok-1",
    }
    response = service.comments().suggestscore(body=body).execute()
    assert response["clientToken"] == "tok-1"


def test_batch_of_two_analyze_calls(service: Any) -> None:
    answers: dict[str, tuple[Any, Any]] = {}

    def callback(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = (response, exception)

    batch = service.new_batch_http_request(callback=callback)
    batch.add(service.comments().analyze(body=analyze_body(TOXIC)), request_id="toxic")
    batch.add(service.comments().analyze(body=analyze_body(BENIGN)), request_id="benign")
    batch.execute()
    assert set(answers) == {"toxic", "benign"}
    for request_id, (response, exception) in answers.items():
        assert exception is None, (request_id, exception)
        assert_probability(response["attributeScores"]["TOXICITY"]["summaryScore"])
    toxic = answers["toxic"][0]["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    benign = answers["benign"][0]["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert toxic > benign


# --- errors through the client -----------------------------------------------------------------------------------


def test_unknown_attribute_is_an_http_error(service: Any) -> None:
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"NOPE": {}}}
    with pytest.raises(errors.HttpError) as caught:
        service.comments().analyze(body=body).execute()
    assert caught.value.status_code == 400
    assert caught.value.reason == "Unknown requested attribute: NOPE"
    assert json.loads(caught.value.content)["error"]["status"] == "INVALID_ARGUMENT"


def test_unsupported_language_is_an_http_error_with_its_detail(service: Any) -> None:
    with pytest.raises(errors.HttpError) as caught:
        service.comments().analyze(body=analyze_body(BENIGN, languages=["fr"])).execute()
    error = caught.value
    assert error.status_code == 400
    assert error.reason.startswith("Attribute TOXICITY does not support request languages: fr"), error.reason
    assert isinstance(error.error_details, list), error.error_details
    details = [d for d in error.error_details if d.get("errorType") == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"]
    assert len(details) == 1, error.error_details
    assert details[0]["@type"] == "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
    refused = details[0]["languageNotSupportedByAttributeError"]
    assert refused["attribute"] == "TOXICITY"
    assert refused["requestedLanguages"] == ["fr"]


# --- a path prefix, no redirects ----------------------------------------------------------------------------------


def test_a_path_prefix_works_end_to_end(gunicorn: Gunicorn) -> None:
    prefixed = f"{gunicorn.url}/some/prefix"
    service = build(prefixed)
    assert service._rootDesc["rootUrl"] == f"{prefixed}/"
    assert service._rootDesc["baseUrl"] == f"{prefixed}/"
    request = service.comments().analyze(body=analyze_body(TOXIC))
    assert request.uri.startswith(f"{prefixed}/{ANALYZE}?")
    request_id = f"prefix-{uuid.uuid4().hex}"
    request.headers["X-Request-ID"] = request_id
    response = request.execute()
    assert_probability(response["attributeScores"]["TOXICITY"]["summaryScore"])
    # httplib2 follows redirects by itself: the access log shows the prefixed path was answered, not redirected.
    entry = gunicorn.access_entry(request_id)
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", f"/some/prefix/{ANALYZE}", 200)


def test_the_prefixed_path_answers_without_a_redirect(gunicorn: Gunicorn) -> None:
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        response = client.post(
            f"{gunicorn.url}/some/prefix/{ANALYZE}", params={"key": SUBMITTER_SECRET}, json=analyze_body(TOXIC)
        )
        assert response.status_code == 200, response.text
        assert_probability(response.json()["attributeScores"]["TOXICITY"]["summaryScore"])
        document = client.get(f"{gunicorn.url}/some/prefix/$discovery/rest", params={"version": "v1alpha1"})
        assert document.status_code == 200, document.text
        assert document.json()["rootUrl"] == f"{gunicorn.url}/some/prefix/"


# --- the request shapes of real integrations ----------------------------------------------------------------------


def test_coral_talk_request_shape(gunicorn: Gunicorn) -> None:
    body = {
        "comment": {"text": TOXIC},
        "doNotStore": True,
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
    }
    headers = {"Content-Type": "application/json", "User-Agent": "Coral Perspective/8.0.0"}
    with httpx.Client(follow_redirects=False, timeout=30) as client:  # axios with maxRedirects: 0
        response = client.post(
            f"{gunicorn.url}/{ANALYZE}", params={"key": SUBMITTER_SECRET}, content=json.dumps(body), headers=headers
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    value = response.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert 0.0 <= value <= 1.0


def test_discourse_request_shape(gunicorn: Gunicorn) -> None:
    body = {
        "comment": {"text": "I think the council should publish the minutes of every meeting online."},
        "doNotStore": True,
        "sessionId": "https://forum.example.com_42",
        "requestedAttributes": {"SEVERE_TOXICITY": {"scoreType": "PROBABILITY"}},
    }
    headers = {"Accept": "*/*", "Content-Type": "application/json", "User-Agent": "Discourse/3.2.0"}
    response = httpx.post(
        f"{gunicorn.url}/{ANALYZE}", params={"key": SUBMITTER_SECRET}, content=json.dumps(body), headers=headers
    )
    assert response.status_code == 200, response.text
    assert_probability(response.json()["attributeScores"]["SEVERE_TOXICITY"]["summaryScore"])


def test_official_python_sample_without_content_type(gunicorn: Gunicorn) -> None:
    data = {"comment": {"text": "what kind of idiot name is foo?"}, "requestedAttributes": {"TOXICITY": {}}}
    response = httpx.post(f"{gunicorn.url}/{ANALYZE}?key={SUBMITTER_SECRET}", content=json.dumps(data))
    assert "content-type" not in response.request.headers
    assert response.status_code == 200, response.text
    assert_probability(response.json()["attributeScores"]["TOXICITY"]["summaryScore"])


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/x-www-form-urlencoded"],  # with the sample's -H, and what --data sends alone
)
def test_official_curl_sample_with_unquoted_keys(gunicorn: Gunicorn, content_type: str) -> None:
    data = (
        '{comment: {text: "what kind of idiot name is foo?"}, languages: ["en"], requestedAttributes: {TOXICITY:{}} }'
    )
    headers = {"Content-Type": content_type, "User-Agent": "curl/8.5.0", "Accept": "*/*"}
    response = httpx.post(f"{gunicorn.url}/{ANALYZE}?key={SUBMITTER_SECRET}", content=data, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_probability(body["attributeScores"]["TOXICITY"]["summaryScore"])
    assert body["languages"] == ["en"]


# --- doNotStore ----------------------------------------------------------------------------------------------------


def redis_values(store: redis.Redis) -> Iterator[tuple[str, str]]:
    """(key, text) for every key of the database and every value it holds, whatever its type."""
    client: Any = store  # decode_responses=True: every reply is str
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        yield key, key
        if kind == "string":
            yield key, str(client.get(key))
        elif kind == "hash":
            for field, value in client.hgetall(key).items():
                yield key, f"{field} {value}"
        elif kind == "list":
            for value in client.lrange(key, 0, -1):
                yield key, value
        elif kind == "set":
            for value in client.smembers(key):
                yield key, value
        elif kind == "zset":
            for value in client.zrange(key, 0, -1):
                yield key, value
        elif kind == "stream":
            for entry_id, fields in client.xrange(key):
                yield key, f"{entry_id} {json.dumps(fields, ensure_ascii=False)}"
        elif kind != "none":  # gone since the scan
            raise AssertionError(f"unexpected Redis type {kind} of {key}")


def keys_holding(store: redis.Redis, word: str) -> set[str]:
    return {key for key, value in redis_values(store) if word in value}


def test_do_not_store_leaves_no_text_in_redis(gunicorn: Gunicorn, service: Any, store: redis.Redis) -> None:
    marker = f"zqx{uuid.uuid4().hex[:12]}"
    # Cue words right beside the marker: evidence spans taken from this text would hold it.
    text = f"the new mayor {marker} is a cia puppet and {marker} you fucking idiot, shut up"
    response = httpx.post(
        f"{gunicorn.url}/{ANALYZE}",
        params={"key": SUBMITTER_SECRET},
        json={
            "comment": {"text": text},
            "doNotStore": True,
            "spanAnnotations": True,
            "requestedAttributes": {"TOXICITY": {}, "INSULT": {}, "PROFANITY": {}},
            "languages": ["en"],
        },
    )
    assert response.status_code == 200, response.text
    through_client = service.comments().analyze(body=analyze_body(text, doNotStore=True)).execute()
    assert "TOXICITY" in through_client["attributeScores"]

    # The scan finds stored text: a comment submitted to /v1/comments is kept, marker and all.
    kept = f"zqk{uuid.uuid4().hex[:12]}"
    submitted = httpx.post(
        f"{gunicorn.url}/v1/comments",
        json={"id": f"kept-{uuid.uuid4()}", "text": f"{BENIGN} {kept}"},
        headers={"Authorization": f"Bearer {SUBMITTER_SECRET}"},
    )
    assert submitted.status_code == 201, submitted.text
    assert keys_holding(store, kept)

    assert keys_holding(store, marker) == set()
