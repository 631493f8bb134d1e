"""The admin API's rules (site policies, word lists, key sites) through the Flask test client and a real Redis.

Every bad input is a 4xx naming its field and leaves the stored rules as they were.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service import create_app
from service.keys import Keys
from tests.conftest import KEY_PREFIX, auth

# Words no model flags: a decision that changes can only come from the list.
INNOCENT = "The thunderbolt parade starts at noon by the harbour."
OBFUSCATED = [
    "The T.H.U.N.D.E.R.B.O.L.T parade starts at noon.",
    "The thundérbolt parade starts at noon.",
    "The thund3rb0lt parade starts at noon.",
    "The t h u n d e r b o l t parade starts at noon.",
    "The THUNDERBOLT parade starts at noon.",
]


def put_list(client: FlaskClient, name: str, **body: Any) -> Any:
    return client.put(f"/v1/admin/wordlists/{name}", json=body, headers=auth("admin"))


def score(client: FlaskClient, text: str, site: str | None = None, role: str = "submitter") -> Any:
    item = {"text": text, **({"site": site} if site else {})}
    return client.post("/v1/score", json={"comments": [item]}, headers=auth(role))


def verdict(client: FlaskClient, text: str, site: str | None = None) -> dict[str, Any]:
    response = score(client, text, site)
    assert response.status_code == 200, response.get_json()
    result: dict[str, Any] = response.get_json()["results"][0]
    return result


def stored_rules(redis_client: redis.Redis) -> dict[str, Any]:
    keys = Keys(KEY_PREFIX)
    return {
        "version": redis_client.get(keys.rules_version()),
        "policies": redis_client.hgetall(keys.site_policies()),
        "wordlists": redis_client.hgetall(keys.wordlists()),
        "key_sites": redis_client.hgetall(keys.key_sites()),
    }


# --- policies -------------------------------------------------------------------------------------------------


def test_a_stored_policy_that_no_longer_fits_is_reported_not_applied(
    env: dict[str, str], redis_client: redis.Redis
) -> None:
    """The deployment's reject threshold moved below the site's review threshold: the site's policy cannot apply,
    verdicts use the deployment's, and the admin API says so instead of failing."""
    first = create_app(env).test_client()
    put = first.put("/v1/admin/sites/kids/policy", json={"review": {"toxicity": 0.8}}, headers=auth("admin"))
    assert put.status_code == 200, put.get_json()
    moved = create_app({**env, "MODERATION_REJECT_THRESHOLDS": "toxicity=0.78"}).test_client()
    body = moved.get("/v1/admin/sites/kids/policy", headers=auth("admin")).get_json()
    assert body["own"] is True and body["applies"] is False
    assert verdict(moved, INNOCENT, "kids")["policy"] == body["effective"]["version"]


def test_a_site_without_a_policy_reports_the_deployments(client: FlaskClient) -> None:
    response = client.get("/v1/admin/sites/sports/policy", headers=auth("admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["own"] is False and body["version"] is None
    assert body["effective"]["version"] == verdict(client, INNOCENT)["policy"]


def test_a_site_policy_is_versioned_and_decides_that_sites_comments(client: FlaskClient) -> None:
    first = client.put(
        "/v1/admin/sites/kids/policy", json={"review": {"toxicity": 0.01}}, headers=auth("admin")
    ).get_json()
    assert first["own"] is True and first["version"] == 1 and first["updated_by"] == "root"
    assert first["effective"]["review"]["toxicity"] == 0.01
    # A category left out keeps the deployment's threshold.
    deployment = client.get("/v1/admin/sites/other/policy", headers=auth("admin")).get_json()["effective"]
    assert first["effective"]["review"]["insult"] == deployment["review"]["insult"]

    kids = verdict(client, "That referee was a bit silly today.", "kids")
    assert kids["site"] == "kids" and kids["policy"] == first["effective"]["version"]
    assert kids["decision"] == "review" and "toxicity" in kids["flags"]

    second = client.put(
        "/v1/admin/sites/kids/policy", json={"review": {"toxicity": 0.99}, "reject": {"toxicity": 0.995}},
        headers=auth("admin"),
    ).get_json()
    assert second["version"] == 2
    again = verdict(client, "That referee was a bit silly today.", "kids")
    assert again["cached"] is True and again["policy"] == second["effective"]["version"] != kids["policy"]
    assert "toxicity" not in again["flags"]

    assert client.delete("/v1/admin/sites/kids/policy", headers=auth("admin")).status_code == 204
    assert verdict(client, "That referee was a bit silly today.", "kids")["policy"] == deployment["version"]
    assert client.delete("/v1/admin/sites/kids/policy", headers=auth("admin")).status_code == 404


def test_two_sites_decide_one_cached_score_differently(client: FlaskClient) -> None:
    client.put("/v1/admin/sites/strict/policy", json={"review": {"toxicity": 0.0}}, headers=auth("admin"))
    text = "What a ridiculous take on the council budget."
    lenient = verdict(client, text, "lenient")
    strict = verdict(client, text, "strict")
    assert strict["cached"] is True and strict["scores"] == lenient["scores"]
    assert (lenient["site"], strict["site"]) == ("lenient", "strict")
    assert lenient["policy"] != strict["policy"]
    assert strict["decision"] == "review" and lenient["decision"] == "allow"


def test_a_site_can_switch_conspiracy_off(client: FlaskClient) -> None:
    text = "the new mayor is a cia puppet and the speech was for public consumption"
    assert "conspiracy" in verdict(client, text, "news")["flags"]
    categories = ["toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
    response = client.put("/v1/admin/sites/sport/policy", json={"categories": categories}, headers=auth("admin"))
    assert response.status_code == 200, response.get_json()
    sport = verdict(client, text, "sport")
    assert "conspiracy" not in sport["flags"] and sport["decision"] == "allow"
    assert sport["scores"]["conspiracy"] >= 0.5  # still scored and shown, only not counted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"review": {"toxicity": 1.5}}, "review.toxicity"),
        ({"review": {"toxicity": -0.1}}, "review.toxicity"),
        ({"reject": {"toxicity": "high"}}, "reject.toxicity"),
        ({"review": {"nonsense": 0.5}}, "review"),
        ({"categories": ["toxicity", "rudeness"]}, "categories"),
        ({"unsupported_language": "ignore"}, "unsupported_language"),
        ({"review": {"toxicity": 0.9}, "reject": {"toxicity": 0.5}}, "reject"),
        ({"thresholds": {}}, "thresholds"),
    ],
)
def test_a_bad_policy_names_its_field_and_stores_nothing(
    client: FlaskClient, redis_client: redis.Redis, body: dict[str, Any], field: str
) -> None:
    before = stored_rules(redis_client)
    response = client.put("/v1/admin/sites/kids/policy", json=body, headers=auth("admin"))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert stored_rules(redis_client) == before


def test_only_admins_manage_rules(client: FlaskClient) -> None:
    for role in ("submitter", "moderator"):
        assert client.get("/v1/admin/wordlists", headers=auth(role)).status_code == 403
        response = client.put("/v1/admin/sites/a/policy", json={}, headers=auth(role))
        assert response.status_code == 403
    assert client.get("/v1/admin/keys").status_code == 401


# --- word lists -----------------------------------------------------------------------------------------------


def test_a_reject_list_rejects_with_evidence_at_the_original_offsets(client: FlaskClient) -> None:
    assert verdict(client, INNOCENT)["decision"] == "allow"
    response = put_list(client, "banned", action="reject", terms=["thunderbolt"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1 and response.get_json()["term_count"] == 1
    for text in [INNOCENT, *OBFUSCATED]:
        result = verdict(client, text)
        assert result["decision"] == "reject", text
        assert result["flags"][-1] == "wordlist"
        (span,) = result["evidence"]["wordlist"]
        assert span["cue"] == "wordlist:banned"
        assert text[span["start"] : span["end"]] == span["text"]
        assert span["text"].replace(".", "").replace(" ", "").lower() in {"thunderbolt", "thundérbolt", "thund3rb0lt"}


def test_a_review_list_holds_and_an_allow_list_exempts(client: FlaskClient) -> None:
    put_list(client, "suspect", action="review", terms=["*bolt*"])
    held = verdict(client, INNOCENT)
    assert held["decision"] == "review" and held["flags"] == ["wordlist"]
    put_list(client, "places", action="allow", terms=["thunderbolt"])
    assert verdict(client, INNOCENT)["decision"] == "allow"
    assert verdict(client, "A boltcutter went missing.")["decision"] == "review"


def test_a_list_applies_to_its_sites_and_language_only(client: FlaskClient) -> None:
    put_list(client, "sport-words", action="reject", terms=["thunderbolt"], sites=["sport"], language="en")
    assert verdict(client, INNOCENT, "sport")["decision"] == "reject"
    assert verdict(client, INNOCENT, "politics")["decision"] == "allow"
    assert verdict(client, INNOCENT)["decision"] == "allow"
    put_list(client, "sport-words", action="reject", terms=["thunderbolt"], sites=["sport"], language="de")
    assert verdict(client, INNOCENT, "sport")["decision"] == "allow"


def test_lists_are_read_replaced_and_removed(client: FlaskClient) -> None:
    put_list(client, "banned", action="reject", terms=["thunderbolt", "hailstorm"])
    put_list(client, "suspect", action="review", terms=["drizzle"])
    listed = client.get("/v1/admin/wordlists", headers=auth("admin")).get_json()["wordlists"]
    assert [(w["name"], w["term_count"]) for w in listed] == [("banned", 2), ("suspect", 1)]
    assert all("terms" not in w for w in listed)

    replaced = put_list(client, "banned", action="review", terms=["sleet"]).get_json()
    assert replaced["version"] == 2 and replaced["terms"] == ["sleet"]
    assert verdict(client, INNOCENT)["decision"] == "allow"  # nothing of the old list is left

    assert client.delete("/v1/admin/wordlists/banned", headers=auth("admin")).status_code == 204
    assert client.get("/v1/admin/wordlists/banned", headers=auth("admin")).status_code == 404
    assert client.delete("/v1/admin/wordlists/banned", headers=auth("admin")).status_code == 404


def test_csv_import_and_export(client: FlaskClient) -> None:
    csv_body = "term,note\nthunderbolt,weather\n\"hail, storm\",with a comma\n"
    response = client.put(
        "/v1/admin/wordlists/imported?action=reject&sites=sport,news",
        data=csv_body.encode(),
        headers={**auth("admin"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["terms"] == ["thunderbolt", "hail, storm"] and body["sites"] == ["sport", "news"]
    exported = client.get("/v1/admin/wordlists/imported", headers={**auth("admin"), "Accept": "text/csv"})
    assert exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).splitlines() == ["term", "thunderbolt", '"hail, storm"']

    # One term a line; the list's action and sites stay when the query names none.
    plain = client.put(
        "/v1/admin/wordlists/imported",
        data=b"sleet\n\ndrizzle\n",
        headers={**auth("admin"), "Content-Type": "text/csv"},
    ).get_json()
    assert plain["terms"] == ["sleet", "drizzle"] and plain["action"] == "reject"
    assert plain["sites"] == ["sport", "news"] and plain["version"] == 2


def test_the_test_route_shows_matches_and_the_decision_they_cause(client: FlaskClient) -> None:
    put_list(client, "banned", action="reject", terms=["thunderbolt"])
    put_list(client, "suspect", action="review", terms=["parade"], sites=["news"])
    response = client.post(
        "/v1/admin/wordlists/test", json={"text": OBFUSCATED[0], "site": "news"}, headers=auth("admin")
    )
    body = response.get_json()
    assert body["decision"] == "reject"
    assert [(m["list"], m["action"], m["text"]) for m in body["matches"]] == [
        ("banned", "reject", "T.H.U.N.D.E.R.B.O.L.T"),
        ("suspect", "review", "parade"),
    ]
    other = client.post("/v1/admin/wordlists/test", json={"text": "A parade.", "site": "sport"}, headers=auth("admin"))
    assert other.get_json() == {"matches": [], "decision": None}


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("banned", {"action": "reject", "terms": ["fine", ""]}, "terms.1"),
        ("banned", {"action": "reject", "terms": ["   "]}, "terms.0"),
        ("banned", {"action": "reject", "terms": ["ok", "* *"]}, "terms.1"),
        ("banned", {"action": "reject", "terms": ["x" * 101]}, "terms.0"),
        ("banned", {"action": "reject", "terms": [f"w{i}" for i in range(50_001)]}, "terms.50000"),
        ("banned", {"action": "block", "terms": ["thunderbolt"]}, "action"),
        ("banned", {"action": "reject", "terms": ["thunderbolt"], "sites": ["a site"]}, "sites.0"),
        ("banned", {"action": "reject", "terms": ["thunderbolt"], "language": "english"}, "language"),
        ("banned", {"action": "reject"}, "terms"),
        ("bad%20name", {"action": "reject", "terms": ["thunderbolt"]}, "name"),
    ],
)
def test_a_bad_list_names_its_field_and_stores_nothing(
    client: FlaskClient, redis_client: redis.Redis, name: str, body: dict[str, Any], field: str
) -> None:
    put_list(client, "banned", action="review", terms=["drizzle"])
    before = stored_rules(redis_client)
    headers = {**auth("admin"), "Content-Type": "application/json"}
    response = client.put(f"/v1/admin/wordlists/{name}", data=json.dumps(body), headers=headers)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert stored_rules(redis_client) == before
    assert verdict(client, "A drizzle.")["decision"] == "review"  # the stored list still decides


def test_a_bad_csv_names_its_field_and_stores_nothing(client: FlaskClient, redis_client: redis.Redis) -> None:
    before = stored_rules(redis_client)
    csv_headers = {**auth("admin"), "Content-Type": "text/csv"}
    cases = [
        ("/v1/admin/wordlists/l?action=reject", "thunderbolt\ncaf\xe9\n".encode("latin-1"), "body"),
        ("/v1/admin/wordlists/l", b"thunderbolt\n", "action"),
        ("/v1/admin/wordlists/l?action=reject&sites=a%20b", b"thunderbolt\n", "sites"),
        ("/v1/admin/wordlists/l?action=reject", b"term\nfine\n***\n", "terms.1"),
    ]
    for url, data, field in cases:
        response = client.put(url, data=data, headers=csv_headers)
        assert response.status_code == 422, (url, response.get_json())
        assert response.get_json()["error"]["field"] == field, url
    assert client.put("/v1/admin/wordlists/l", data=b"x", headers={**auth("admin"), "Content-Type": "text/plain"})\
        .status_code == 415  # fmt: skip
    assert stored_rules(redis_client) == before


# --- keys -----------------------------------------------------------------------------------------------------


def test_key_sites_set_through_the_admin_api_limit_the_key(client: FlaskClient) -> None:
    assert score(client, INNOCENT, "sport").status_code == 200
    response = client.put("/v1/admin/keys/site/sites", json={"sites": ["news"]}, headers=auth("admin"))
    assert response.get_json() == {"name": "site", "role": "submitter", "sites": ["news"], "source": "admin"}
    refused = score(client, INNOCENT, "sport")
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "comments.0.site"
    assert score(client, INNOCENT, "news").status_code == 200
    listed = client.get("/v1/admin/keys", headers=auth("admin")).get_json()["keys"]
    assert {k["name"]: k["sites"] for k in listed} == {"site": ["news"], "mod-ann": None, "root": None}
    assert all("secret" not in json.dumps(k) for k in listed)

    assert client.delete("/v1/admin/keys/site/sites", headers=auth("admin")).status_code == 204
    assert score(client, INNOCENT, "sport").status_code == 200
    assert client.put("/v1/admin/keys/nobody/sites", json={"sites": ["a"]}, headers=auth("admin")).status_code == 404
