"""`POST /batch`: Google's multipart/mixed batch, as google-api-python-client's `new_batch_http_request()` sends it.

Each part is a whole HTTP request (`POST /v1alpha1/comments:analyze?key=K HTTP/1.1`, headers, JSON body). It is
run through this same app, so it is authenticated, rate-limited and answered exactly as it would be alone, and
its answer goes back as a part with `Content-ID: <response-{the part's id}>`.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets
from email.message import Message
from http import HTTPStatus
from urllib.parse import urlsplit

from flask import Response, current_app, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

from service import errors
from service.api.perspective import discovery

MAX_PARTS = 100
# Inner requests may reach these routes only: no batch inside a batch.
_ALLOWED_SUFFIXES = (f"/{discovery.ANALYZE_PATH}", f"/{discovery.SUGGEST_PATH}")


def _parts(body: bytes, content_type: str) -> list[Message]:
    if not content_type.lower().startswith("multipart/mixed") or "boundary=" not in content_type.lower():
        raise errors.InvalidArgument("A batch request must be multipart/mixed with a boundary.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise errors.InvalidArgument("A batch request must be multipart/mixed with a boundary.")
    parts = list(message.iter_parts()) if hasattr(message, "iter_parts") else message.get_payload()
    if not parts:
        raise errors.InvalidArgument("A batch request needs at least one part.")
    if len(parts) > MAX_PARTS:
        raise errors.InvalidArgument(f"A batch request may hold at most {MAX_PARTS} parts, not {len(parts)}.")
    return parts  # type: ignore[return-value]


def _inner_request(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """(method, target, headers, body) of an HTTP/1.1 request written with LF or CRLF line ends."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").split("\n")
    request_line = lines[0].split(" ")
    if len(request_line) < 2:
        raise ValueError("no request line")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return request_line[0].upper(), request_line[1], headers, body


def _run(raw: bytes) -> tuple[int, bytes, str]:
    """One inner request through the app: (status, body, content type)."""
    try:
        method, target, headers, body = _inner_request(raw)
    except ValueError:
        return _error(400, "Each part of a batch must hold an HTTP request.")
    url = urlsplit(target)
    if not url.path.endswith(_ALLOWED_SUFFIXES):
        return _error(404, f"A batch may hold comments:analyze and comments:suggestscore requests, not {url.path}.")
    headers.pop("Content-Length", None)
    environ = EnvironBuilder(
        path=url.path,
        query_string=url.query,
        method=method,
        headers=list(headers.items()),
        data=body,
        base_url=request.host_url,
        environ_base={"REMOTE_ADDR": request.remote_addr or ""},
    ).get_environ()
    app_iter, status, response_headers = run_wsgi_app(current_app.wsgi_app, environ)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return int(status.split(" ", 1)[0]), content, response_headers.get("Content-Type", "application/json")


def _error(status: int, message: str) -> tuple[int, bytes, str]:
    body = current_app.json.dumps({"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}})
    return status, body.encode(), "application/json; charset=UTF-8"


def _response_id(part: Message) -> str:
    given = str(part.get("Content-ID", "")).strip()
    return f"<response-{given[1:-1]}>" if given.startswith("<") and given.endswith(">") else f"<response-{given}>"


def answer(body: bytes, content_type: str) -> Response:
    """The multipart/mixed answer to a batch body, one part per inner request, in order."""
    boundary = f"batch_{secrets.token_hex(12)}"
    chunks = []
    for part in _parts(body, content_type):
        payload = part.get_payload(decode=True)
        status, content, inner_type = _run(payload if isinstance(payload, bytes) else b"")
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        chunks.append(
            (
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {_response_id(part)}\r\n\r\n"
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {inner_type}\r\n"
                f"Content-Length: {len(content)}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), content_type=f"multipart/mixed; boundary={boundary}")
