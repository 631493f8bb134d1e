"""The moderator workspace page: static files, no data and no key of their own.

The page (GET /moderate) and its script and style sheet hold no data: they call the /v1 API with the key the
moderator pastes. Not part of the OpenAPI document. Every response carries a strict Content-Security-Policy: the
page runs only its own script and style sheet, and talks only to this origin.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, request

from service import errors

bp = Blueprint("workspace", __name__)

PACKAGE = "service.workspace"
PAGE_PATH = "/moderate"
PAGE = "moderate.html"
# The only files /moderate/static/ serves, with their media types.
STATIC_FILES = {
    "moderate.css": "text/css; charset=utf-8",
    "moderate.js": "text/javascript; charset=utf-8",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _file(name: str, mimetype: str) -> Response:
    body = files(PACKAGE).joinpath(name).read_bytes()
    response = Response(body, content_type=mimetype)
    # Small files: the browser asks again each time, so a new release shows at once.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get(PAGE_PATH)
def page() -> Response:
    return _file(PAGE, "text/html; charset=utf-8")


@bp.get(f"{PAGE_PATH}/static/<name>")
def static_file(name: str) -> Response:
    mimetype = STATIC_FILES.get(name)
    if mimetype is None:
        raise errors.NotFound("no such file")
    return _file(name, mimetype)


@bp.after_app_request
def _secure(response: Response) -> Response:
    """Every answer under /moderate, errors and paths no route matches included."""
    if request.path == PAGE_PATH or request.path.startswith(f"{PAGE_PATH}/"):
        response.headers.update(SECURITY_HEADERS)
    return response
