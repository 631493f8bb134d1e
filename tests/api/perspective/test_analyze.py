"""comments:analyze against SPEC section 7: the body forms real clients send, the response shape, every error row."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import SECRETS

KEY = SECRETS["submitter"]
ANALYZE = f"/v1alpha1/comments:analyze?key={KEY}"
TOXIC = "shut up you fucking idiot"
BENIGN = "Thanks for the article, the map of the region was really helpful."
DETAIL_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def analyze(client: FlaskClient, body: dict[str, Any] | str, url: str = ANALYZE, **kwargs: Any) -> TestResponse:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, **kwargs)


def toxicity_request(text: str, **fields: Any) -> dict[str, Any]:
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, **fields}


def error_of(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith("application/json")
    error: dict[str, Any] = response.get_json()["error"]
    assert error["code"] == status
    return error


# Body forms (checklist 3)


def test_a_body_without_content_type_is_read_as_json(client: FlaskClient) -> None:
    response = client.post(ANALYZE, data=json.dumps(toxicity_request(TOXIC)), headers={"Content-Type": ""})
    assert response.status_code == 200
    assert response.get_json()["attributeScores"]["TOXICITY"]["summaryScore"]["type"] == "PROBABILITY"


def test_the_official_curl_sample_with_unquoted_keys_is_read(client: FlaskClient) -> None:
    sample = (
        '{comment: {text: "what kind of idiot name is foo?"}, languages: ["en"], requestedAttributes: {TOXICITY:{}} }'
    )
    response = analyze(client, sample, content_type="application/json")
    assert response.status_code == 200
    assert 0.0 <= response.get_json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"] <= 1.0


def test_snake_case_names_are_read_and_the_answer_is_camel_case(client: FlaskClient) -> None:
    body = {
        "comment": {"text": "Hello there. You idiot."},
        "requested_attributes": {"INSULT": {"score_type": "PROBABILITY"}},
        "span_annotations": True,
        "client_token": "snake-1",
        "do_not_store": True,
    }
    document = analyze(client, body).get_json()
    assert document["clientToken"] == "snake-1"
    assert len(document["attributeScores"]["INSULT"]["spanScores"]) == 2
    assert "detectedLanguages" in document


def test_unknown_fields_and_google_query_parameters_are_ignored(client: FlaskClient) -> None:
    url = f"{ANALYZE}&alt=json&prettyPrint=false&$.xgafv=2&quotaUser=u1&fields=attributeScores"
    response = analyze(client, toxicity_request(BENIGN, somethingNew={"x": 1}), url=url)
    assert response.status_code == 200


def test_invalid_json_is_400_in_googles_shape(client: FlaskClient) -> None:
    error = error_of(analyze(client, "{comment: "), 400)
    assert error["status"] == "INVALID_ARGUMENT"
    assert "not valid JSON" in error["message"]


def test_a_field_of_the_wrong_type_is_400_naming_it(client: FlaskClient) -> None:
    error = error_of(analyze(client, {"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}), 400)
    assert "comment.text" in error["message"]


# The response (checklist 4, 5, 6)


def test_the_answer_carries_scores_languages_and_one_whole_text_span(client: FlaskClient) -> None:
    text = "I love this 🌍 story"
    response = analyze(client, toxicity_request(text, clientToken="tok-1"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    document = response.get_json()
    toxicity = document["attributeScores"]["TOXICITY"]
    assert set(toxicity["summaryScore"]) == {"value", "type"}
    assert toxicity["spanScores"] == [{"begin": 0, "end": utf16(text), "score": toxicity["summaryScore"]}]
    assert document["languages"] == ["en"]
    assert document["detectedLanguages"][0] == "en"
    assert document["clientToken"] == "tok-1"


def test_analyze_scores_are_the_verdicts_of_v1_score(client: FlaskClient) -> None:
    """One pipeline: the Perspective attributes are the native categories of the same verdict."""
    from tests.conftest import auth

    native = client.post("/v1/score", json={"comments": [{"text": TOXIC}]}, headers=auth("submitter"))
    scores = native.get_json()["results"][0]["scores"]
    body = {"comment": {"text": TOXIC}, "requestedAttributes": {"PROFANITY": {}, "TOXICITY_EXPERIMENTAL": {}}}
    attributes = analyze(client, body).get_json()["attributeScores"]
    assert attributes["PROFANITY"]["summaryScore"]["value"] == scores["obscene"]
    assert attributes["TOXICITY_EXPERIMENTAL"]["summaryScore"]["value"] == scores["toxicity"]


def test_toxic_text_scores_above_benign_text(client: FlaskClient) -> None:
    def toxicity(text: str) -> float:
        value: float = analyze(client, toxicity_request(text)).get_json()["attributeScores"]["TOXICITY"][
            "summaryScore"
        ]["value"]
        return value

    assert toxicity(TOXIC) > 0.8 > toxicity(BENIGN)


def test_every_attribute_and_conspiracy_answer(client: FlaskClient) -> None:
    names = [
        "TOXICITY",
        "SEVERE_TOXICITY",
        "IDENTITY_ATTACK",
        "INSULT",
        "PROFANITY",
        "THREAT",
        "SEXUALLY_EXPLICIT",
        "CONSPIRACY",
        "THREAT_EXPERIMENTAL",
    ]
    body = {"comment": {"text": "The mayor is a CIA puppet and it is all for public consumption."}}
    body["requestedAttributes"] = {name: {} for name in names}
    attributes = analyze(client, body).get_json()["attributeScores"]
    assert list(attributes) == names
    assert attributes["CONSPIRACY"]["summaryScore"]["value"] >= 0.8


def test_span_annotations_give_one_span_per_sentence_in_utf16_offsets(client: FlaskClient) -> None:
    first, second = "What kind of idiot 🤡 name is foo?", "Sorry, I like your name 😊 a lot."
    text = f"{first} {second}"
    response = analyze(client, toxicity_request(text, spanAnnotations=True))
    spans = response.get_json()["attributeScores"]["TOXICITY"]["spanScores"]
    begin_second = utf16(first) + 1
    assert [(s["begin"], s["end"]) for s in spans] == [(0, utf16(first)), (begin_second, utf16(text))]
    assert utf16(first) == len(first) + 1  # the emoji is one astral character: two code units
    assert spans[0]["score"]["value"] > spans[1]["score"]["value"]


def test_the_specs_sentence_example(client: FlaskClient) -> None:
    text = "What kind of idiot name is foo? Sorry, I like your name."
    spans = analyze(client, toxicity_request(text, spanAnnotations=True)).get_json()["attributeScores"]["TOXICITY"]
    assert [(s["begin"], s["end"]) for s in spans["spanScores"]] == [(0, 31), (32, 56)]


def test_a_score_below_the_threshold_leaves_the_attribute_out(client: FlaskClient) -> None:
    body = {
        "comment": {"text": BENIGN},
        "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.9}, "INSULT": {"scoreThreshold": 0.0}},
    }
    attributes = analyze(client, body).get_json()["attributeScores"]
    assert list(attributes) == ["INSULT"]


def test_when_every_attribute_is_below_its_threshold_there_are_no_attribute_scores(client: FlaskClient) -> None:
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.99}}}
    document = analyze(client, body).get_json()
    assert "attributeScores" not in document
    assert document["languages"] == ["en"]


def test_a_score_equal_to_the_threshold_is_returned(client: FlaskClient) -> None:
    value = analyze(client, toxicity_request(BENIGN)).get_json()["attributeScores"]["TOXICITY"]["summaryScore"]
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": value["value"]}}}
    assert "TOXICITY" in analyze(client, body).get_json()["attributeScores"]


# Errors (checklist 7)


@pytest.mark.parametrize("comment", [None, {}, {"text": ""}, {"text": "   "}])
def test_an_empty_comment_is_refused(client: FlaskClient, comment: dict[str, str] | None) -> None:
    body: dict[str, Any] = {"requestedAttributes": {"TOXICITY": {}}}
    if comment is not None:
        body["comment"] = comment
    error = error_of(analyze(client, body), 400)
    assert error["message"] == "Comment must be non-empty."
    assert error["details"] == [{"@type": DETAIL_TYPE, "errorType": "COMMENT_EMPTY"}]


def test_20480_bytes_pass_and_20481_are_refused_counting_utf8_bytes(client: FlaskClient) -> None:
    euro = "€"  # three bytes of UTF-8, one character
    fits = euro * (20480 // 3) + "a" * (20480 % 3)
    assert len(fits.encode()) == 20480
    assert analyze(client, toxicity_request(fits, languages=["en"])).status_code == 200
    over = fits + "a"
    error = error_of(analyze(client, toxicity_request(over, languages=["en"])), 400)
    assert error["message"] == "Comment text was too many bytes. Value (20481) exceeded limit (20480)."
    assert "details" not in error  # as Google's captured answer
    assert len(over) < 7000  # far under 20480 characters: bytes are what count


@pytest.mark.parametrize("attributes", [None, {}])
def test_missing_or_empty_requested_attributes(client: FlaskClient, attributes: dict[str, Any] | None) -> None:
    body: dict[str, Any] = {"comment": {"text": BENIGN}}
    if attributes is not None:
        body["requestedAttributes"] = attributes
    error = error_of(analyze(client, body), 400)
    assert error["message"] == "Missing requested_attributes"
    assert error["details"][0]["errorType"] == "NO_REQUESTED_ATTRIBUTES"


def test_an_unknown_attribute_is_refused(client: FlaskClient) -> None:
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"TOXICITY": {}, "FLIRTATION": {}}}
    error = error_of(analyze(client, body), 400)
    assert error["message"] == "Unknown requested attribute: FLIRTATION"
    assert error["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(("score_type", "name"), [("PERCENTILE", "PERCENTILE"), (2, "STD_DEV_SCORE")])
def test_a_score_type_other_than_probability_is_refused(client: FlaskClient, score_type: object, name: str) -> None:
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"INSULT": {"scoreType": score_type}}}
    error = error_of(analyze(client, body), 400)
    assert error["message"] == f"Requested score type {name} is not supported by attribute INSULT"


def test_probability_by_name_or_number_is_accepted(client: FlaskClient) -> None:
    for score_type in ("PROBABILITY", 1, "SCORE_TYPE_UNSPECIFIED", 0):
        body = {"comment": {"text": BENIGN}, "requestedAttributes": {"INSULT": {"scoreType": score_type}}}
        assert analyze(client, body).status_code == 200, score_type


def test_a_requested_language_no_model_supports_is_refused_with_the_detail(client: FlaskClient) -> None:
    error = error_of(analyze(client, toxicity_request(BENIGN, languages=["fr"])), 400)
    assert error["message"] == "Attribute TOXICITY does not support request languages: fr"
    (detail,) = error["details"]
    assert detail["@type"] == DETAIL_TYPE
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    refused = detail["languageNotSupportedByAttributeError"]
    assert refused["attribute"] == "TOXICITY"
    assert refused["requestedLanguages"] == ["fr"]
    assert refused["detectedLanguages"][0] == "en"


def test_a_detected_language_no_model_supports_is_refused(client: FlaskClient) -> None:
    text = "Je ne suis pas d'accord avec cet article, mais merci pour le travail des journalistes."
    body = {"comment": {"text": text}, "requestedAttributes": {"SEXUALLY_EXPLICIT": {}}}
    error = error_of(analyze(client, body), 400)
    assert error["message"] == "Attribute SEXUALLY_EXPLICIT does not support request languages: fr"
    refused = error["details"][0]["languageNotSupportedByAttributeError"]
    assert refused == {"detectedLanguages": ["fr"], "attribute": "SEXUALLY_EXPLICIT"}


def test_several_languages_fail_unless_every_one_is_supported(client: FlaskClient) -> None:
    error = error_of(analyze(client, toxicity_request(BENIGN, languages=["en", "de"])), 400)
    assert error["message"] == "Attribute TOXICITY does not support request languages: en, de"
    assert analyze(client, toxicity_request(BENIGN, languages=["EN", "en-US"])).status_code == 200


def test_drop_unsupported_attributes_answers_200_without_them(client: FlaskClient) -> None:
    body = toxicity_request(BENIGN, languages=["pt-BR"], dropUnsupportedAttributes=True)
    response = analyze(client, body)
    assert response.status_code == 200
    document = response.get_json()
    assert "attributeScores" not in document
    assert document["languages"] == ["pt-BR"]


def test_both_kinds_of_context_are_refused(client: FlaskClient) -> None:
    context = {"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}}
    error = error_of(analyze(client, toxicity_request(BENIGN, context=context)), 400)
    assert error["message"] == (
        "Context can have either entries or article_and_parent_comment, but both fields were populated."
    )


def test_one_kind_of_context_is_accepted_and_ignored(client: FlaskClient) -> None:
    coral = json.dumps({"url": "https://news.example/story?commentID=1", "Coral_comment_id": "c1"})
    with_context = analyze(client, toxicity_request(BENIGN, context={"entries": [{"text": coral}]})).get_json()
    without = analyze(client, toxicity_request(BENIGN)).get_json()
    assert with_context["attributeScores"] == without["attributeScores"]


@pytest.mark.parametrize(("kind", "message"), [("HTML", "Currently, only 'PLAIN_TEXT' comments are supported"),
                                               (2, "Currently, only 'PLAIN_TEXT' comments are supported"),
                                               ("MARKDOWN", "Unknown text type")])  # fmt: skip
def test_html_and_unknown_text_types_are_refused(client: FlaskClient, kind: object, message: str) -> None:
    body = {"comment": {"text": "<b>hi</b>", "type": kind}, "requestedAttributes": {"TOXICITY": {}}}
    assert error_of(analyze(client, body), 400)["message"] == message


def test_plain_text_by_name_or_number_is_accepted(client: FlaskClient) -> None:
    for kind in ("PLAIN_TEXT", 1, "TEXT_TYPE_UNSPECIFIED"):
        body = {"comment": {"text": BENIGN, "type": kind}, "requestedAttributes": {"TOXICITY": {}}}
        assert analyze(client, body).status_code == 200, kind


def test_a_refused_request_changes_nothing(client: FlaskClient, redis_client: redis.Redis) -> None:
    before = redis_client.dbsize()
    error_of(analyze(client, toxicity_request(TOXIC, languages=["fr"])), 400)
    error_of(analyze(client, {"comment": {"text": TOXIC}, "requestedAttributes": {"NOPE": {}}}), 400)
    assert redis_client.dbsize() == before


def test_no_text_of_the_comment_is_stored(client: FlaskClient, redis_client: redis.Redis) -> None:
    marker = "Zanzibarquux"
    text = f"{marker} is a fucking idiot and a CIA puppet."
    assert analyze(client, toxicity_request(text, doNotStore=True, spanAnnotations=True)).status_code == 200
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        if kind == "string":
            assert marker.lower() not in str(redis_client.get(key)).lower(), key
        elif kind == "hash":
            assert marker.lower() not in json.dumps(redis_client.hgetall(key)).lower(), key


def test_a_path_prefix_reaches_the_same_route_without_redirect(client: FlaskClient) -> None:
    response = analyze(client, toxicity_request(BENIGN), url=f"/tenant/perspective/{ANALYZE}")
    assert response.status_code == 200
    assert "TOXICITY" in response.get_json()["attributeScores"]


def test_a_body_over_the_service_limit_is_400_in_googles_shape(client: FlaskClient) -> None:
    body = toxicity_request(BENIGN, context={"entries": [{"text": "x" * 300_000}]})
    error = error_of(analyze(client, body), 400)
    assert "exceeds the limit" in error["message"]


def test_without_a_default_language_an_unplaceable_text_is_unable_to_detect(env: dict[str, str]) -> None:
    from service import create_app

    client = create_app({**env, "MODERATION_DEFAULT_LANGUAGE": ""}).test_client()
    error = error_of(analyze(client, toxicity_request("12345 !!!")), 400)
    assert error["message"] == "Unable to detect language"
    assert error["details"][0]["errorType"] == "LANGUAGE_DETECTION_FAILED"
    # Given languages need no detection; a placeable text is still detected.
    assert analyze(client, toxicity_request("12345 !!!", languages=["en"])).status_code == 200
    assert analyze(client, toxicity_request(BENIGN)).get_json()["languages"] == ["en"]


def test_with_the_default_a_short_text_counts_as_it(client: FlaskClient) -> None:
    document = analyze(client, toxicity_request("lol ok")).get_json()
    assert document["languages"] == ["en"]
    assert "TOXICITY" in document["attributeScores"]


def test_attribute_names_match_exactly_as_googles_do(client: FlaskClient) -> None:
    body = {"comment": {"text": BENIGN}, "requestedAttributes": {"Toxicity": {}}}
    assert error_of(analyze(client, body), 400)["message"] == "Unknown requested attribute: Toxicity"


def test_a_text_of_many_sentences_gets_at_most_50_spans(client: FlaskClient) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(80))
    spans = analyze(client, toxicity_request(text, spanAnnotations=True)).get_json()["attributeScores"]["TOXICITY"]
    bounds = [(s["begin"], s["end"]) for s in spans["spanScores"]]
    assert len(bounds) == 50
    assert bounds[-1] == (text.index("Sentence number 49"), len(text))  # the last span holds the rest


def test_a_hexadecimal_number_in_a_relaxed_body_is_read(client: FlaskClient) -> None:
    body = '{comment: {text: "Nice piece."}, requestedAttributes: {TOXICITY: {scoreThreshold: 0x0}}}'
    assert "TOXICITY" in analyze(client, body).get_json()["attributeScores"]


def test_talk_v4s_request_is_answered(client: FlaskClient) -> None:
    """Coral Talk v4 asked for TOXICITY and SEVERE_TOXICITY and read both summary scores."""
    body = {
        "comment": {"text": TOXIC},
        "languages": ["en"],
        "doNotStore": True,
        "requestedAttributes": {"TOXICITY": {}, "SEVERE_TOXICITY": {}},
    }
    attributes = analyze(client, body).get_json()["attributeScores"]
    assert set(attributes) == {"TOXICITY", "SEVERE_TOXICITY"}


def test_a_wrong_method_or_path_is_answered_in_googles_shape(client: FlaskClient) -> None:
    wrong_method = client.get(ANALYZE)
    error = error_of(wrong_method, 405)
    assert error["status"] == "NOT_FOUND"
    assert "POST" in wrong_method.headers["Allow"]
    assert error_of(client.post(f"/v1alpha1/comments:analyse?key={KEY}", data="{}"), 404)["status"] == "NOT_FOUND"
