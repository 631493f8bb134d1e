"""Where a request finds the process-wide moderation service."""

from __future__ import annotations

from flask import Flask, current_app, g

from service.moderation import ModerationService

_EXTENSION = "moderation.service"


def init_app(app: Flask, service: ModerationService) -> None:
    app.extensions[_EXTENSION] = service


def get_moderation() -> ModerationService:
    service: ModerationService = current_app.extensions[_EXTENSION]
    return service


def caller_sites() -> frozenset[str] | None:
    """The sites the request's API key is limited to; None for a key that may use every site."""
    return get_moderation().sites_of(g.api_key.name)
