"""Issuing and verifying the registry's JSON Web Tokens (the Docker token spec's JWT profile).

Issued tokens have distribution 2.8's shape: header ``typ``/``alg``/``kid`` (libtrust key ID;
``x5c`` optionally), claims ``iss``, ``sub``, ``aud`` (one string: distribution 2.8 reads no
list), ``exp``, ``nbf``, ``iat``, ``jti`` and ``access``.

Verification is strict: the token is bounded in size, its algorithm must be one the key's type
allows (never ``none``, never an HMAC keyed with a public key), the key is found as
distribution finds it (``x5c`` chained to a trusted root, else ``jwk`` that is itself trusted,
else ``kid``), and ``iss``, ``aud``, ``exp`` and ``nbf`` are checked with at most 60 s of leeway.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from dockyard.errors import Unauthorized
from dockyard.registry._authorize import AccessSet
from dockyard.registry.identity import MAX_SCOPES, Scope
from dockyard.registry.token._keys import (
    PublicKey,
    SigningKey,
    TrustedKeys,
    allowed_algorithms,
    key_id,
)

__all__ = [
    "LEEWAY",
    "MAX_TOKEN_BYTES",
    "InvalidToken",
    "VerifiedToken",
    "issue_token",
    "verify_token",
]

#: Clock skew allowed on ``exp`` and ``nbf`` (distribution's ``Leeway``).
LEEWAY = 60
#: The longest token accepted (an ``Authorization`` header is bounded by the framing limits too).
MAX_TOKEN_BYTES = 16 * 1024
#: The most certificates an ``x5c`` chain may hold.
MAX_CHAIN = 4
#: The most actions per ``access`` entry.
MAX_ACTIONS = 16


class InvalidToken(Unauthorized):
    """A token that is malformed, badly signed, expired or not for this registry."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a valid token says: who, what it grants, until when (epoch seconds)."""

    subject: str
    access: AccessSet
    expires: float
    claims: Mapping[str, Any]


def issue_token(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    audience: str,
    access: Sequence[Scope],
    lifetime: int,
    now: float | None = None,
    x5c: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A signed token granting ``access`` to ``subject`` for ``lifetime`` seconds."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued + lifetime,
        "nbf": issued - 1,
        "iat": issued,
        "jti": secrets.token_urlsafe(18),
        "access": [s.claim() for s in access],
        **(extra or {}),
    }
    headers: dict[str, Any] = {"typ": "JWT", "kid": key.kid}
    if x5c:
        headers["x5c"] = [key.certificate_der_b64()]
    return jwt.encode(claims, key.private, algorithm=key.algorithm, headers=headers)


def issued_at_text(epoch: float) -> str:
    """``issued_at`` as the token spec writes it (RFC 3339, UTC)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).isoformat().replace("+00:00", "Z")


def _invalid(why: str) -> InvalidToken:
    return InvalidToken(f"invalid token: {why}", hint="log in again to get a new token")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _chain_key(x5c: Any, trusted: TrustedKeys, now: dt.datetime) -> PublicKey:
    """The leaf key of an ``x5c`` chain that leads to one of the trusted roots."""
    if not isinstance(x5c, list) or not 0 < len(x5c) <= MAX_CHAIN:
        raise _invalid("malformed x5c certificate chain")
    try:
        chain = [x509.load_der_x509_certificate(_b64decode(c)) for c in x5c]
    except (TypeError, ValueError, binascii.Error) as exc:
        raise _invalid("x5c holds an unreadable certificate") from exc
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _invalid("a certificate of the x5c chain is not valid now")
    if not _chains_to_root(chain, trusted.roots):
        raise _invalid("the x5c chain does not lead to a trusted certificate")
    public = chain[0].public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise _invalid("the x5c leaf key cannot sign tokens")
    return public


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _chains_to_root(chain: list[x509.Certificate], roots: Sequence[x509.Certificate]) -> bool:
    """Whether ``chain`` (leaf first) is a trusted root, or each certificate is issued by the
    next until one is a trusted root or issued by one."""
    trusted = {r.public_bytes(Encoding.DER) for r in roots}
    for i, cert in enumerate(chain):
        if cert.public_bytes(Encoding.DER) in trusted:
            return True
        if any(_issued_by(cert, root) for root in roots):
            return True
        if i + 1 == len(chain) or not _is_ca(chain[i + 1]) or not _issued_by(cert, chain[i + 1]):
            return False
    return False


def _header_key(header: Mapping[str, Any], trusted: TrustedKeys) -> PublicKey:
    """The key a token says signed it, if trusted (distribution's order: x5c, jwk, kid)."""
    if "x5c" in header:
        return _chain_key(header["x5c"], trusted, dt.datetime.now(dt.UTC))
    if "jwk" in header:
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise _invalid("malformed jwk header")
        try:
            public: Any = (
                ECAlgorithm.from_jwk(jwk) if jwk.get("kty") == "EC" else RSAAlgorithm.from_jwk(jwk)
            )
        except Exception as exc:  # PyJWT's InvalidKeyError, ValueError, KeyError
            raise _invalid("unreadable jwk header") from exc
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise _invalid("the jwk header is not a public key")
        known = trusted.by_kid.get(key_id(public))
        if known is None or known != public:
            raise _invalid("token signed by an untrusted key")
        return known
    kid = header.get("kid")
    if isinstance(kid, str) and kid:
        found = trusted.by_kid.get(kid)
        if found is None:
            raise _invalid(f"token signed by an untrusted key with ID {kid[:64]!r}")
        return found
    raise _invalid("the token names no signing key (kid, jwk or x5c)")


def _access(claim: Any) -> AccessSet:
    if claim is None:
        return AccessSet(frozenset())
    if not isinstance(claim, list) or len(claim) > MAX_SCOPES:
        raise _invalid("malformed access claim")
    entries: set[tuple[str, str, str]] = set()
    for item in claim:
        if not isinstance(item, dict):
            raise _invalid("malformed access claim")
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if not isinstance(kind, str) or not isinstance(name, str):
            raise _invalid("malformed access claim")
        if actions is None:
            continue
        if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
            raise _invalid("malformed access claim")
        for action in actions:
            if not isinstance(action, str):
                raise _invalid("malformed access claim")
            entries.add((kind, name, action))
    return AccessSet(frozenset(entries))


def verify_token(
    token: str,
    trusted: TrustedKeys,
    *,
    issuer: str,
    audience: str,
    leeway: int = LEEWAY,
    now: float | None = None,
) -> VerifiedToken:
    """The token's subject and grants, or :class:`InvalidToken` saying why not."""
    if len(token) > MAX_TOKEN_BYTES:
        raise _invalid(f"longer than {MAX_TOKEN_BYTES} bytes")
    if not 0 <= leeway <= LEEWAY:
        raise ValueError(f"leeway must be 0 to {LEEWAY} seconds")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _invalid("malformed token") from exc
    key = _header_key(header, trusted)
    alg = header.get("alg")
    algorithms = allowed_algorithms(key)
    if alg not in algorithms:
        raise _invalid(f"algorithm {str(alg)[:16]!r} is not allowed for this key")
    options: Any = {"require": ["exp", "iss", "aud", "sub"], "verify_iat": False}
    try:
        if now is None:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(algorithms),
                audience=audience,
                issuer=issuer,
                leeway=leeway,
                options=options,
            )
        else:  # an explicit clock (tests): check exp/nbf ourselves against it
            claims = jwt.decode(
                token,
                key,
                algorithms=list(algorithms),
                audience=audience,
                issuer=issuer,
                options=dict(options, verify_exp=False, verify_nbf=False),  # type: ignore[arg-type]
            )
            _check_times(claims, now, leeway)
    except jwt.ExpiredSignatureError as exc:
        raise _invalid("expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _invalid("not valid yet") from exc
    except jwt.InvalidAudienceError as exc:
        raise _invalid("issued for another service") from exc
    except jwt.InvalidIssuerError as exc:
        raise _invalid("from an untrusted issuer") from exc
    except jwt.PyJWTError as exc:
        raise _invalid(str(exc)[:200]) from exc
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise _invalid("the subject is not a string")
    expires = claims.get("exp")
    if not isinstance(expires, int | float):
        raise _invalid("exp is not a number")
    return VerifiedToken(subject, _access(claims.get("access")), float(expires) + leeway, claims)


def _check_times(claims: Mapping[str, Any], now: float, leeway: int) -> None:
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or (nbf is not None and not isinstance(nbf, int | float)):
        raise jwt.DecodeError("exp and nbf must be numbers")
    if now > exp + leeway:
        raise jwt.ExpiredSignatureError("expired")
    if nbf is not None and now < nbf - leeway:
        raise jwt.ImmatureSignatureError("not yet valid")


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims without any check (tests and diagnostics only)."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))
