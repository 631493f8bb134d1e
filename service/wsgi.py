"""WSGI entry point for gunicorn: `service.wsgi:app`."""

import sys

from service import create_app
from service.errors import ModelUnavailable

try:
    app = create_app()
except ModelUnavailable as exc:
    # One line that says what to do; exit code 3 makes gunicorn stop instead of respawning.
    print(f"moderation: {exc}", file=sys.stderr, flush=True)
    sys.exit(3)
