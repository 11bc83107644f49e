"""Harbor's error body and codes: ``{"errors":[{"code":"NOT_FOUND","message":"…"}]}``.

dockyard's error categories map onto Harbor's codes (``src/lib/errors/const.go``) and the
statuses Harbor sends with them; anything else is a 500 whose details stay in the log.
"""

from __future__ import annotations

import json

from dockyard.errors import (
    AlreadyExists,
    Conflict,
    Denied,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = [
    "BadRequest",
    "MethodNotAllowed",
    "PreconditionFailed",
    "error_body",
    "harbor_status",
]


class BadRequest(InvalidArgument):
    """A parameter, query or body the API cannot use (400 BAD_REQUEST)."""


class PreconditionFailed(FailedPrecondition):
    """The operation cannot be done in the current state (412 PRECONDITION)."""


class MethodNotAllowed(InvalidArgument):
    """405: the path exists, the method does not; ``allow`` names those that do."""

    http_status = 405

    def __init__(self, message: str, *, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


#: (category, status, Harbor code), most specific first.
_TABLE: tuple[tuple[type[DockyardError], int, str], ...] = (
    (MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
    (NotFound, 404, "NOT_FOUND"),
    (AlreadyExists, 409, "CONFLICT"),
    (Conflict, 409, "CONFLICT"),
    (Unauthorized, 401, "UNAUTHORIZED"),
    (Denied, 403, "FORBIDDEN"),
    (FailedPrecondition, 412, "PRECONDITION"),
    (Unsupported, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (InvalidArgument, 400, "BAD_REQUEST"),
    (Unavailable, 503, "SERVICE_UNAVAILABLE"),
)


def harbor_status(exc: DockyardError) -> tuple[int, str]:
    """The HTTP status and Harbor error code for ``exc``."""
    if exc.http_status == 413:
        return 413, "REQUEST_ENTITY_TOO_LARGE"
    if exc.http_status == 429:
        return 429, "TOO_MANY_REQUESTS"
    if exc.http_status == 422:  # go-swagger's parameter validation (see _paging)
        return 422, "UNPROCESSABLE_ENTITY"
    for category, status, code in _TABLE:
        if isinstance(exc, category):
            return status, code
    return 500, "INTERNAL_SERVER_ERROR"


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()
