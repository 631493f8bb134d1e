"""Webhooks: which events a site's receiver is sent, and the signature that proves the service sent them.

A receiver is configured by the operator (`MODERATION_WEBHOOKS`) or through the admin API. Each request carries
`X-Moderation-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">` made with the webhook's secret: the time is
inside the signed bytes, so a receiver can refuse a replay of an old request (docs/webhooks.md shows how).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from service.event_types import EventType
from service.ids import ID_PATTERN

SIGNATURE_HEADER = "X-Moderation-Signature"
MIN_SECRET_CHARS = 16


class WebhookSpec(BaseModel):
    """Where a webhook posts, with what secret, which events and (optionally) which sites' events only."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(max_length=2048, description="An http:// or https:// URL the events are POSTed to")
    secret: SecretStr = Field(
        min_length=MIN_SECRET_CHARS, max_length=256, description="Signs each request; never shown again"
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EventType), description="The event types it is sent")
    sites: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        default=None, min_length=1, max_length=1000, description="Only these sites' events (default: every site)"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
            httpx.URL(value)  # what the worker will send to: no control characters, nothing it cannot encode
        except (ValueError, httpx.InvalidURL):
            raise ValueError("is not a URL the worker can send to (check the port and the characters)") from None
        return value

    # Strict bodies take no enum from a JSON string; the names are read here, and an unknown one is named.
    @field_validator("events", mode="before")
    @classmethod
    def _event_names(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        known = {t.value: t for t in EventType}
        chosen = [v if isinstance(v, EventType) else known.get(v) if isinstance(v, str) else None for v in value]
        if None in chosen:
            unknown = value[chosen.index(None)]
            raise ValueError(f"unknown event type {unknown!r}; one of {', '.join(known)}")
        if len(set(chosen)) != len(chosen):
            raise ValueError("an event type is listed twice")
        return chosen


class ConfiguredWebhook(WebhookSpec):
    """A webhook of `MODERATION_WEBHOOKS`: the name is optional there, and drawn from the URL without one."""

    name: str | None = Field(default=None, pattern=ID_PATTERN)


@dataclass(frozen=True)
class Webhook:
    name: str
    spec: WebhookSpec
    source: Literal["environment", "admin"]
    updated_at: str | None = None
    updated_by: str | None = None

    def wants(self, event_type: str, site: str) -> bool:
        sites = self.spec.sites
        return event_type in {e.value for e in self.spec.events} and (sites is None or site in sites)


def configured_name(entry: ConfiguredWebhook) -> str:
    """A stable name for an unnamed configured webhook: its delivery position is kept under it across restarts."""
    return entry.name or "env-" + hashlib.sha256(entry.url.encode()).hexdigest()[:12]


def parse_webhooks(raw: str) -> tuple[ConfiguredWebhook, ...]:
    """`MODERATION_WEBHOOKS`: a JSON list of `{"url", "secret", "events", "sites"?, "name"?}`."""
    try:
        entries = json.loads(raw) if raw.strip() else []
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(entries, list):
        raise ValueError('must be a JSON list of {"url", "secret", "events"} objects')
    hooks = tuple(ConfiguredWebhook.model_validate_json(json.dumps(entry)) for entry in entries)
    names = [configured_name(h) for h in hooks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two webhooks have the name {twice[0]!r} (give each its own `name`)")
    return hooks


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
