"""How the client reaches registries: TLS choices, mirrors, credentials.

Mirrors and insecure registries come from a JSON file shaped like docker's ``daemon.json``::

    {"registry-mirrors": ["https://mirror.example"],          # for docker.io, like docker
     "mirrors": {"quay.io": ["https://quay-mirror.example"]}, # for any other registry
     "insecure-registries": ["registry.lan:5000"]}

found at ``$DOCKYARD_REGISTRIES_CONFIG``, else ``$XDG_CONFIG_HOME/dockyard/registries.json``,
else ``~/.config/dockyard/registries.json``.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.client._credentials import CredentialStore
from dockyard.errors import InvalidArgument

__all__ = ["ClientOptions", "is_localhost", "load_registries_config"]

CONFIG_ENV = "DOCKYARD_REGISTRIES_CONFIG"


def is_localhost(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` and ``::1`` (with or without a port): registries docker
    treats as insecure by default."""
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class ClientOptions:
    #: None: verify TLS except for localhost-style and insecure registries (docker's rule).
    tls_verify: bool | None = None
    ca_cert: Path | None = None
    insecure_registries: list[str] = field(default_factory=list)
    #: registry host → mirror base URLs (``docker.io`` for ``registry-mirrors``).
    mirrors: dict[str, list[str]] = field(default_factory=dict)
    credentials: CredentialStore = field(default_factory=CredentialStore)
    user_agent: str = "dockyard"
    #: Parallel blob transfers in a copy.
    jobs: int = 6
    #: Attempts for retryable failures (connection drops, 5xx, short 429s).
    retries: int = 4

    def insecure(self, host: str) -> bool:
        """May this host be reached without TLS verification (and over plain HTTP)?"""
        if self.tls_verify is False:
            return True
        if self.tls_verify is True:
            return False
        return host in self.insecure_registries or is_localhost(host)

    @classmethod
    def from_config(cls, path: Path | None = None, **kwargs: object) -> ClientOptions:
        options = cls(**kwargs)  # type: ignore[arg-type]
        mirrors, insecure = load_registries_config(path)
        options.mirrors = {**mirrors, **options.mirrors}
        options.insecure_registries = [*options.insecure_registries, *insecure]
        return options


def _default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dockyard" / "registries.json"


def load_registries_config(path: Path | None = None) -> tuple[dict[str, list[str]], list[str]]:
    """(mirrors by registry host, insecure registries) from the config file, if there is one."""
    path = path or _default_config_path()
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}, []
    except ValueError as exc:
        raise InvalidArgument(f"registry config {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidArgument(f"registry config {path} must hold a JSON object")
    mirrors: dict[str, list[str]] = {}
    hub = data.get("registry-mirrors") or []
    if hub:
        mirrors["docker.io"] = [str(m).rstrip("/") for m in hub]
    for host, urls in (data.get("mirrors") or {}).items():
        if not isinstance(urls, list):
            raise InvalidArgument(f"registry config {path}: mirrors.{host} must be a list of URLs")
        mirrors[str(host)] = [str(u).rstrip("/") for u in urls]
    insecure = [str(h) for h in data.get("insecure-registries") or []]
    return mirrors, insecure
