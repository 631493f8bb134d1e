"""The one place where errors on the Perspective routes become Google's error body.

`{"error": {"code": <http status>, "message": ..., "status": <RPC code name>, "details": [...]}}`: clients read
`error.message` (google-api-python-client's HttpError.reason) and branch on Perspective's `errorType` detail.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from werkzeug.exceptions import HTTPException

from service import errors

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


def _details(error: errors.ServiceError) -> list[dict[str, object]]:
    if isinstance(error, errors.InvalidArgument):
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
                "metadata": {"service": _SERVICE, "quota_limit_value": error.limit},
            }
        ]
    return []


def service_error_response(error: errors.ServiceError) -> Response:
    status = 400 if error.status == 422 else error.status
    message = error.message
    if isinstance(error, errors.RateLimited):
        # The substring clients match on Perspective's own quota errors.
        message = f"Quota exceeded for quota metric 'Analysis requests' and limit '{error.limit}': {error.message}"
    response = google_error(status, message, _details(error))
    response.headers.update(error.headers())
    return response


def register(bp: Blueprint) -> None:
    @bp.errorhandler(errors.ServiceError)
    def _service_error(error: errors.ServiceError) -> Response:
        return service_error_response(error)

    @bp.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            limit = current_app.config["SETTINGS"].max_body_bytes
            return google_error(400, f"Request payload size exceeds the limit: {limit} bytes.")
        return google_error(status, error.description or "error")

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        current_app.logger.exception("unhandled error")
        return google_error(500, "Internal error encountered.")
