"""Gunicorn configuration of the image: the same settings `moderation serve` and the end-to-end tests use."""

from service.gunicorn_conf import *  # noqa: F403
