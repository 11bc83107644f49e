"""Bearer tokens at ``/v2/``: verified once, remembered until they expire, checked per route.

:class:`TokenVerifier` verifies tokens from one issuer for one service (dockyard's own, or an
external one configured as registry:2's ``auth.token``) and remembers valid ones, so that the
signature of a token docker sends on every request is checked once. :class:`BearerAuthorizer`
is the :class:`~dockyard.registry._authorize.Authorizer` the app calls for every ``/v2/``
request; it answers exactly as distribution does: 401 with ``WWW-Authenticate: Bearer
realm=…,service=…,scope=…`` and ``error="invalid_token"`` or ``error="insufficient_scope"``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

from dockyard.registry.auth import AuthenticationRequired, access_detail
from dockyard.registry.http._io import Request
from dockyard.registry.identity import Scope, format_scopes
from dockyard.registry.token._jwt import InvalidToken, VerifiedToken, verify_token
from dockyard.registry.token._keys import TrustedKeys

__all__ = ["REFRESH_CLAIM", "BearerAuthorizer", "TokenVerifier"]

#: Set in refresh tokens, which are good at the token endpoint only, never at /v2/.
REFRESH_CLAIM = "dockyard_refresh"


class TokenVerifier:
    """Verifies tokens for ``service`` from ``issuer``; remembers up to ``cache_size`` valid
    ones (by a hash of the token) until they expire."""

    def __init__(
        self, trusted: TrustedKeys, *, issuer: str, service: str, cache_size: int = 8192
    ) -> None:
        self.trusted = trusted
        self.issuer = issuer
        self.service = service
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> VerifiedToken:
        key = hashlib.blake2b(token.encode("latin-1", "replace"), digest_size=24).digest()
        now = time.time()
        with self._lock:
            known = self._cache.get(key)
            if known is not None:
                if now <= known.expires:
                    return known
                del self._cache[key]
        verified = verify_token(token, self.trusted, issuer=self.issuer, audience=self.service)
        if verified.claims.get(REFRESH_CLAIM):
            raise InvalidToken(
                "invalid token: a refresh token is not an access token",
                hint="exchange it at the token endpoint",
            )
        with self._lock:
            self._cache[key] = verified
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verified


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class BearerAuthorizer:
    """Checks ``/v2/`` requests against their bearer token.

    ``realm`` is where clients get tokens; None means this registry's own token endpoint at
    ``realm_path`` on the host the client used (``http.host`` unknown). ``autoredirect`` is
    registry:2's option: the realm is ``https://<Host>/auth/token``."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        realm: str | None,
        realm_path: str = "/service/token",
        autoredirect: bool = False,
    ) -> None:
        self.verifier = verifier
        self.realm = realm
        self.realm_path = realm_path
        self.autoredirect = autoredirect

    def authorize(self, request: Request, needed: Sequence[Scope]) -> None:
        header = request.header("authorization")
        if header is None or header[:7].lower() != "bearer ":
            raise self._challenge(request, needed, None)
        try:
            token = self.verifier.verify(header[7:].strip())
        except InvalidToken as exc:
            raise self._challenge(request, needed, "invalid_token", str(exc)) from None
        access = token.access
        request.user = token.subject or None  # also on a refusal: the audit log names who tried
        for scope in needed:
            if not access.covers(scope):
                raise self._challenge(request, needed, "insufficient_scope")
        request.access = access

    def realm_for(self, request: Request) -> str:
        host = request.header("host") or "localhost"
        if self.autoredirect:
            return f"https://{host}/auth/token"
        if self.realm is not None:
            return self.realm
        scheme = request.scope.get("scheme", "http")
        return f"{scheme}://{host}{self.realm_path}"

    def _challenge(
        self,
        request: Request,
        needed: Sequence[Scope],
        error: str | None,
        message: str = "authentication required",
    ) -> AuthenticationRequired:
        value = f"Bearer realm={_quote(self.realm_for(request))},service={_quote(self.verifier.service)}"
        if needed:
            value += f",scope={_quote(format_scopes(needed))}"
        if error is not None:
            value += f",error={_quote(error)}"
        detail = [d for s in needed for a in s.actions for d in access_detail(s.type, s.name, a)]
        if error == "insufficient_scope":
            message = "authentication required: the token does not grant " + format_scopes(needed)
        return AuthenticationRequired(message, challenge=value, detail=detail or None)
