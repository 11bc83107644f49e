"""Registry authentication: htpasswd files (bcrypt), Basic credentials, the 401 challenge."""

from dockyard.registry.auth._authenticator import (
    AuthenticationRequired,
    Authenticator,
    HtpasswdAuthenticator,
    basic_challenge,
    parse_basic_authorization,
)
from dockyard.registry.auth._htpasswd import (
    BCRYPT_PREFIXES,
    DEFAULT_COST,
    MAX_PASSWORD_BYTES,
    HtpasswdFile,
    check_password,
    delete_user,
    hash_password,
    htpasswd_line,
    is_bcrypt,
    parse_htpasswd,
    read_htpasswd,
    set_user,
)
from dockyard.registry.auth._response import (
    access_detail,
    unauthorized_body,
    unauthorized_response,
)

__all__ = [
    "BCRYPT_PREFIXES",
    "DEFAULT_COST",
    "MAX_PASSWORD_BYTES",
    "AuthenticationRequired",
    "Authenticator",
    "HtpasswdAuthenticator",
    "HtpasswdFile",
    "access_detail",
    "basic_challenge",
    "check_password",
    "delete_user",
    "hash_password",
    "htpasswd_line",
    "is_bcrypt",
    "parse_basic_authorization",
    "parse_htpasswd",
    "read_htpasswd",
    "set_user",
    "unauthorized_body",
    "unauthorized_response",
]
