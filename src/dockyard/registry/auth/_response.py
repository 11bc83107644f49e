"""The 401 answer registry:2 gives, as a helper the HTTP layer can send as it is."""

from __future__ import annotations

import json

from dockyard.registry.auth._authenticator import AuthenticationRequired

__all__ = ["access_detail", "unauthorized_body", "unauthorized_response"]

_CONTENT_TYPE = "application/json; charset=utf-8"


def access_detail(resource_type: str, name: str, action: str) -> list[dict[str, str]]:
    """registry:2's ``detail`` for a denied request: ``[{"Type":…,"Class":"","Name":…,…}]``."""
    return [{"Type": resource_type, "Class": "", "Name": name, "Action": action}]


def unauthorized_body(detail: object = None, message: str = "authentication required") -> bytes:
    """``{"errors":[{"code":"UNAUTHORIZED","message":…,"detail":…}]}`` as registry:2 sends it."""
    error = {"code": "UNAUTHORIZED", "message": message, "detail": detail}
    return json.dumps({"errors": [error]}, separators=(",", ":")).encode() + b"\n"


def unauthorized_response(
    exc: AuthenticationRequired, detail: object = None
) -> tuple[int, dict[str, str], bytes]:
    """(401, headers, body) for ``exc``: the challenge, a JSON content type and the error body."""
    body = unauthorized_body(detail if detail is not None else exc.detail)
    headers = {
        "WWW-Authenticate": exc.challenge,
        "Content-Type": _CONTENT_TYPE,
        "Content-Length": str(len(body)),
    }
    return 401, headers, body
