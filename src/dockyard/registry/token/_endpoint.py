"""The token endpoint (``/service/token``): Docker's token spec and its OAuth2 form.

``GET`` (``service``, repeated ``scope``, Basic credentials or none, ``offline_token=true`` with
``client_id`` for a refresh token) answers ``{token, access_token, expires_in, issued_at}``
(+ ``refresh_token``). ``POST`` takes the OAuth2 form docker and podman send after ``docker
login`` stored an identity token: ``grant_type=password`` (``username``, ``password``) or
``grant_type=refresh_token`` (``refresh_token``), with ``service``, ``scope`` and ``client_id``
(``access_type=offline`` asks for a refresh token).

The token grants the subset of the requested scopes the :class:`Granter` allows. Refresh tokens
are signed like access tokens, live longer, carry no access, name their subject, and are honoured
only while the granter still knows the subject.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from dockyard.errors import DockyardError, InvalidArgument, TooManyRequests
from dockyard.registry._registry import Registry
from dockyard.registry.auth import AuthenticationRequired, basic_challenge, unauthorized_body
from dockyard.registry.http._io import Request, read_body, send_bytes
from dockyard.registry.identity import ANONYMOUS, Identity, Scope, format_scopes, parse_scopes
from dockyard.registry.token._grant import Granter, SubjectLookup, granted_subset
from dockyard.registry.token._jwt import InvalidToken, issue_token, issued_at_text, verify_token
from dockyard.registry.token._keys import SigningKey, TrustedKeys
from dockyard.registry.token._verify import REFRESH_CLAIM

__all__ = ["TOKEN_PATH", "TokenService"]

_log = logging.getLogger("dockyard.registry.token")

TOKEN_PATH = "/service/token"
#: The largest OAuth2 form accepted.
MAX_FORM_BYTES = 16 * 1024
#: Bounds on the lifetimes a configuration may choose (seconds).
MIN_LIFETIME, MAX_LIFETIME = 60, 24 * 3600
MAX_REFRESH_LIFETIME = 365 * 24 * 3600
_JSON = b"application/json"


@dataclass(frozen=True, slots=True)
class _Issued:
    token: str
    expires_in: int
    issued_at: float
    granted: list[Scope]
    refresh_token: str | None


class TokenService:
    """Issues tokens for ``service`` as ``issuer``, signed with ``key``, to whom ``granter``
    lets in. ``handle`` is the ASGI-side handler (``RegistryApp.extra_routes``)."""

    def __init__(
        self,
        granter: Granter,
        key: SigningKey,
        *,
        issuer: str,
        service: str,
        lifetime: int = 300,
        refresh_lifetime: int = 30 * 24 * 3600,
    ) -> None:
        if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
            raise InvalidArgument(
                f"token lifetime {lifetime}s is out of range",
                hint=f"choose {MIN_LIFETIME} s to {MAX_LIFETIME} s (e.g. 5m)",
            )
        if not lifetime <= refresh_lifetime <= MAX_REFRESH_LIFETIME:
            raise InvalidArgument(f"refresh token lifetime {refresh_lifetime}s is out of range")
        self.granter = granter
        self.key = key
        self.issuer = issuer
        self.service = service
        self.lifetime = lifetime
        self.refresh_lifetime = refresh_lifetime
        self._trusted = TrustedKeys.of_signing_key(key)

    @property
    def refresh_audience(self) -> str:
        return f"{self.service}#refresh"

    # --- the protocol, without HTTP --------------------------------------------------------

    def issue(
        self, identity: Identity, requested: Sequence[Scope], *, offline: bool = False
    ) -> _Issued:
        """A token for ``identity`` with the granted subset of ``requested``."""
        granted = granted_subset(requested, self.granter.grant(identity, requested))
        now = time.time()
        token = issue_token(
            self.key,
            issuer=self.issuer,
            subject=identity.name,
            audience=self.service,
            access=granted,
            lifetime=self.lifetime,
            now=now,
        )
        refresh = None
        if offline and not identity.anonymous and isinstance(self.granter, SubjectLookup):
            refresh = issue_token(
                self.key,
                issuer=self.issuer,
                subject=identity.name,
                audience=self.refresh_audience,
                access=(),
                lifetime=self.refresh_lifetime,
                now=now,
                extra={REFRESH_CLAIM: True, "kind": identity.kind},
            )
        return _Issued(token, self.lifetime, now, granted, refresh)

    def identity_from_refresh(self, refresh_token: str) -> Identity:
        """The identity a refresh token names, if it is valid and its subject still exists."""
        claims = verify_token(
            refresh_token, self._trusted, issuer=self.issuer, audience=self.refresh_audience
        ).claims
        if claims.get(REFRESH_CLAIM) is not True or not isinstance(self.granter, SubjectLookup):
            raise InvalidToken("invalid token: not a refresh token", hint="log in again")
        identity = self.granter.identity_of(str(claims["sub"]))
        if identity is None:
            raise InvalidToken(
                "invalid token: the account it was issued to no longer exists",
                hint="log in again",
            )
        return identity

    # --- HTTP ----------------------------------------------------------------------------------

    async def handle(self, request: Request, registry: Registry) -> None:
        del registry
        try:
            if request.method == "GET":
                issued, oauth = await self._get(request), False
            elif request.method == "POST":
                issued, oauth = await self._post(request), True
            else:
                raise InvalidArgument(
                    f"{request.method} is not allowed on {TOKEN_PATH}", hint="use GET or POST"
                )
        except TooManyRequests as exc:
            body = json.dumps({"errors": [{"code": exc.oci_code, "message": str(exc)}]}).encode()
            headers = [(b"retry-after", str(exc.retry_after).encode())]
            await send_bytes(request.send, 429, body, headers, content_type=_JSON)
            return
        except (AuthenticationRequired, InvalidToken) as exc:
            challenge = basic_challenge(self.service)
            headers = [(b"www-authenticate", challenge.encode("latin-1", "replace"))]
            body = unauthorized_body(message=str(exc))
            await send_bytes(request.send, 401, body, headers, content_type=_JSON)
            return
        await send_bytes(request.send, 200, self._answer(issued, oauth=oauth), content_type=_JSON)

    def _answer(self, issued: _Issued, *, oauth: bool) -> bytes:
        doc: dict[str, Any] = {
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued_at_text(issued.issued_at),
        }
        if oauth:
            doc["scope"] = format_scopes(issued.granted)
        if issued.refresh_token is not None:
            doc["refresh_token"] = issued.refresh_token
        return json.dumps(doc).encode()

    def _check_service(self, service: str | None) -> None:
        if service is not None and service != self.service:
            raise InvalidArgument(
                f"this token service issues tokens for service {self.service!r}, not {service[:200]!r}",
                hint="use the service named in the registry's WWW-Authenticate challenge",
            )

    async def _get(self, request: Request) -> _Issued:
        query = parse_qs(request.scope.get("query_string", b"").decode("latin-1"))
        self._check_service(_last(query, "service"))
        requested = parse_scopes(query.get("scope", []))
        identity = ANONYMOUS
        header = request.header("authorization")
        if header:
            username, password = _basic(header)
            identity = await request.run(self._authenticate, username, password, _ip(request))
        offline = _last(query, "offline_token") == "true" and bool(_last(query, "client_id"))
        return await request.run(self.issue, identity, requested, offline=offline)

    async def _post(self, request: Request) -> _Issued:
        body = await read_body(request, MAX_FORM_BYTES, "token request form", TOKEN_PATH)
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidArgument(f"the token request form cannot be read: {exc}") from exc
        self._check_service(_last(form, "service"))
        if not _last(form, "client_id"):
            raise InvalidArgument(
                "client_id is required", hint="send client_id with the OAuth2 token request"
            )
        requested = parse_scopes(form.get("scope", []))
        grant_type = _last(form, "grant_type")
        if grant_type == "password":
            username, password = _last(form, "username"), _last(form, "password")
            if not username or password is None:
                raise InvalidArgument("grant_type=password needs username and password")
            identity = await request.run(self._authenticate, username, password, _ip(request))
        elif grant_type == "refresh_token":
            refresh = _last(form, "refresh_token")
            if not refresh:
                raise InvalidArgument("grant_type=refresh_token needs refresh_token")
            identity = await request.run(self.identity_from_refresh, refresh)
        else:
            raise InvalidArgument(
                f"grant_type {str(grant_type)[:40]!r} is not supported",
                hint="use password or refresh_token",
            )
        offline = _last(form, "access_type") == "offline"
        return await request.run(self.issue, identity, requested, offline=offline)

    def _authenticate(self, username: str, password: str, client_ip: str) -> Identity:
        try:
            return self.granter.authenticate(username, password, client_ip=client_ip)
        except TooManyRequests:
            raise
        except DockyardError as exc:
            if exc.http_status == 401:
                raise AuthenticationRequired(
                    "invalid user name or password", challenge=""
                ) from None
            raise


def _last(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[-1] if found else None


def _ip(request: Request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else ""


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationRequired("the token endpoint takes Basic credentials", challenge="")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise AuthenticationRequired("malformed Basic credentials", challenge="") from exc
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise AuthenticationRequired("malformed Basic credentials", challenge="")
    return username, password
