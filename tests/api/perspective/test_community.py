"""`communityId` picks the site, through Google's own client: a key limited to sites gets Google's 403 for any other,
and suggestscore's labels carry the site (the deployment's mapping, else the id cleaned to the id alphabet)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httplib2  # type: ignore[import-untyped]
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from googleapiclient import discovery, errors  # type: ignore[import-untyped]

from service import create_app
from service.keys import Keys
from service.store.feedback import Feedback, FeedbackStore
from tests.conftest import KEY_PREFIX, SECRETS

# The submitter key of tests/conftest.py is named `site`.
SUBMITTER_KEY_NAME = "site"
BENIGN = "Thanks for the article, the map of the region was really helpful."
CORAL_COMMUNITY = "Coral:https://news.example"


class FlaskHttp(httplib2.Http):  # type: ignore[misc]
    """httplib2, as google-api-python-client uses it, answered by the Flask test client instead of a socket."""

    def __init__(self, client: FlaskClient) -> None:
        super().__init__()
        self.flask = client

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        redirections: int = 5,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        parts = urlsplit(uri)
        answer = self.flask.open(
            parts.path, method=method, query_string=parts.query, data=body, headers=dict(headers or {})
        )
        info = {name.lower(): value for name, value in answer.headers.items()}
        info["status"] = str(answer.status_code)
        return httplib2.Response(info), answer.get_data()


def perspective(app: Flask, key: str = SECRETS["submitter"]) -> Any:
    """The call Perspective's docs use, with this app's own discovery document, over the Flask test client."""
    return discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl="http://localhost/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
        http=FlaskHttp(app.test_client()),
    )


def analyze_body(community_id: str | None, text: str = BENIGN) -> dict[str, Any]:
    body: dict[str, Any] = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
    if community_id is not None:
        body["communityId"] = community_id
    return body


def suggest_body(community_id: str | None, token: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "comment": {"text": BENIGN},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
        "clientToken": token,
    }
    if community_id is not None:
        body["communityId"] = community_id
    return body


def feedback(redis_client: redis.Redis) -> list[Feedback]:
    return list(FeedbackStore(redis_client, Keys(KEY_PREFIX)).export())


def assert_permission_denied(call: Callable[[], Any], community: str) -> None:
    with pytest.raises(errors.HttpError) as caught:
        call()
    assert caught.value.status_code == 403
    error = json.loads(caught.value.content)["error"]
    assert error["code"] == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert caught.value.reason == f"The API key may not use community {community!r}."


@pytest.fixture
def sports_only(env: dict[str, str], redis_client: redis.Redis) -> Flask:
    """The submitter key limited to the site `sports`."""
    return create_app({**env, "MODERATION_KEY_SITES": f"{SUBMITTER_KEY_NAME}=sports"})


def test_the_client_reaches_this_app(sports_only: Flask) -> None:
    service = perspective(sports_only)
    assert service._rootDesc["rootUrl"] == "http://localhost/"
    assert service.comments().analyze(body=analyze_body("sports")).uri.startswith("http://localhost/v1alpha1/")


def test_a_key_limited_to_a_site_may_analyze_for_that_community(sports_only: Flask) -> None:
    response = perspective(sports_only).comments().analyze(body=analyze_body("sports")).execute()
    assert 0.0 <= response["attributeScores"]["TOXICITY"]["summaryScore"]["value"] <= 1.0


@pytest.mark.parametrize(
    ("community_id", "named"),
    [("politics", "politics"), (None, "default"), ("", "default"), ("Sports", "Sports"), ("!!!", "!!!")],
    ids=["another-site", "no-community", "empty-community", "case-differs", "cleans-to-nothing"],
)
def test_a_key_limited_to_a_site_gets_googles_403_for_any_other(
    sports_only: Flask, redis_client: redis.Redis, community_id: str | None, named: str
) -> None:
    comments = perspective(sports_only).comments()
    assert_permission_denied(lambda: comments.analyze(body=analyze_body(community_id)).execute(), named)
    assert_permission_denied(lambda: comments.suggestscore(body=suggest_body(community_id, "t")).execute(), named)
    assert feedback(redis_client) == []


def test_a_batch_answers_each_community_on_its_own(sports_only: Flask) -> None:
    service = perspective(sports_only)
    answers: dict[str, tuple[Any, Any]] = {}

    def callback(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = (response, exception)

    batch = service.new_batch_http_request(callback=callback)
    batch.add(service.comments().analyze(body=analyze_body("sports")), request_id="sports")
    batch.add(service.comments().analyze(body=analyze_body("politics")), request_id="politics")
    batch.execute()
    assert answers["sports"][1] is None
    assert "TOXICITY" in answers["sports"][0]["attributeScores"]
    refused = answers["politics"][1]
    assert isinstance(refused, errors.HttpError) and refused.status_code == 403


def test_an_unlimited_key_may_use_any_community(sports_only: Flask) -> None:
    comments = perspective(sports_only, key=SECRETS["admin"]).comments()
    for community in ("politics", None, "sports"):
        assert "TOXICITY" in comments.analyze(body=analyze_body(community)).execute()["attributeScores"]


@pytest.fixture
def mapped(env: dict[str, str], redis_client: redis.Redis) -> Flask:
    """Coral's community id mapped to the site `news`; the submitter key may use it and one cleaned id."""
    return create_app(
        {
            **env,
            "MODERATION_COMMUNITY_SITES": f"{CORAL_COMMUNITY}=news",
            "MODERATION_KEY_SITES": f"{SUBMITTER_KEY_NAME}=news|Sports-Desk|sports|default",
        }
    )


@pytest.mark.parametrize(
    ("community_id", "site"),
    [
        (CORAL_COMMUNITY, "news"),  # the deployment's mapping (cleaned, it would be `Coral:https:-news.example`)
        ("Sports Desk!", "Sports-Desk"),  # each run outside the id alphabet becomes `-`, none at either end
        ("sports", "sports"),  # an id already: itself
        (None, "default"),
    ],
    ids=["mapped", "cleaned", "as-is", "none"],
)
def test_suggestscore_labels_carry_the_communitys_site(
    mapped: Flask, redis_client: redis.Redis, community_id: str | None, site: str
) -> None:
    response = perspective(mapped).comments().suggestscore(body=suggest_body(community_id, "tok-7")).execute()
    assert response["clientToken"] == "tok-7"
    (label,) = feedback(redis_client)
    assert label.site == site
    assert label.community_id == community_id  # kept as the client sent it
    assert (label.source, label.attribute, label.value, label.client_token) == (
        "suggestscore",
        "TOXICITY",
        0.0,
        "tok-7",
    )
    assert list(FeedbackStore(redis_client, Keys(KEY_PREFIX)).export(site=site)) == [label]


def test_the_key_limit_applies_to_the_mapped_site_not_the_raw_id(
    env: dict[str, str], redis_client: redis.Redis
) -> None:
    cleaned = "Coral:https:-news.example"  # CORAL_COMMUNITY cleaned: the run `//` is one `-`, `:` is in the alphabet
    limited = {**env, "MODERATION_KEY_SITES": f"{SUBMITTER_KEY_NAME}={cleaned}"}
    # Unmapped, the community is its cleaned id, a site this key may use.
    unmapped = perspective(create_app(limited)).comments()
    unmapped.suggestscore(body=suggest_body(CORAL_COMMUNITY, "unmapped")).execute()
    assert [(label.site, label.client_token) for label in feedback(redis_client)] == [(cleaned, "unmapped")]
    # Mapped, it is `news`, which this key may not use.
    comments = perspective(create_app({**limited, "MODERATION_COMMUNITY_SITES": f"{CORAL_COMMUNITY}=news"})).comments()
    assert_permission_denied(
        lambda: comments.suggestscore(body=suggest_body(CORAL_COMMUNITY, "mapped")).execute(), CORAL_COMMUNITY
    )
    assert_permission_denied(lambda: comments.analyze(body=analyze_body(CORAL_COMMUNITY)).execute(), CORAL_COMMUNITY)
    assert [label.client_token for label in feedback(redis_client)] == ["unmapped"]
