"""WSGI entry point for gunicorn: `service.wsgi:app`."""

import sys

from pydantic import ValidationError

from service import create_app
from service.config import describe_error
from service.errors import ModelUnavailable

# One line that says what to do; exit code 3 makes gunicorn stop instead of respawning.
try:
    app = create_app()
except ModelUnavailable as exc:
    print(f"moderation: {exc}", file=sys.stderr, flush=True)
    sys.exit(3)
except ValidationError as exc:
    print(f"moderation: {describe_error(exc)}", file=sys.stderr, flush=True)
    sys.exit(3)
