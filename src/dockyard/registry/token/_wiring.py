"""Putting the pieces together from configuration: dockyard's own token service, or an
external issuer's tokens checked as registry:2's ``auth.token`` checks them."""

from __future__ import annotations

from pathlib import Path

from dockyard.errors import InvalidArgument
from dockyard.registry.token._endpoint import TOKEN_PATH, TokenService
from dockyard.registry.token._grant import Granter
from dockyard.registry.token._keys import (
    TrustedKeys,
    load_jwks,
    load_or_create_signing_key,
    load_signing_key,
    load_trusted_certificates,
)
from dockyard.registry.token._verify import BearerAuthorizer, TokenVerifier

__all__ = ["external_token_auth", "own_token_auth"]


def own_token_auth(
    granter: Granter,
    key_dir: Path,
    *,
    issuer: str,
    service: str,
    realm: str | None = None,
    lifetime: int = 300,
    key: Path | None = None,
    certificate: Path | None = None,
) -> tuple[BearerAuthorizer, TokenService]:
    """The authorizer for ``/v2/`` and the token endpoint (served at ``TOKEN_PATH``) of a
    registry issuing its own tokens, signed with the key in ``key_dir`` (created when missing)
    or the given ``key`` and ``certificate`` files."""
    if key is not None and certificate is not None:
        signing = load_signing_key(key, certificate)
    elif key is not None or certificate is not None:
        raise InvalidArgument(
            "a token signing key needs both the key and its certificate",
            hint="set both, or neither (dockyard then creates its own)",
        )
    else:
        signing = load_or_create_signing_key(key_dir, common_name=issuer)
    service_ = TokenService(granter, signing, issuer=issuer, service=service, lifetime=lifetime)
    verifier = TokenVerifier(TrustedKeys.of_signing_key(signing), issuer=issuer, service=service)
    return BearerAuthorizer(verifier, realm=realm, realm_path=TOKEN_PATH), service_


def external_token_auth(
    *,
    realm: str,
    service: str,
    issuer: str,
    rootcertbundle: Path | None,
    jwks: Path | None = None,
    autoredirect: bool = False,
) -> BearerAuthorizer:
    """registry:2's ``auth.token``: trust tokens from ``issuer`` for ``service`` signed by a
    key of the certificate bundle or the JWKS file."""
    trusted = TrustedKeys({})
    if rootcertbundle is not None:
        trusted = trusted.merged(load_trusted_certificates(rootcertbundle))
    if jwks is not None:
        trusted = trusted.merged(load_jwks(jwks))
    if not trusted.by_kid:
        raise InvalidArgument(
            "token auth needs at least one trusted signing key",
            hint="set auth.token.rootcertbundle (or auth.token.jwks)",
        )
    verifier = TokenVerifier(trusted, issuer=issuer, service=service)
    return BearerAuthorizer(verifier, realm=realm, autoredirect=autoredirect)
