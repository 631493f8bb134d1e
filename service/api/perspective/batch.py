"""`POST /batch`: Google's multipart/mixed batch, as google-api-python-client's `new_batch_http_request()` sends it.

Each part is a whole HTTP request (`POST /v1alpha1/comments:analyze?key=K HTTP/1.1`, headers, JSON body). It is
run through this same app, so it is authenticated, rate-limited and answered exactly as it would be alone, and
its answer goes back as a part with `Content-ID: <response-{the part's id}>`.

The body is split on its boundary here rather than by the `email` package, whose parser recurses into nested
multiparts: an unauthenticated request nested a thousand deep cost it seconds and then a RecursionError.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.http import parse_options_header
from werkzeug.test import EnvironBuilder, run_wsgi_app

from service import errors
from service.api.perspective import discovery
from service.api.perspective.errors import google_error

MAX_PARTS = 100
# Inner requests may reach these routes only: no batch inside a batch.
_ALLOWED_SUFFIXES = (f"/{discovery.ANALYZE_PATH}", f"/{discovery.SUGGEST_PATH}")
_NOT_MULTIPART = "A batch request must be multipart/mixed with a boundary."


def _split_head(raw: bytes) -> tuple[list[str], bytes]:
    """Header lines and body of a MIME part or an HTTP message, with CRLF or LF line ends (the body untouched)."""
    ends = [(index, separator) for separator in (b"\r\n\r\n", b"\n\n") if (index := raw.find(separator)) >= 0]
    head, body = raw, b""
    if ends:
        index, separator = min(ends)
        head, body = raw[:index], raw[index + len(separator) :]
    return head.decode("utf-8", "replace").replace("\r\n", "\n").split("\n"), body


def _headers(lines: list[str]) -> Headers:
    headers = Headers()
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.add(name.strip(), value.strip())
    return headers


def _parts(body: bytes, content_type: str) -> list[tuple[Headers, bytes]]:
    """Each part's headers and body, in order."""
    kind, options = parse_options_header(content_type)
    boundary = options.get("boundary")
    if kind != "multipart/mixed" or not boundary:
        raise errors.InvalidArgument(_NOT_MULTIPART)
    delimiter = f"--{boundary}".encode()
    chunks = body.split(delimiter)
    # chunks[0] is the preamble; the close delimiter's chunk starts with "--".
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        lines, content = _split_head(chunk.removeprefix(b"\r\n").removeprefix(b"\n"))
        parts.append((_headers(lines), content.removesuffix(b"\r\n").removesuffix(b"\n")))
        if len(parts) > MAX_PARTS:
            raise errors.InvalidArgument(f"A batch request may hold at most {MAX_PARTS} parts.")
    if not parts:
        raise errors.InvalidArgument("A batch request needs at least one part.")
    return parts


def _run(raw: bytes) -> tuple[int, bytes, str]:
    """One inner request through the app, in an app context of its own: (status, body, content type)."""
    lines, body = _split_head(raw)
    request_line = lines[0].split(" ")
    if len(request_line) < 2:
        return _error(400, "Each part of a batch must hold an HTTP request.")
    method, target = request_line[0].upper(), request_line[1]
    url = urlsplit(target)
    if not url.path.endswith(_ALLOWED_SUFFIXES):
        return _error(404, f"A batch may hold comments:analyze and comments:suggestscore requests, not {url.path}.")
    headers = _headers(lines[1:])
    headers.remove("Content-Length")  # the body's own length is what counts
    environ = EnvironBuilder(
        path=url.path,
        query_string=url.query,
        method=method,
        headers=headers,
        data=body,
        base_url=request.host_url,
        environ_base={"REMOTE_ADDR": request.remote_addr or ""},
    ).get_environ()
    # A fresh `g` for the inner request: it would otherwise share the outer one's request id and timer.
    with current_app.app_context():
        app_iter, status, response_headers = run_wsgi_app(current_app.wsgi_app, environ)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
    return int(status.split(" ", 1)[0]), content, response_headers.get("Content-Type", "application/json")


def _error(status: int, message: str) -> tuple[int, bytes, str]:
    response = google_error(status, message)
    return status, response.get_data(), response.content_type


def _response_id(headers: Headers) -> str:
    given = headers.get("Content-ID", "").strip()
    inner = given[1:-1] if given.startswith("<") and given.endswith(">") else given
    return f"<response-{inner}>"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def answer(body: bytes, content_type: str) -> Response:
    """The multipart/mixed answer to a batch body, one part per inner request, in order."""
    boundary = f"batch_{secrets.token_hex(12)}"
    chunks = []
    for headers, payload in _parts(body, content_type):
        status, content, inner_type = _run(payload)
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {_response_id(headers)}\r\n\r\n"
                f"HTTP/1.1 {status} {_reason(status)}\r\nContent-Type: {inner_type}\r\n"
                f"Content-Length: {len(content)}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), content_type=f"multipart/mixed; boundary={boundary}")
