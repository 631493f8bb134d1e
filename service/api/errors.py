"""The one place where errors become `{"error": {"code", "message", "field"}}` responses."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from service import errors
from service.api.perspective import errors as perspective_errors


def error_response(error: errors.ServiceError) -> Response:
    response = jsonify({"error": error_body(error)})
    response.status_code = error.status
    response.headers.update(error.headers())
    return response


def error_body(error: errors.ServiceError) -> dict[str, object]:
    return {"code": error.code, "message": error.message, "field": error.field, **error.details()}


def validation_error_response(exc: ValidationError) -> Response:
    """flask-openapi3 calls this for any body, query or path model that fails validation."""
    return error_response(invalid_field(exc))


def invalid_field(exc: ValidationError, prefix: str = "") -> errors.InvalidField:
    """The first error of a model's validation, naming its field (under `prefix`)."""
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in (*filter(None, [prefix]), *first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "field required"
    described = f"{location}: {message}" if location else message
    return errors.InvalidField(described, field=location or None)


_HTTP_ERRORS: dict[int, type[errors.ServiceError]] = {
    400: errors.BadRequest,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
}


def register(app: Flask) -> None:
    @app.errorhandler(errors.ServiceError)
    def _service_error(error: errors.ServiceError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if error.response is not None:  # already a complete response (flask-openapi3 validation)
            return error.response  # type: ignore[return-value]
        if request.blueprint is None and perspective_errors.is_perspective_path(request.path):
            # No route matched (or not its method): a Perspective client still reads Google's shape.
            return perspective_errors.http_error_response(error)
        status = error.code or 500
        kind = _HTTP_ERRORS.get(status)
        if kind is None:
            response = error_response(errors.ServiceError(error.description or "error"))
            response.status_code = status
            return response
        message = {
            404: "no such route",
            405: "method not allowed on this route",
            413: "request body is larger than the limit",
        }.get(status, error.description or kind.code)
        response = error_response(kind(message))
        # A 405 names the methods the route has (RFC 9110); werkzeug put them on the exception.
        allow = dict(error.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(errors.ServiceError("internal error"))
