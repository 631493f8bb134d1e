"""Comment moderation service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `service.gunicorn_conf` can set PROMETHEUS_MULTIPROC_DIR before prometheus_client is imported.
    if name == "create_app":
        from service.app import create_app

        return create_app
    raise AttributeError(name)
