"""Keys on the Perspective routes: where Google's clients put them, and Google's answers when they are wrong."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.conftest import SECRETS

BODY = json.dumps({"comment": {"text": "Nice piece."}, "requestedAttributes": {"TOXICITY": {}}})
ANALYZE = "/v1alpha1/comments:analyze"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        (f"?key={SECRETS['submitter']}", {}),
        (f"?key={SECRETS['admin']}", {}),
        ("", {"X-Goog-Api-Key": SECRETS["submitter"]}),
        ("", {"Authorization": f"Bearer {SECRETS['submitter']}"}),
        (f"?access_token={SECRETS['submitter']}", {}),
        (f"?oauth_token={SECRETS['submitter']}", {}),
    ],
    ids=["key-param", "admin-key", "x-goog-api-key", "bearer", "access_token", "oauth_token"],
)
def test_a_key_works_from_every_place_a_client_puts_it(
    client: FlaskClient, query: str, headers: dict[str, str]
) -> None:
    assert client.post(ANALYZE + query, data=BODY, headers=headers).status_code == 200


def test_the_query_key_wins_over_the_header(client: FlaskClient) -> None:
    response = client.post(f"{ANALYZE}?key=wrong", data=BODY, headers={"X-Goog-Api-Key": SECRETS["submitter"]})
    assert response.status_code == 400


def test_a_missing_key_is_403_permission_denied(client: FlaskClient) -> None:
    response = client.post(ANALYZE, data=BODY)
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["status"] == "PERMISSION_DENIED"
    assert "API Key" in error["message"]


def test_a_bad_key_is_400_api_key_invalid(client: FlaskClient) -> None:
    response = client.post(f"{ANALYZE}?key=not-a-key", data=BODY)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_a_moderator_key_may_not_score(client: FlaskClient) -> None:
    response = client.post(f"{ANALYZE}?key={SECRETS['moderator']}", data=BODY)
    assert response.status_code == 403
    assert response.get_json()["error"]["status"] == "PERMISSION_DENIED"


def test_the_key_is_checked_before_the_body(client: FlaskClient) -> None:
    assert client.post(f"{ANALYZE}?key=nope", data="{not json").status_code == 400
    assert client.post(ANALYZE, data="{not json").status_code == 403


def test_a_preflight_is_answered_for_browser_callers(client: FlaskClient) -> None:
    response = client.options(
        ANALYZE, headers={"Origin": "https://news.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "x-goog-api-key" in response.headers["Access-Control-Allow-Headers"]
