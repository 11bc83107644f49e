"""HTTP to Harbor's ``/api/v2.0`` over the registry client's connection pools: Basic
credentials from the store ``dockyard login`` writes, Harbor's paging (``page``/``page_size``,
``X-Total-Count``, ``Link``) and Harbor's error bodies turned into dockyard's categories."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from dockyard.client._auth import basic_header
from dockyard.client._credentials import Credentials
from dockyard.client._errors import connection_error, parse_retry_after
from dockyard.client._transport import Transport
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    Denied,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = ["API_PREFIX", "MAX_PAGES", "PAGE_SIZE", "ApiConnection", "Response", "harbor_error"]

API_PREFIX = "/api/v2.0"
#: Harbor's largest page.
PAGE_SIZE = 100
#: A listing stops after this many pages (100 000 records), whatever the server says.
MAX_PAGES = 1000
#: Longest error message kept from a server's answer.
MAX_MESSAGE = 500
_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise Unavailable(
                f"the registry answered with something that is not JSON: {self.body[:80]!r}"
            ) from None


def _message(body: bytes) -> tuple[str, str]:
    """(Harbor code, message) of an error body, or ("", the text)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", body.decode(errors="replace").strip()[:MAX_MESSAGE]
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("code", "")), str(first.get("message", ""))[:MAX_MESSAGE]
    return "", ""


def harbor_error(
    status: int, body: bytes, *, what: str, registry: str, retry_after: str | None = None
) -> DockyardError:
    """The dockyard error for a failed API call: the category from the status (and Harbor's
    code), the server's message, and what to do."""
    code, message = _message(body)
    text = f"{what}: {message or f'HTTP {status}'}"
    if status == 401 or code == "UNAUTHORIZED":
        return Unauthorized(
            text, hint=f"run `dockyard login {registry}` with an account of the registry"
        )
    if code == "DENIED":  # a policy refused it (a gate, an immutable tag): the message says why
        return Denied(text)
    if status == 403 or code == "FORBIDDEN":
        return Denied(
            text, hint="the logged-in account lacks the permission; ask a project or system admin"
        )
    if status == 404 or code == "NOT_FOUND":
        return NotFound(text)
    if status == 409 or code == "CONFLICT":
        return (AlreadyExists if "exist" in message.lower() else Conflict)(text)
    if status == 412 or code == "PRECONDITION":
        return FailedPrecondition(text)
    if status == 429:
        seconds = parse_retry_after(retry_after)
        wait = f"retry after {seconds:.0f} s" if seconds is not None else "retry later"
        return RateLimited(text, hint=wait, retry_after=seconds)
    if status in (405, 415, 501):
        return Unsupported(text, hint="does this registry serve Harbor's API at /api/v2.0?")
    if 400 <= status < 500:
        return InvalidArgument(text)
    error = Unavailable(f"{text} (HTTP {status})")
    error.retryable = status >= 500
    return error


class ApiConnection:
    """One registry's ``/api/v2.0``: ``base`` is ``scheme://host[:port]``."""

    def __init__(
        self,
        transport: Transport,
        host: str,
        base: str,
        credentials: Credentials | None,
    ) -> None:
        self.transport = transport
        self.host = host
        self.base = base.rstrip("/")
        self.credentials = credentials

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": self.transport.options.user_agent, "Accept": "application/json"}
        creds = self.credentials
        if creds is not None and creds.username:
            headers["Authorization"] = basic_header(creds)
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Mapping[str, str | int] | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        ok: Sequence[int] = (200,),
    ) -> Response:
        """One call; ``path`` is below ``/api/v2.0`` (``/projects``) or starts with it (a
        ``Link``). GETs are retried on connection failures and 5xx answers."""
        url = path if path.startswith(API_PREFIX) else API_PREFIX + path
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        hdrs = self._headers(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        attempts = max(1, self.transport.options.retries) if method == "GET" else 1
        pool = self.transport._pool(not self.transport.options.insecure(self.host))
        for attempt in range(1, attempts + 1):
            try:
                resp = pool.request(
                    method,
                    self.base + url,
                    headers=hdrs,
                    body=data,
                    redirect=False,
                    retries=False,
                    timeout=urllib3.Timeout(connect=15, read=120),
                )
            except (Urllib3Error, OSError) as exc:
                error = connection_error(exc, host=self.host, what=what)
                if error.retryable and attempt < attempts:
                    time.sleep(min(4.0, 0.25 * 2**attempt))
                    continue
                raise error from exc
            headers_out = {k.lower(): v for k, v in resp.headers.items()}
            if resp.status in ok:
                return Response(resp.status, headers_out, resp.data)
            error = harbor_error(
                resp.status,
                resp.data,
                what=what,
                registry=self.host,
                retry_after=headers_out.get("retry-after"),
            )
            if error.retryable and attempt < attempts and not isinstance(error, RateLimited):
                time.sleep(min(4.0, 0.25 * 2**attempt))
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, *, what: str, query: Mapping[str, str | int] | None = None) -> Any:
        return self.request("GET", path, what=what, query=query).json()

    def pages(
        self,
        path: str,
        *,
        what: str,
        query: Mapping[str, str | int] | None = None,
        limit: int | None = None,
        page_size: int = PAGE_SIZE,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Every item of a paged listing, following ``Link: <…>; rel="next"`` (stopping at
        ``X-Total-Count`` items, ``limit``, or :data:`MAX_PAGES` pages); ``headers`` go with
        every request (e.g. ``X-Is-Resource-Name``)."""
        size = max(1, min(PAGE_SIZE, page_size, limit or PAGE_SIZE))
        params: dict[str, str | int] = {**(query or {}), "page": 1, "page_size": size}
        url: str | None = path
        seen = 0
        for _ in range(MAX_PAGES):
            if url is None:
                return
            resp = self.request("GET", url, what=what, query=params, headers=headers)
            items = resp.json()
            if not isinstance(items, list):
                raise Unavailable(f"{what}: the registry did not answer with a list")
            for item in items:
                if isinstance(item, Mapping):
                    yield item
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
            total = _int(resp.headers.get("x-total-count"))
            if not items or (total is not None and seen >= total):
                return
            url, params = _next_page(resp.headers.get("link")), {}

    def location_id(self, response: Response) -> int | None:
        """The id at the end of a 201's ``Location`` (``/api/v2.0/projects/3`` → 3)."""
        location = response.headers.get("location", "")
        last = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        return int(last) if last.isdigit() else None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().isdigit() else None


def _next_page(link: str | None) -> str | None:
    """The path and query of the ``rel="next"`` link, if there is one on this server."""
    if not link:
        return None
    m = _NEXT.search(link)
    if m is None:
        return None
    parts = urlsplit(m.group(1))
    if not parts.path.startswith(API_PREFIX + "/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def segment(name: str) -> str:
    """A name as one path segment."""
    return quote(name, safe="")
