"""Registry answers and network failures → dockyard errors that say what to do."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    SSLError,
)

from dockyard.client._options import is_localhost
from dockyard.errors import (
    BlobUnknown,
    Conflict,
    Denied,
    DigestInvalid,
    DockyardError,
    InvalidArgument,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NotFound,
    RateLimited,
    SizeInvalid,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = ["connection_error", "parse_retry_after", "response_error"]

_BY_CODE: dict[str, type[DockyardError]] = {
    "BLOB_UNKNOWN": BlobUnknown,
    "BLOB_UPLOAD_INVALID": InvalidArgument,
    "BLOB_UPLOAD_UNKNOWN": NotFound,
    "DIGEST_INVALID": DigestInvalid,
    "MANIFEST_BLOB_UNKNOWN": BlobUnknown,
    "MANIFEST_INVALID": ManifestInvalid,
    "MANIFEST_UNKNOWN": ManifestUnknown,
    "MANIFEST_UNVERIFIED": ManifestInvalid,
    "NAME_INVALID": NameInvalid,
    "NAME_UNKNOWN": NotFound,
    "SIZE_INVALID": SizeInvalid,
    "TAG_INVALID": ManifestInvalid,
    "UNAUTHORIZED": Unauthorized,
    "DENIED": Denied,
    "UNSUPPORTED": Unsupported,
    "TOOMANYREQUESTS": RateLimited,
}

_BY_STATUS: dict[int, type[DockyardError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: Denied,
    404: NotFound,
    405: Unsupported,
    409: Conflict,
    416: InvalidArgument,
    429: RateLimited,
}


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _oci_errors(body: bytes) -> list[tuple[str, str, object]]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    out = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict):
            out.append(
                (
                    str(item.get("code", "")).upper(),
                    str(item.get("message", "")),
                    item.get("detail"),
                )
            )
    return out


def response_error(
    status: int,
    body: bytes,
    *,
    host: str,
    what: str,
    retry_after: str | None = None,
) -> DockyardError:
    """The error for a failed registry response. ``what`` names the operation (``pull
    127.0.0.1:5000/app:1``) so the message says what failed."""
    errors = _oci_errors(body)
    code, message, detail = errors[0] if errors else ("", "", None)
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = Unavailable if status >= 500 else DockyardError
    text = message or body.decode(errors="replace").strip()[:200] or f"HTTP {status}"
    if status == 401 or cls is Unauthorized:
        return Unauthorized(
            f"{what}: authentication required ({text})",
            hint=f"run `dockyard login {host}` with an account that may access it",
            detail=detail,
        )
    if status == 403 or cls is Denied:
        return Denied(
            f"{what}: access denied ({text})",
            hint=f"the account logged in to {host} lacks permission; log in as another user "
            "or ask the registry's administrator for access",
            detail=detail,
        )
    if cls is RateLimited or status == 429:
        seconds = parse_retry_after(retry_after)
        wait = f"retry after {seconds:.0f} s" if seconds is not None else "retry later"
        return RateLimited(
            f"{what}: {host} is rate limiting requests ({text})",
            hint=f"{wait}, or log in to raise the limit",
            detail=detail,
            retry_after=seconds,
        )
    if cls is ManifestUnknown or (code == "" and status == 404 and "manifest" in what):
        return ManifestUnknown(
            f"{what}: manifest unknown ({text})",
            hint="check the tag or digest (`dockyard tags REF` lists the tags)",
            detail=detail,
        )
    if code == "NAME_UNKNOWN":
        return NotFound(
            f"{what}: repository not found on {host} ({text})",
            hint="check the repository name",
            detail=detail,
        )
    error = cls(f"{what}: {text} (HTTP {status})", detail=detail)
    if status >= 500:
        error.retryable = True
    return error


def connection_error(exc: BaseException, *, host: str, what: str) -> DockyardError:
    """The error for a request that got no HTTP answer at all."""
    reason: BaseException = exc
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        reason = exc.reason
    if isinstance(reason, NameResolutionError):
        error = Unavailable(
            f"{what}: unknown host {host.split(':')[0]!r}",
            hint="check the registry name for typos, and DNS / network access",
        )
        error.retryable = False
        return error
    if isinstance(reason, SSLError | ssl.SSLError):
        if is_localhost(host):
            hint = (
                f"{host} is a local registry: if it serves plain HTTP or a self-signed "
                "certificate, add --tls-verify=false (or --ca-cert FILE)"
            )
        else:
            hint = (
                "the registry's certificate could not be verified; pass its CA with "
                "--ca-cert FILE (do not turn verification off for a remote registry)"
            )
        error = Unavailable(f"{what}: TLS handshake with {host} failed ({reason})", hint=hint)
        error.retryable = False
        return error
    if isinstance(reason, NewConnectionError):
        return Unavailable(
            f"{what}: cannot connect to {host} ({_short(reason)})",
            hint="is the registry running and the address right?",
        )
    return Unavailable(f"{what}: connection to {host} failed ({_short(reason)})")


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "]" in text and "Errno" in text:
        return text[text.index("[") :]
    return text
