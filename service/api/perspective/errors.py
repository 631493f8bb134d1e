"""The one place where errors on the Perspective routes become Google's error body.

`{"error": {"code": <http status>, "message": ..., "status": <RPC code name>, "details": [...]}}`: clients read
`error.message` (google-api-python-client's HttpError.reason) and branch on Perspective's `errorType` detail.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from werkzeug.exceptions import HTTPException

from service import errors
from service.api.perspective.discovery import API_VERSION

_SERVICE = "commentanalyzer.googleapis.com"
ERROR_DETAIL_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

# HTTP status -> google.rpc.Code name, as Google's front end maps them.
_RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(status: int, message: str, details: list[dict[str, object]] | None = None) -> Response:
    body: dict[str, object] = {"code": status, "message": message, "status": _RPC_STATUS.get(status, "UNKNOWN")}
    if details:
        body["details"] = details
    return current_app.response_class(
        current_app.json.dumps({"error": body}), status=status, content_type="application/json; charset=UTF-8"
    )


def _quota_limit(error: errors.RateLimited) -> str:
    return f"Analysis requests (AnalyzeComment) per {error.per}"


def _details(error: errors.ServiceError) -> list[dict[str, object]]:
    if isinstance(error, errors.InvalidArgument):
        if error.error_type is None:
            return []
        return [{"@type": ERROR_DETAIL_TYPE, "errorType": error.error_type, **error.detail}]
    if isinstance(error, errors.InvalidApiKey):
        return [
            {
                "@type": _ERROR_INFO_TYPE,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": _SERVICE},
            }
        ]
    if isinstance(error, errors.RateLimited):
        return [
            {
                "@type": _ERROR_INFO_TYPE,
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": _SERVICE,
                    "consumer": error.consumer,
                    "quota_limit": _quota_limit(error),
                    "quota_limit_value": str(error.amount),
                    "quota_metric": "CommentAnalyzerService/analyze_requests",
                    "quota_location": "global",
                },
            }
        ]
    return []


def _message(error: errors.ServiceError) -> str:
    if isinstance(error, errors.RateLimited):
        # Google's wording: clients match "Quota exceeded" and read the limit from it.
        return (
            "Quota exceeded for quota metric 'Analysis requests (AnalyzeComment)' and limit "
            f"'{_quota_limit(error)}' of service '{_SERVICE}' for consumer '{error.consumer}'."
        )
    return error.message


def _service_error_response(error: errors.ServiceError) -> Response:
    response = google_error(400 if error.status == 422 else error.status, _message(error), _details(error))
    response.headers.update(error.headers())
    return response


def http_error_response(error: HTTPException) -> Response:
    """A routing or protocol error (404, 405, 413) on a Perspective path, in Google's shape."""
    status = error.code or 500
    if status == 413:
        limit = current_app.config["SETTINGS"].max_body_bytes
        return google_error(400, f"Request payload size exceeds the limit: {limit} bytes.")
    response = google_error(status, error.description or "error")
    allow = dict(error.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def is_perspective_path(path: str) -> bool:
    """Whether a path that matched no route (or not its method) is one a Perspective client would call."""
    return f"/{API_VERSION}/" in path or path.endswith(("/batch", "/$discovery/rest"))


def register(bp: Blueprint) -> None:
    @bp.errorhandler(errors.ServiceError)
    def _service_error(error: errors.ServiceError) -> Response:
        return _service_error_response(error)

    @bp.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        return http_error_response(error)

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        current_app.logger.exception("unhandled error")
        return google_error(500, "Internal error encountered.")
