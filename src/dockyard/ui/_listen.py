"""Where ``dockyard ui`` may listen, failing closed: a loopback address by default; any other
address only when asked for explicitly (``allow_remote``) *and* protected by a token of at
least :data:`MIN_TOKEN` characters, which every request must then present."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

__all__ = ["DEFAULT_HOST", "MIN_TOKEN", "Listen", "check_listen"]

DEFAULT_HOST = "127.0.0.1"
MIN_TOKEN = 16


@dataclass(frozen=True, slots=True)
class Listen:
    """The address to bind; ``token``: what each request must present (None: none asked,
    loopback only)."""

    host: str
    port: int
    token: str | None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(
    host: str, port: int, *, allow_remote: bool = False, token: str | None = None
) -> Listen:
    """The checked address; refuses a non-loopback ``host`` without ``allow_remote`` and a
    token, a short token, a host name that is no address, and a bad port."""
    if not 0 <= port <= 65535:
        raise InvalidArgument(f"--port must be between 0 and 65535, not {port}")
    token = token or None
    if token is not None and len(token) < MIN_TOKEN:
        raise InvalidArgument(
            f"the token must have at least {MIN_TOKEN} characters; make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
        )
    host = host.strip("[]")
    if host == "localhost":
        host = DEFAULT_HOST
    if is_loopback(host):
        return Listen(host, port, token)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidArgument(
            f"--listen takes an IP address, not {host!r} (127.0.0.1 for this machine only)"
        ) from None
    if not allow_remote or token is None:
        raise InvalidArgument(
            f"{host} is reachable from other machines and the UI shows every image in the "
            "store: it listens on 127.0.0.1 unless you pass --allow-remote and a token "
            f"(--token-file FILE or $DOCKYARD_UI_TOKEN, at least {MIN_TOKEN} characters)"
        )
    return Listen(host, port, token)
