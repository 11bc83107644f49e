"""``login``: check credentials against the registry, then keep them the way docker does."""

from __future__ import annotations

from dockyard.client._credentials import Credentials
from dockyard.client._remote import RegistryClient
from dockyard.errors import InvalidArgument, Unauthorized

__all__ = ["login", "logout", "registry_host"]


def registry_host(text: str) -> str:
    """``https://host:5000/`` or ``host:5000`` → ``host:5000``; Docker Hub names → docker.io."""
    host = text.strip().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if not host:
        raise InvalidArgument("name a registry, e.g. `dockyard login localhost:5000`")
    if host in ("index.docker.io", "registry-1.docker.io"):
        return "docker.io"
    return host


def login(client: RegistryClient, registry: str, creds: Credentials) -> str:
    """Verify ``creds`` (a token for token-auth registries, an authenticated ``/v2/`` for
    Basic ones) and store them; returns where they were stored."""
    host = registry_host(registry)
    wire = "registry-1.docker.io" if host == "docker.io" else host
    transport = client.transport
    transport.set_credentials(wire, creds)
    try:
        resp = transport.request(wire, "GET", "/v2/", what=f"log in to {host}", ok=(200, 401))
    except Unauthorized as exc:  # a token service refusing the credentials
        raise Unauthorized(
            f"login to {host} failed: {exc.message}", hint="check the user name and password"
        ) from exc
    if resp.status == 401:
        raise Unauthorized(
            f"login to {host} failed: the registry refused user {creds.username!r}",
            hint="check the user name and password",
        )
    return client.options.credentials.store(host, creds)


def logout(client: RegistryClient, registry: str) -> bool:
    return client.options.credentials.erase(registry_host(registry))
