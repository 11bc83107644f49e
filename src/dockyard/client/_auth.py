"""Registry authentication: ``WWW-Authenticate`` challenges, Basic, and Docker token auth.

Token auth (docker's spec): a 401 names a ``realm`` and ``service``; the client asks the realm
for a token covering the scopes it needs (``repository:app:pull,push``, plus
``repository:other:pull`` to mount from another repository), then sends ``Bearer <token>``.
Tokens are cached per set of scopes until they expire; an identity token (OAuth2 refresh token)
from ``dockyard login`` is exchanged by POST instead of sending the password.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from dockyard.client._credentials import Credentials
from dockyard.errors import DockyardError, Unauthorized

__all__ = ["Challenge", "TokenCache", "basic_header", "parse_challenge", "pull_scope", "push_scope"]

_PARAM = re.compile(r'\s*([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer" (lower case)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenge(header: str | None) -> Challenge | None:
    """The first challenge in a ``WWW-Authenticate`` header (registries send one)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            break
        value = m.group(2) if m.group(2) is not None else (m.group(3) or "")
        params[m.group(1).lower()] = value.replace('\\"', '"')
        pos = m.end()
    return Challenge(scheme.lower(), params)


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


#: Fetch a token: (method, url, headers, body) → (status, body bytes).
Fetch = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Bearer tokens for one registry endpoint, per scope set, refreshed when they expire."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._lock = threading.Lock()

    def invalidate(self, scopes: Sequence[str]) -> None:
        with self._lock:
            self._tokens.pop(tuple(sorted(set(scopes))), None)

    def token(
        self,
        challenge: Challenge,
        scopes: Sequence[str],
        creds: Credentials | None,
        fetch: Fetch,
    ) -> str:
        wanted = set(scopes)
        if challenge.params.get("scope"):
            wanted.update(challenge.params["scope"].split(" "))
        key = tuple(sorted(wanted))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires_at > time.monotonic():
                return cached.value
        token = self._request(challenge, key, creds, fetch)
        with self._lock:
            self._tokens[key] = token
        return token.value

    def _request(
        self,
        challenge: Challenge,
        scopes: tuple[str, ...],
        creds: Credentials | None,
        fetch: Fetch,
    ) -> _Token:
        realm = challenge.realm
        if not realm:
            raise Unauthorized(f"{self.host} asked for a bearer token but named no realm")
        service = challenge.params.get("service")
        headers: dict[str, str] = {"Accept": "application/json"}
        if creds is not None and creds.identity_token:
            form: list[tuple[str, str]] = [
                ("grant_type", "refresh_token"),
                ("refresh_token", creds.identity_token),
                ("client_id", "dockyard"),
            ]
            if service:
                form.append(("service", service))
            form.extend(("scope", s) for s in scopes)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            status, body = fetch("POST", realm, headers, urlencode(form).encode())
        else:
            query: list[tuple[str, str]] = []
            if service:
                query.append(("service", service))
            query.extend(("scope", s) for s in scopes)
            if creds is not None and creds.username:
                headers["Authorization"] = basic_header(creds)
                query.append(("account", creds.username))
            sep = "&" if "?" in realm else "?"
            url = realm + (sep + urlencode(query) if query else "")
            status, body = fetch("GET", url, headers, None)
        if status in (401, 403):
            who = "anonymous access" if creds is None else f"user {creds.username or '(token)'!r}"
            raise Unauthorized(
                f"the token service of {self.host} refused {who} for {' '.join(scopes) or 'login'}",
                hint=f"run `dockyard login {self.host}` with valid credentials",
            )
        if status != 200:
            raise DockyardError(
                f"the token service {realm} of {self.host} answered HTTP {status}: "
                f"{body[:200].decode(errors='replace')}"
            )
        try:
            doc = json.loads(body)
            value = doc.get("token") or doc.get("access_token")
            expires_in = float(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise DockyardError(f"the token service {realm} sent a malformed answer") from exc
        if not value:
            raise DockyardError(f"the token service {realm} sent no token")
        # renew a little early so that a long transfer does not start with a dying token
        return _Token(str(value), time.monotonic() + max(1.0, expires_in - 10))
