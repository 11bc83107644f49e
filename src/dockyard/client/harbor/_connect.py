"""Which registry a team command talks to, and over which scheme: ``--registry URL``, else
the only registry ``dockyard login`` has credentials for."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from dockyard.client._credentials import CredentialStore, config_key
from dockyard.client._options import ClientOptions
from dockyard.client._transport import Transport
from dockyard.client.harbor._http import ApiConnection
from dockyard.errors import DockyardError, InvalidArgument, Unavailable

__all__ = ["connect", "logged_in_registries", "resolve_registry"]


def logged_in_registries(store: CredentialStore) -> list[str]:
    """The registries docker's ``config.json`` holds credentials (or a helper) for, sorted."""
    try:
        data = json.loads(store.path.read_bytes() or b"{}")
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise InvalidArgument(
            f"{store.path} is not valid JSON ({exc})", hint="fix or remove the file"
        ) from exc
    if not isinstance(data, dict):
        return []
    keys: set[str] = set()
    for section in ("auths", "credHelpers"):
        entries = data.get(section)
        if isinstance(entries, dict):
            keys.update(config_key(str(k)) for k in entries)
    return sorted(keys)


def resolve_registry(registry: str | None, store: CredentialStore) -> str:
    """``registry`` itself, or the one registry logged in to."""
    if registry:
        return registry
    known = logged_in_registries(store)
    if len(known) == 1:
        return known[0]
    if not known:
        raise InvalidArgument(
            "no registry given and none logged in to",
            hint="pass --registry URL (and run `dockyard login HOST` first)",
        )
    raise InvalidArgument(
        f"no registry given and several logged in to ({', '.join(known)})",
        hint="pass --registry URL to say which",
    )


def _split(registry: str) -> tuple[str | None, str]:
    """(scheme or None, host[:port]) of ``http://h:5000``, ``h:5000`` or ``https://h/``."""
    text = registry.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(
                f"--registry {registry!r} is not an http(s) URL", hint="e.g. https://registry:5000"
            )
        if parts.path.strip("/") not in ("", "api/v2.0"):
            raise InvalidArgument(
                f"--registry {registry!r}: give the registry's address, without a path",
                hint="e.g. https://registry:5000",
            )
        return parts.scheme, parts.netloc
    host = text.rstrip("/")
    if not host or "/" in host:
        raise InvalidArgument(
            f"--registry {registry!r} is not a registry address", hint="e.g. registry:5000"
        )
    return None, host


def connect(registry: str, options: ClientOptions | None = None) -> ApiConnection:
    """A connection to ``registry``'s API, checked with ``GET /api/v2.0/ping``. Without a
    scheme, HTTPS is tried first and plain HTTP only for insecure (localhost-style) hosts,
    as the registry client does."""
    options = options or ClientOptions()
    scheme, host = _split(registry)
    transport = Transport(options)
    creds = options.credentials.get(host)
    if scheme is not None:
        candidates = [f"{scheme}://{host}"]
    else:
        candidates = [f"https://{host}"]
        if options.insecure(host):
            candidates.append(f"http://{host}")
    last: DockyardError | None = None
    for base in candidates:
        conn = ApiConnection(transport, host, base, creds)
        try:
            conn.request("GET", "/ping", what=f"reach the API of {host}")
        except Unavailable as exc:
            last = exc
            continue
        return conn
    assert last is not None
    raise last
