"""Checks every request passes before its view runs: authentication, roles, and a sane JSON body."""

from __future__ import annotations

import hmac
import json
import math
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import json5
from flask import Flask, current_app, g, request

from service import errors, rate_limit
from service.config import ApiKey, Role

F = TypeVar("F", bound=Callable[..., Any])

_BEARER = "bearer "


def requires(*roles: Role) -> Callable[[F], F]:
    """Mark a view as needing one of `roles`; admin passes every role check."""

    def mark(view: F) -> F:
        view.required_roles = frozenset(roles) | {Role.ADMIN}  # type: ignore[attr-defined]
        return view

    return mark


def reads_own_body(view: F) -> F:
    """Mark a view that parses and authenticates its request itself (the Perspective API's own contract)."""
    view.reads_own_body = True  # type: ignore[attr-defined]
    return view


def takes_csv(max_body_bytes: int) -> Callable[[F], F]:
    """Mark a view that also takes a `text/csv` body, and bodies up to `max_body_bytes` (a word list's terms)."""

    def mark(view: F) -> F:
        view.takes_csv = True  # type: ignore[attr-defined]
        view.max_body_bytes = max_body_bytes  # type: ignore[attr-defined]
        return view

    return mark


def body_optional(view: F) -> F:
    """Mark a view that a POST without a body may call (a claim for the default time, an undo)."""
    view.body_optional = True  # type: ignore[attr-defined]
    return view


def find_key(secret: str, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """Compare against every key in constant time, so timing tells nothing about which came close."""
    found = None
    candidate = secret.encode()
    for key in keys:
        if hmac.compare_digest(candidate, key.secret.encode()):
            found = key
    return found


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header, if the request has one."""
    header = request.headers.get("Authorization", "")
    token = header[len(_BEARER) :].strip() if header.lower().startswith(_BEARER) else ""
    return token or None


def authenticate() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    roles: frozenset[Role] | None = getattr(view, "required_roles", None)
    if roles is None:
        return
    token = bearer_token()
    if token is None:
        raise errors.Unauthorized("missing bearer token in the Authorization header")
    key = find_key(token, current_app.config["SETTINGS"].api_keys)
    if key is None:
        raise errors.Unauthorized("unknown API key")
    if key.role not in roles:
        raise errors.Forbidden(f"the {key.role.value} role may not use this route")
    g.api_key = key
    rate_limit.count_request(key)


_MAX_DEPTH = 16


# Every number must fit an IEEE 754 double, what most JSON parsers read numbers into (RFC 8259, section 6): a
# 5,000-digit integer would otherwise fail Python's int-to-str limit when it is parsed or serialised again, and a
# float that overflows would be stored as null. Integers in that range are kept exact.
_LARGEST_NUMBER = sys.float_info.max
_MAX_INTEGER_DIGITS = len(str(int(_LARGEST_NUMBER)))


class _NumberOutOfRange:
    """Stands in for a number too large to keep, so that `_check_values` can name the field that held it."""


_OUT_OF_RANGE = _NumberOutOfRange()


def _parse_int(literal: str, base: int = 10) -> int | _NumberOutOfRange:
    # The digits are counted before int() runs: converting a long literal costs time quadratic in its length.
    # `base` is 16 for JSON5's hexadecimal literals (0x1F), which the relaxed parser reads.
    if len(literal.lstrip("+-")) > _MAX_INTEGER_DIGITS:
        return _OUT_OF_RANGE
    value = int(literal, base)
    return value if abs(value) <= _LARGEST_NUMBER else _OUT_OF_RANGE


def _parse_float(literal: str) -> float | _NumberOutOfRange:
    value = float(literal)
    return value if math.isfinite(value) else _OUT_OF_RANGE


def _reject_constant(name: str) -> object:
    raise errors.InvalidJSON(f"request body is not valid JSON: {name} is not a JSON value")


def _check_values(value: object, path: str, depth: int = 0) -> None:
    """No lone surrogates (they cannot be stored as UTF-8), no number out of range and no pathological nesting."""
    if depth > _MAX_DEPTH:
        raise errors.InvalidJSON(f"request body is nested deeper than {_MAX_DEPTH} levels")
    if value is _OUT_OF_RANGE:
        raise errors.InvalidField(
            f"number is out of range: JSON numbers here must lie within ±{_LARGEST_NUMBER:.6g}", field=path or None
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.InvalidField("string holds a lone surrogate", field=path or None) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, path, depth + 1)
            _check_values(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{path}.{index}" if path else str(index), depth + 1)


def _discard_body(length: int, limit: int) -> None:
    """Read a modestly oversized body to its end, so that a kept-alive connection stays in step."""
    if length > 16 * limit:
        return
    stream = request.environ["wsgi.input"]
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            break
        length -= len(chunk)


# The relaxed parser is pure Python: past this size a body that is not strict JSON is refused instead.
_RELAXED_MAX_BYTES = 64 * 1024


def parse_json_object(raw: bytes, *, relaxed: bool = False) -> dict[str, Any]:
    """The body as a JSON object, or a clear 4xx. `relaxed` also reads JSON5 (unquoted keys, trailing commas),
    which the Perspective API's own curl sample sends."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidJSON("request body is not valid UTF-8") from None
    hooks: dict[str, Any] = {"parse_int": _parse_int, "parse_float": _parse_float, "parse_constant": _reject_constant}
    try:
        document = json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        if not relaxed or len(raw) > _RELAXED_MAX_BYTES:
            raise errors.InvalidJSON(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
        try:
            document = json5.loads(text, **hooks)
        except (ValueError, IndexError):
            raise errors.InvalidJSON(f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
        except RecursionError:
            raise errors.InvalidJSON("request body is nested too deeply") from None
    except RecursionError:
        raise errors.InvalidJSON("request body is nested too deeply") from None
    if not isinstance(document, dict):
        raise errors.InvalidField("request body must be a JSON object")
    _check_values(document, "")
    return document


def check_json_body() -> None:
    """Turn every way a body can be unreadable into a clear 4xx before validation sees it."""
    if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "reads_own_body", False):
        return
    limit = max(current_app.config["SETTINGS"].max_body_bytes, getattr(view, "max_body_bytes", 0))
    request.max_content_length = limit + 1  # one byte of slack, as the app's MAX_CONTENT_LENGTH
    if request.content_length is not None and request.content_length > limit:
        _discard_body(request.content_length, limit)
        raise errors.PayloadTooLarge(f"request body is larger than {limit} bytes")
    if getattr(view, "takes_csv", False) and request.mimetype == "text/csv":
        if len(request.get_data(cache=True)) > limit:
            raise errors.PayloadTooLarge(f"request body is larger than {limit} bytes")
        return
    if getattr(view, "body_optional", False) and not request.get_data(cache=True):
        return
    if not request.is_json:
        accepted = "application/json or text/csv" if getattr(view, "takes_csv", False) else "application/json"
        raise errors.UnsupportedMediaType(f"send the body as {accepted}")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise errors.PayloadTooLarge(f"request body is larger than {limit} bytes")
    parse_json_object(raw)


def init_app(app: Flask) -> None:
    app.before_request(authenticate)
    app.before_request(check_json_body)
