"""Typed errors; one handler in `service.api` turns each into the JSON error body."""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def headers(self) -> dict[str, str]:
        return {}

    def details(self) -> dict[str, object]:
        """Fields the error body carries beside code, message and field."""
        return {}


class BadRequest(ServiceError):
    status = 400
    code = "bad_request"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class InvalidField(ServiceError):
    status = 422
    code = "invalid_field"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="moderation"'}


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ServiceError):
    status = 405
    code = "method_not_allowed"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Claimed(Conflict):
    """Another moderator holds the queue item: the body names them, so the page can say who."""

    def __init__(self, message: str, *, holder: str, field: str | None = "id") -> None:
        super().__init__(message, field=field)
        self.holder = holder

    def details(self) -> dict[str, object]:
        return {"claimed_by": self.holder}


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class Unavailable(ServiceError):
    """Nothing wrong with the request: a part of the service is down or stuck, so retry shortly."""

    status = 503
    code = "unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class StoreUnavailable(Unavailable):
    code = "store_unavailable"


class ScoringUnavailable(Unavailable):
    code = "scoring_unavailable"


class ModelUnavailable(Exception):
    """A configured model cannot be loaded; start-up stops with this one-line message."""


class RateLimited(ServiceError):
    """The API key has used its requests for this window (MODERATION_RATE_LIMIT)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, amount: int, per: str, consumer: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.amount = amount  # requests allowed
        self.per = per  # in this window: "minute", "2 hours"
        self.consumer = consumer  # the API key's name

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InvalidArgument(BadRequest):
    """A Perspective API request it refuses: 400 INVALID_ARGUMENT, with Perspective's errorType and detail."""

    code = "invalid_argument"

    def __init__(
        self, message: str, *, error_type: str | None = "INVALID_REQUEST", detail: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.error_type = error_type  # None: Google's answer carries no detail
        self.detail = detail or {}


class InvalidApiKey(BadRequest):
    """Perspective answers an unknown key with 400, where our API says 401."""

    code = "api_key_invalid"
