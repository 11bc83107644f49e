"""dockyard's registry with its own token service, served on 127.0.0.1 from a thread.

The app is the real one (``build_app`` from a config with ``auth.htpasswd.token``), on a real
uvicorn server, so docker, podman, skopeo and distribution talk HTTP to it. A test passes a
:class:`AclGranter` to decide who gets which scopes without the access model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from _infra import backend
from _infra._registry import free_port
from dockyard.errors import TooManyRequests
from dockyard.registry import RegistryApp
from dockyard.registry._server import build_app
from dockyard.registry.auth import AuthenticationRequired, htpasswd_line
from dockyard.registry.config import load
from dockyard.registry.identity import Identity, Scope
from dockyard.registry.token import Granter

SERVICE = "dockyard-token-tests"
ISSUER = "dockyard-token-tests-issuer"


class AclGranter:
    """Users with passwords and per-repository actions (prefix → actions); ``blocked`` client
    addresses get TooManyRequests. Implements Granter and SubjectLookup."""

    def __init__(
        self,
        users: dict[str, str],
        acl: dict[str, dict[str, set[str]]],
        *,
        blocked: Sequence[str] = (),
    ) -> None:
        self.users = users
        self.acl = acl
        self.blocked = set(blocked)
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, username: str, password: str, *, client_ip: str) -> Identity:
        self.logins.append((username, client_ip))
        if client_ip in self.blocked:
            raise TooManyRequests("too many failed logins from this address", retry_after=7)
        if self.users.get(username) != password:
            raise AuthenticationRequired("wrong password", challenge="")
        return Identity(kind="user", name=username)

    def grant(self, identity: Identity, requested: Sequence[Scope]) -> list[Scope]:
        rules = self.acl.get(identity.name, {}) if not identity.anonymous else {}
        rules = {**self.acl.get("", {}), **rules}
        out = []
        for scope in requested:
            allowed: set[str] = set()
            for prefix, actions in rules.items():
                if scope.type == "repository" and scope.name.startswith(prefix):
                    allowed |= actions
            keep = [a for a in scope.actions if a in allowed]
            if keep:
                out.append(scope.with_actions(keep))
        return out

    def identity_of(self, subject: str) -> Identity | None:
        return Identity(kind="user", name=subject) if subject in self.users else None


@dataclass
class TokenRegistry:
    app: RegistryApp
    host: str
    root: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def cert(self) -> Path:
        """The signing certificate: distribution's ``rootcertbundle``."""
        return self.root / "data" / "token" / "signing-cert.pem"


def token_config_env(root: Path, users: dict[str, str]) -> dict[str, str]:
    """``REGISTRY_*`` for htpasswd users and dockyard's own token service (data under
    ``root/data``: on the cluster's servers with DOCKYARD_TEST_BACKEND=cluster)."""
    root.mkdir(parents=True, exist_ok=True)
    htpasswd = root / "htpasswd"
    htpasswd.write_text("".join(htpasswd_line(u, p, cost=4) + "\n" for u, p in users.items()))
    return {
        **backend.serve_env(root / "data", {}),
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "dockyard-tests",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
        "REGISTRY_AUTH_HTPASSWD_TOKEN_SERVICE": SERVICE,
        "REGISTRY_AUTH_HTPASSWD_TOKEN_ISSUER": ISSUER,
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root / "data"),
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
    }


@contextmanager
def token_registry(
    root: Path, users: dict[str, str], granter: Granter | None = None
) -> Iterator[TokenRegistry]:
    """Serve the registry on a free 127.0.0.1 port until the block ends."""
    config = load(None, token_config_env(root, users))
    app = build_app(config, access_log=False, granter=granter)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the token registry did not start")
        time.sleep(0.02)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 401
        yield TokenRegistry(app, f"127.0.0.1:{port}", root)
    finally:
        server.should_exit = True
        thread.join(10)
        app.registry.close()
