"""The Docker token service and bearer tokens at ``/v2/``.

dockyard issues its own tokens (``/service/token``: Basic credentials or an OAuth2 form in, a
signed JWT granting the allowed subset of the requested scopes out) and accepts its own tokens
or an external issuer's, configured as registry:2's ``auth.token``.
"""

from dockyard.registry.token._endpoint import TOKEN_PATH, TokenService
from dockyard.registry.token._grant import Granter, HtpasswdGranter, SubjectLookup, granted_subset
from dockyard.registry.token._jwt import (
    LEEWAY,
    MAX_TOKEN_BYTES,
    InvalidToken,
    VerifiedToken,
    issue_token,
    verify_token,
)
from dockyard.registry.token._keys import (
    SigningKey,
    TrustedKeys,
    key_id,
    load_jwks,
    load_or_create_signing_key,
    load_signing_key,
    load_trusted_certificates,
)
from dockyard.registry.token._verify import BearerAuthorizer, TokenVerifier
from dockyard.registry.token._wiring import external_token_auth, own_token_auth

__all__ = [
    "LEEWAY",
    "MAX_TOKEN_BYTES",
    "TOKEN_PATH",
    "BearerAuthorizer",
    "Granter",
    "HtpasswdGranter",
    "InvalidToken",
    "SigningKey",
    "SubjectLookup",
    "TokenService",
    "TokenVerifier",
    "TrustedKeys",
    "VerifiedToken",
    "external_token_auth",
    "granted_subset",
    "issue_token",
    "key_id",
    "load_jwks",
    "load_or_create_signing_key",
    "load_signing_key",
    "load_trusted_certificates",
    "own_token_auth",
    "verify_token",
]
