"""Who may do what at ``/v2/`` and ``/api/v2.0`` when the access model is on (``auth:
projects``).

``/v2/`` takes bearer tokens from the registry's own token service (checked exactly as
distribution checks them: 401 with a ``Bearer`` challenge naming the scopes) and, as Harbor
does, HTTP Basic credentials: the user (or robot) is authenticated by the access model, then the
route's scopes are granted or not by the same rules as a token. Harbor's answers are followed:
no credentials → 401 with the Bearer challenge (so docker asks the token service, anonymously
for a public project); Basic credentials that are wrong, or that do not grant what the route
needs → 401 ``UNAUTHORIZED`` with a ``Basic`` challenge; too many failed logins → 429 with
``Retry-After``.

Valid Basic credentials are remembered for a few seconds (as a keyed hash of the header, with
a fingerprint of the account checked at each use), so a client sending them with every request
is authenticated, and its login audited, once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from dockyard.errors import TooManyRequests
from dockyard.registry._authorize import AccessSet
from dockyard.registry.access import AccessService
from dockyard.registry.auth import AuthenticationRequired, access_detail, basic_challenge
from dockyard.registry.http._io import Request
from dockyard.registry.identity import ANONYMOUS, Identity, Scope
from dockyard.registry.token import BearerAuthorizer

__all__ = ["BasicLogins", "LoginThrottled", "ProjectsAuthorizer", "ProjectsSecurity"]

#: Seconds valid Basic credentials are remembered; how many are.
BASIC_TTL = 10.0
BASIC_CACHE = 4096


class LoginThrottled(TooManyRequests):
    """TooManyRequests with its ``Retry-After`` header, for the HTTP layers to send."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _client_ip(request: Request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else ""


class BasicLogins:
    """``Authorization: Basic …`` → the identity, through the access model. Valid credentials
    are remembered for ``ttl`` seconds with a fingerprint of what they were checked against (a
    password or secret hash), read again at every use: a changed password or a refreshed robot
    secret stops working at once, and every grant reads the account again anyway."""

    def __init__(
        self, access: AccessService, *, ttl: float = BASIC_TTL, size: int = BASIC_CACHE
    ) -> None:
        self.access = access
        self.ttl = ttl
        self.size = size
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, tuple[float, Identity, object]] = OrderedDict()

    def _hash(self, header: str) -> bytes:
        data = header.encode("latin-1", "replace")
        return hashlib.blake2b(data, key=self._key, digest_size=24).digest()

    def _fingerprint(self, identity: Identity) -> object:
        """What the credentials were checked against, as the database holds it now (None:
        the account is gone or disabled)."""
        if identity.kind == "robot":
            row = self.access.robots.secret_row(identity.name)
            return None if row is None or row[2] else (row[0], row[1])
        creds = self.access.users.credentials(identity.name)
        if creds is None:
            return None
        return (creds.id, creds.password_hash, creds.cli_secret_hash, creds.source)

    def _cached(self, key: bytes) -> Identity | None:
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            return None
        expires, identity, fingerprint = found
        if expires >= time.monotonic():
            now = self._fingerprint(identity)
            if now is not None and now == fingerprint:
                return identity
        with self._lock:
            self._cache.pop(key, None)
        return None

    def identify(self, header: str | None, client_ip: str) -> Identity:
        """The identity (ANONYMOUS without a header); AuthenticationRequired when wrong,
        LoginThrottled when this address or name is locked out. Blocks (database, bcrypt,
        LDAP): call it from a worker thread."""
        if header is None or not header.strip():
            return ANONYMOUS
        key = self._hash(header)
        known = self._cached(key)
        if known is not None:
            return known
        try:
            identity = self.access.identify(header, client_ip=client_ip)
        except LoginThrottled:
            raise
        except TooManyRequests as exc:
            raise LoginThrottled(exc.message, retry_after=exc.retry_after, hint=exc.hint) from None
        if not identity.anonymous:
            fingerprint = self._fingerprint(identity)
            with self._lock:
                self._cache[key] = (time.monotonic() + self.ttl, identity, fingerprint)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return identity


class ProjectsSecurity:
    """The API's :class:`~dockyard.registry.harbor.ApiSecurity` over the access model."""

    def __init__(self, access: AccessService, logins: BasicLogins) -> None:
        self.access = access
        self.logins = logins

    def identify(self, authorization: str | None, *, client_ip: str) -> Identity:
        return self.logins.identify(authorization, client_ip)

    def can(self, identity: Identity, project: str | None, resource: str, action: str) -> bool:
        return self.access.can(identity, project, resource, action)


class ProjectsAuthorizer:
    """The ``/v2/`` :class:`~dockyard.registry._authorize.Authorizer` of ``auth: projects``:
    bearer tokens as ``bearer`` checks them, Basic credentials through the access model."""

    def __init__(self, bearer: BearerAuthorizer, logins: BasicLogins, *, realm: str) -> None:
        self.bearer = bearer
        self.logins = logins
        self.access = logins.access
        self.challenge = basic_challenge(realm)

    def authorize(self, request: Request, needed: Sequence[Scope]) -> None:
        """The blocking form (the app calls :meth:`authorize_async`)."""
        header = request.header("authorization")
        if header is None or header[:6].lower() != "basic ":
            self.bearer.authorize(request, needed)
            return
        identity = self.logins.identify(header, _client_ip(request))
        self._check(request, identity, needed, self._grant(request, identity, needed))

    async def authorize_async(self, request: Request, needed: Sequence[Scope]) -> None:
        header = request.header("authorization")
        if header is None or header[:6].lower() != "basic ":
            self.bearer.authorize(request, needed)  # no I/O: signature checks are cached
            return
        identity = await request.run(self.logins.identify, header, _client_ip(request))
        granted: list[Scope] = []
        if needed:
            granted = await request.run(self._grant, request, identity, needed)
        self._check(request, identity, needed, granted)

    def _grant(self, request: Request, identity: Identity, needed: Sequence[Scope]) -> list[Scope]:
        wanted = list(needed)
        source = request.query("from") if request.query("mount") else None
        if source:  # a cross-repository mount reads its source: ask for that too
            wanted.append(Scope("repository", source, ("pull",)))
        return self.access.grant(identity, wanted) if wanted else []

    def _check(
        self, request: Request, identity: Identity, needed: Sequence[Scope], granted: list[Scope]
    ) -> None:
        access = AccessSet.of(granted)
        if not identity.anonymous:
            request.user = identity.name  # also on a refusal: the audit log names who tried
        for scope in needed:
            if not access.covers(scope):
                actions = ",".join(scope.actions)
                raise AuthenticationRequired(
                    f"unauthorized to access {scope.type}: {scope.name}, action: {actions}",
                    challenge=self.challenge,
                    detail=[
                        d
                        for s in needed
                        for a in s.actions
                        for d in access_detail(s.type, s.name, a)
                    ],
                )
        request.user = identity.name
        request.access = access
