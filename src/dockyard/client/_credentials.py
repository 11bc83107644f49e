"""Registry credentials in docker's ``config.json``, shared with docker, skopeo and podman.

``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``) holds ``auths`` entries with
base64 ``user:password``; ``credsStore`` / ``credHelpers`` name ``docker-credential-<helper>``
programs that keep the secrets instead (the docker-credential-helpers protocol: ``get``,
``store``, ``erase`` with JSON on stdin/stdout).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.atomicfile import write_atomic
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = ["DOCKER_HUB_KEY", "CredentialStore", "Credentials", "config_key"]

#: The key docker uses for Docker Hub in ``auths``.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_DOMAINS = {"docker.io", "index.docker.io", "registry-1.docker.io"}
#: The user name helpers return when the secret is an identity (refresh) token.
TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = ""
    #: An OAuth2 refresh token (docker's ``identitytoken``), used instead of the password.
    identity_token: str | None = None


def config_key(registry: str) -> str:
    """The ``auths`` key for a registry host (Docker Hub keeps its historical URL)."""
    host = registry.removeprefix("https://").removeprefix("http://").rstrip("/")
    host = host.removesuffix("/v1").removesuffix("/v2")
    return DOCKER_HUB_KEY if host in _HUB_DOMAINS else host


def _host_of(key: str) -> str:
    host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return "docker.io" if host in _HUB_DOMAINS else host


class CredentialStore:
    """Reads and writes credentials the way ``docker login`` does."""

    def __init__(self, config_dir: Path | None = None) -> None:
        if config_dir is None:
            env = os.environ.get("DOCKER_CONFIG")
            config_dir = Path(env) if env else Path.home() / ".docker"
        self.config_dir = Path(config_dir)
        self.path = self.config_dir / "config.json"

    # --- the file --------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes() or b"{}")
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise InvalidArgument(
                f"{self.path} is not valid JSON ({exc})", hint="fix or remove the file"
            ) from exc
        if not isinstance(data, dict):
            raise InvalidArgument(f"{self.path} must hold a JSON object")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(data, indent="\t") + "\n"
        write_atomic(self.path, text.encode(), mode=0o600)

    def _helper(self, data: dict[str, Any], key: str) -> str | None:
        helpers = data.get("credHelpers") or {}
        host = _host_of(key)
        for candidate in (key, host):
            if isinstance(helpers, dict) and helpers.get(candidate):
                return str(helpers[candidate])
        store = data.get("credsStore")
        return str(store) if store else None

    # --- the API ---------------------------------------------------------------------------

    def get(self, registry: str) -> Credentials | None:
        """Credentials for a registry host, or None for anonymous access."""
        key = config_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        if helper is not None:
            found = _run_helper(helper, "get", key)
            if found is not None:
                user, secret = str(found.get("Username", "")), str(found.get("Secret", ""))
                if user == TOKEN_USER:
                    return Credentials("", "", identity_token=secret)
                return Credentials(user, secret)
        auths = data.get("auths") or {}
        entry = _find_entry(auths, key)
        if entry is None:
            return None
        token = entry.get("identitytoken") or None
        encoded = entry.get("auth")
        user, password = "", ""
        if encoded:
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidArgument(
                    f"{self.path}: the auth entry for {key} is not base64 user:password",
                    hint=f"run `dockyard login {_host_of(key)}` again",
                ) from exc
        elif entry.get("username"):
            user, password = str(entry["username"]), str(entry.get("password", ""))
        if not user and not token:
            return None
        return Credentials(user, password, identity_token=token)

    def store(self, registry: str, creds: Credentials) -> str:
        """Save credentials; returns where they went (the file or the helper's name)."""
        key = config_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        auths = data.setdefault("auths", {})
        if helper is not None:
            user = TOKEN_USER if creds.identity_token else creds.username
            secret = creds.identity_token or creds.password
            _run_helper(
                helper, "store", json.dumps({"ServerURL": key, "Username": user, "Secret": secret})
            )
            auths[key] = {}
            self._save(data)
            return f"docker-credential-{helper}"
        entry: dict[str, str] = {
            "auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        }
        if creds.identity_token:
            entry["identitytoken"] = creds.identity_token
        auths[key] = entry
        self._save(data)
        return str(self.path)

    def erase(self, registry: str) -> bool:
        """Forget a registry's credentials; False when there were none."""
        key = config_key(registry)
        data = self._load()
        helper = self._helper(data, key)
        removed = False
        if helper is not None:
            try:
                _run_helper(helper, "erase", key)
                removed = True
            except NotFound:
                pass
        auths = data.get("auths") or {}
        for candidate in list(auths):
            if config_key(candidate) == key:
                del auths[candidate]
                removed = True
        if removed:
            self._save(data)
        return removed


def _find_entry(auths: dict[str, Any], key: str) -> dict[str, Any] | None:
    if key in auths and isinstance(auths[key], dict):
        return auths[key]  # type: ignore[no-any-return]
    for candidate, entry in auths.items():
        if config_key(candidate) == key and isinstance(entry, dict):
            return entry
    return None


def _run_helper(helper: str, action: str, payload: str) -> dict[str, Any] | None:
    # imported here: only configs naming a helper need them, and every command reads creds
    import shutil
    import subprocess

    program = f"docker-credential-{helper}"
    path = shutil.which(program)
    if path is None:
        raise FailedPrecondition(
            f"credential helper {program} is not installed (named by credsStore/credHelpers "
            "in docker's config.json)",
            hint=f"install {program} or remove it from the config",
        )
    result = subprocess.run(
        [path, action], input=payload.encode(), capture_output=True, check=False, timeout=60
    )
    out = result.stdout.decode(errors="replace").strip()
    if result.returncode != 0:
        if "credentials not found" in out.lower():
            if action == "get":
                return None
            raise NotFound(f"{program}: no credentials for {payload}")
        message = out or result.stderr.decode(errors="replace").strip()
        raise FailedPrecondition(f"{program} {action} failed: {message}")
    if action != "get":
        return None
    try:
        found = json.loads(out)
    except ValueError as exc:
        raise FailedPrecondition(f"{program} get printed something that is not JSON") from exc
    return found if isinstance(found, dict) else None
