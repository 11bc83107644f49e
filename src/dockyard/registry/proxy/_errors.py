"""What the mirror answers when its upstream fails, by what the upstream did."""

from __future__ import annotations

from dockyard.errors import Denied, DockyardError, NotFound, RateLimited, Unavailable

__all__ = [
    "STALE_OK",
    "PushRefused",
    "UpstreamBadGateway",
    "UpstreamDenied",
    "UpstreamThrottled",
    "UpstreamUnreachable",
    "upstream_status_error",
]


class PushRefused(DockyardError):
    """A push, upload or delete sent to a pull-through cache (registry:2's 405 UNSUPPORTED)."""

    http_status = 405
    oci_code = "UNSUPPORTED"


class UpstreamUnreachable(Unavailable):
    """The upstream did not answer (connection refused, reset, timed out)."""


class UpstreamThrottled(RateLimited):
    """The upstream answered 429."""


class UpstreamBadGateway(Unavailable):
    """The upstream answered a server error (5xx) or nonsense."""

    http_status = 502


class UpstreamDenied(Denied):
    """The upstream refused the mirror's credentials (401/403 after authenticating)."""


#: Failures after which a cached copy is served, marked stale (stale-if-error).
STALE_OK = (UpstreamUnreachable, UpstreamThrottled, UpstreamBadGateway)


def upstream_status_error(
    status: int,
    upstream: str,
    what: str,
    not_found: type[NotFound],
    retry_after: str | None = None,
) -> DockyardError:
    """The error for an upstream's non-200 answer ``status`` about ``what``."""
    if status == 404:
        return not_found(f"{what} is not found on upstream {upstream}")
    if status == 429:
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return UpstreamThrottled(
            f"upstream {upstream} is rate-limiting the mirror (429) and {what} is not cached",
            hint="retry later",
            retry_after=seconds,
        )
    if status in (401, 403):
        return UpstreamDenied(
            f"upstream {upstream} refused the mirror access to {what} ({status})",
            hint="check the upstream's username and password in the proxy section",
        )
    return UpstreamBadGateway(
        f"upstream {upstream} answered {status} for {what}", hint="retry later"
    )
