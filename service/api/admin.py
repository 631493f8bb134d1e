"""The operator's rules, for admin keys: site policies, word lists, and the sites each API key may use.

Each change is stored in Redis and reaches every worker within MODERATION_RULES_REFRESH_SECONDS (this worker at
once); no restart.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import ValidationError
from werkzeug.routing import BaseConverter

from service import errors
from service.api.context import get_moderation
from service.api.errors import invalid_field
from service.api.guard import parse_json_object, requires, takes_csv
from service.api.schemas import (
    EffectivePolicy,
    KeyPath,
    KeySitesIn,
    KeySitesOut,
    KeysOut,
    PolicyIn,
    PolicyOut,
    SitePath,
    WordListCsvQuery,
    WordListIn,
    WordListOut,
    WordListPath,
    WordListsOut,
    WordListTestIn,
    WordListTestOut,
    responses,
)
from service.config import Role
from service.ids import is_id
from service.policy import Policy
from service.rules import policy_in_force, site_policy
from service.scoring.normalize import normalize
from service.store.connection import unavailable_as_503
from service.store.rules import StoredPolicy, StoredWordList
from service.wordlists import MAX_TERM_CHARS, MAX_TERMS, TermError, WordList, clean_terms, terms_from_csv, terms_to_csv

bp = APIBlueprint(
    "admin", __name__, url_prefix="/v1/admin", abp_tags=[Tag(name="admin")], abp_security=[{"bearer": []}]
)


class WordListName(BaseConverter):
    """A list's name in a URL: any id but `test`, which names the route that tries the lists on a text."""

    # Refused in the pattern itself: werkzeug then never counts this rule for /wordlists/test, nor its methods in
    # that path's Allow header. Any other name reaches the view, whose path model names a bad one (422).
    regex = r"(?!test(?:/|$))[^/]+"


# 50,000 terms of up to 100 characters, as JSON strings with their quotes and commas.
WORDLIST_MAX_BODY_BYTES = MAX_TERMS * (MAX_TERM_CHARS + 4) + 64 * 1024


def _effective(policy: Policy) -> EffectivePolicy:
    return EffectivePolicy(
        version=policy.version,
        review=policy.review,
        reject=policy.reject,
        categories=sorted(policy.categories) if policy.categories is not None else None,
        unsupported_language=policy.unsupported_language.value,
    )


def _policy_out(site: str, stored: StoredPolicy | None) -> Response:
    rules = get_moderation().rules.current()
    policy, applies = policy_in_force(rules.base, stored) if stored is not None else (rules.base, False)
    out = PolicyOut(
        site=site,
        own=stored is not None,
        applies=applies,
        version=stored.version if stored else None,
        updated_at=stored.updated_at if stored else None,
        updated_by=stored.updated_by if stored else None,
        document=stored.document if stored else None,
        effective=_effective(policy),
    )
    return jsonify(out.model_dump(mode="json"))


@bp.get(
    "/sites/<site>/policy",
    summary="A site's policy: its own, if it has one, and the thresholds in force",
    responses=responses({200: PolicyOut}, 401, 403, 422, 503),
)
@requires(Role.ADMIN)
def get_policy(path: SitePath) -> Response:
    with unavailable_as_503():
        snapshot = get_moderation().rules.store.snapshot()
        return _policy_out(path.site, snapshot.policies.get(path.site))


@bp.put(
    "/sites/<site>/policy",
    summary="Set a site's policy (a new version); a category it leaves out keeps the deployment's threshold",
    responses=responses({200: PolicyOut}, 400, 401, 403, 413, 415, 422, 503),
)
@requires(Role.ADMIN)
def put_policy(path: SitePath, body: PolicyIn) -> Response:
    document = body.model_dump(mode="json", exclude_none=True)
    service = get_moderation()
    with unavailable_as_503():
        base = service.rules.current().base
        try:  # checked whole before anything is stored
            site_policy(base, StoredPolicy(path.site, document, 0, "", ""))
        except ValueError as exc:
            message = f"reject: {str(exc).removeprefix('policy: ')} (set reject too, or a lower review)"
            raise errors.InvalidField(message, field="reject") from None
        stored = service.rules.store.put_policy(path.site, document, g.api_key.name)
        service.rules.reload()
        return _policy_out(path.site, stored)


@bp.delete(
    "/sites/<site>/policy",
    summary="Remove a site's own policy: the deployment's applies again",
    responses=responses({204: None}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def delete_policy(path: SitePath) -> tuple[str, int]:
    service = get_moderation()
    with unavailable_as_503():
        if not service.rules.store.delete_policy(path.site):
            raise errors.NotFound(f"site {path.site!r} has no policy of its own", field="site")
        service.rules.reload()
    return "", 204


def _wordlist_out(stored: StoredWordList, *, with_terms: bool = True) -> dict[str, Any]:
    out = WordListOut.model_validate(stored.as_json(with_terms=with_terms)).model_dump(mode="json")
    if not with_terms:
        del out["terms"]
    return out


@bp.get(
    "/wordlists",
    summary="Every word list, without its terms",
    responses=responses({200: WordListsOut}, 401, 403, 503),
)
@requires(Role.ADMIN)
def list_wordlists() -> Response:
    with unavailable_as_503():
        stored = get_moderation().rules.store.snapshot().wordlists
    return jsonify({"wordlists": [_wordlist_out(stored[name], with_terms=False) for name in sorted(stored)]})


def _stored_wordlist(name: str) -> StoredWordList:
    stored = get_moderation().rules.store.snapshot().wordlists.get(name)
    if stored is None:
        raise errors.NotFound(f"no word list named {name!r}", field="name")
    return stored


@bp.get(
    "/wordlists/<wordlist:name>",
    summary="One word list with its terms; `Accept: text/csv` exports the terms as CSV",
    responses=responses({200: WordListOut}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def get_wordlist(path: WordListPath) -> Response:
    with unavailable_as_503():
        stored = _stored_wordlist(path.name)
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        return Response(terms_to_csv(stored.wordlist.terms), mimetype="text/csv")
    return jsonify(_wordlist_out(stored))


def _terms(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    try:
        return clean_terms(raw)
    except TermError as exc:
        raise errors.InvalidField(str(exc), field="terms" if exc.index is None else f"terms.{exc.index}") from None


def _wordlist_from_csv(name: str, query: WordListCsvQuery) -> WordList:
    try:
        terms = terms_from_csv(request.get_data(cache=True))
    except TermError as exc:
        field = "body" if exc.index is None else f"terms.{exc.index}"
        raise errors.InvalidField(str(exc), field=field) from None
    current = get_moderation().rules.store.snapshot().wordlists.get(name)
    action = query.action or (current.wordlist.action if current else None)
    if action is None:
        raise errors.InvalidField("action: a new list sent as CSV needs ?action=reject|review|allow", field="action")
    sites = current.wordlist.sites if current else None
    if query.sites is not None:
        sites = tuple(filter(None, (site.strip() for site in query.sites.split(","))))
        bad = next((site for site in sites if not is_id(site)), None)
        if bad is not None or not sites:
            raise errors.InvalidField(f"sites: {bad!r} is not a site id", field="sites")
    language = query.language or (current.wordlist.language if current else None)
    return WordList(name=name, action=action, terms=terms, sites=sites, language=language)


@bp.put(
    "/wordlists/<wordlist:name>",
    summary="Replace a word list whole (JSON, or CSV of terms with ?action=, ?sites=, ?language=)",
    description="A JSON body: `{action, terms, sites?, language?}`. A `text/csv` body: one term a line, or a "
    "`term` column; the action, sites and language come from the query, else from the list it replaces.",
    responses=responses({200: WordListOut}, 400, 401, 403, 413, 415, 422, 503),
    # The view reads its body itself (JSON or CSV), so the document states both here.
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": WordListIn.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
@requires(Role.ADMIN)
@takes_csv(WORDLIST_MAX_BODY_BYTES)
def put_wordlist(path: WordListPath, query: WordListCsvQuery) -> Response:
    service = get_moderation()
    with unavailable_as_503():
        if request.mimetype == "text/csv":
            wordlist = _wordlist_from_csv(path.name, query)
        else:
            try:
                body = WordListIn.model_validate(parse_json_object(request.get_data(cache=True)))
            except ValidationError as exc:
                raise invalid_field(exc) from None
            sites = tuple(body.sites) if body.sites is not None else None
            wordlist = WordList(path.name, body.action, _terms(body.terms), sites, body.language)
        stored = service.rules.store.put_wordlist(wordlist, g.api_key.name)
        service.rules.reload()
    return jsonify(_wordlist_out(stored))


@bp.delete(
    "/wordlists/<wordlist:name>",
    summary="Remove a word list",
    responses=responses({204: None}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def delete_wordlist(path: WordListPath) -> tuple[str, int]:
    service = get_moderation()
    with unavailable_as_503():
        if not service.rules.store.delete_wordlist(path.name):
            raise errors.NotFound(f"no word list named {path.name!r}", field="name")
        service.rules.reload()
    return "", 204


@bp.post(
    "/wordlists/test",
    summary="The word lists' matches in a text, for a site, and the decision they alone would cause",
    responses=responses({200: WordListTestOut}, 400, 401, 403, 413, 415, 422, 503),
)
@requires(Role.ADMIN)
def test_wordlists(body: WordListTestIn) -> Response:
    with unavailable_as_503():
        rules = get_moderation().rules.current()
    found = rules.matcher.matches(normalize(body.text), body.site, body.language)
    actions = {match.action for match in found}
    decision = "reject" if "reject" in actions else "review" if actions else None
    matches = [
        {"list": m.list_name, "action": m.action, "term": m.term, "start": m.start, "end": m.end, "text": m.text}
        for m in found
    ]
    return jsonify({"matches": matches, "decision": decision})


def _key_out(name: str, role: str, admin_sites: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    environment = current_app.config["SETTINGS"].key_sites
    if name in admin_sites:
        return {"name": name, "role": role, "sites": sorted(admin_sites[name]), "source": "admin"}
    if name in environment:
        return {"name": name, "role": role, "sites": sorted(environment[name]), "source": "environment"}
    return {"name": name, "role": role, "sites": None, "source": "none"}


def _key_role(name: str) -> str:
    key = next((k for k in current_app.config["SETTINGS"].api_keys if k.name == name), None)
    if key is None:
        raise errors.NotFound(f"no API key named {name!r}", field="name")
    return str(key.role.value)


@bp.get(
    "/keys",
    summary="The API keys (names and roles, never secrets) and the sites each may use",
    responses=responses({200: KeysOut}, 401, 403, 503),
)
@requires(Role.ADMIN)
def list_keys() -> Response:
    with unavailable_as_503():
        limits = get_moderation().rules.store.snapshot().key_sites
    keys = current_app.config["SETTINGS"].api_keys
    return jsonify({"keys": [_key_out(k.name, k.role.value, limits) for k in keys]})


@bp.put(
    "/keys/<name>/sites",
    summary="Limit an API key to sites (replaces MODERATION_KEY_SITES for that key)",
    responses=responses({200: KeySitesOut}, 400, 401, 403, 404, 413, 415, 422, 503),
)
@requires(Role.ADMIN)
def put_key_sites(path: KeyPath, body: KeySitesIn) -> Response:
    role = _key_role(path.name)
    service = get_moderation()
    with unavailable_as_503():
        service.rules.store.put_key_sites(path.name, tuple(dict.fromkeys(body.sites)))
        rules = service.rules.reload()
    return jsonify(_key_out(path.name, role, rules.stored.key_sites if rules.stored else {}))


@bp.delete(
    "/keys/<name>/sites",
    summary="Remove the limit set through the admin API (MODERATION_KEY_SITES applies again, if it names the key)",
    responses=responses({204: None}, 401, 403, 404, 422, 503),
)
@requires(Role.ADMIN)
def delete_key_sites(path: KeyPath) -> tuple[str, int]:
    _key_role(path.name)
    service = get_moderation()
    with unavailable_as_503():
        if not service.rules.store.delete_key_sites(path.name):
            raise errors.NotFound(f"key {path.name!r} has no limit set through the admin API", field="name")
        service.rules.reload()
    return "", 204
