"""Exceptions of the cloud package, each carrying its HTTP status and stable code.

::

    CloudError                 (500 internal_error)
    ├── BadRequest             (400 bad_request)
    │   ├── InvalidRequest     (422 invalid_request) a field has a value we can't take
    │   └── InvalidBatch       (422 invalid_batch)  a batch breaks the wire contract
    ├── Unauthenticated        (401 unauthenticated) missing or unknown credential
    ├── Forbidden              (403 forbidden)       authenticated, not granted
    │   ├── SubstitutionRefused (403 substitution_refused) a [~secret] where it may not go
    │   └── DestinationRefused (403 destination_refused) proxy target not allowed (SSRF)
    ├── NotFound               (404 not_found)       also for other accounts' objects
    ├── Conflict               (409 conflict)
    ├── RateLimited            (429 rate_limited)    too many failed authentications
    ├── PayloadTooLarge        (413 payload_too_large)
    ├── ServiceUnavailable     (503 service_unavailable) a service we depend on is away
    │   └── (directory.errors) DirectoryUnavailable (503 directory_unavailable),
    │                          DirectoryBusy (503 directory_busy)
    ├── BadGateway             (502 bad_gateway)     a proxied destination failed
    ├── GatewayTimeout         (504 gateway_timeout) a proxied destination did not answer
    └── ConfigurationError     the service can't start (bad --db URL, unreadable pepper)

Every error reaches clients as ``{"error": {"code", "message", "field"?}}``.
"""

from __future__ import annotations


class CloudError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}


class BadRequest(CloudError):
    status_code = 400
    code = "bad_request"


class InvalidRequest(BadRequest):
    status_code = 422
    code = "invalid_request"


class InvalidBatch(BadRequest):
    status_code = 422
    code = "invalid_batch"


class Unauthenticated(CloudError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(CloudError):
    status_code = 403
    code = "forbidden"


class SubstitutionRefused(Forbidden):
    code = "substitution_refused"


class DestinationRefused(Forbidden):
    code = "destination_refused"


class NotFound(CloudError):
    status_code = 404
    code = "not_found"


class Conflict(CloudError):
    status_code = 409
    code = "conflict"


class RateLimited(CloudError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(CloudError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(CloudError):
    """A service the request needs (an account's directory) did not answer; retry later."""

    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadGateway(CloudError):
    status_code = 502
    code = "bad_gateway"


class GatewayTimeout(CloudError):
    status_code = 504
    code = "gateway_timeout"


class ConfigurationError(CloudError):
    """The service cannot start as configured; the CLI exits with status 2."""
