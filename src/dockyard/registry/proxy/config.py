"""The ``proxy:`` section: registry:2's pull-through cache, and several upstreams behind one.

registry:2's shape is kept as it is::

    proxy:
      remoteurl: https://registry-1.docker.io
      username: [username]
      password: [password]
      ttl: 168h

(``REGISTRY_PROXY_REMOTEURL``, ``REGISTRY_PROXY_USERNAME`` … set the same keys), and one mirror
may front several upstreams, each with its own credentials and TTL::

    proxy:
      upstreams:
        - {name: dockerhub, remoteurl: https://registry-1.docker.io, ttl: 10m}
        - {name: ghcr, remoteurl: https://ghcr.io, hosts: [ghcr.io]}

A request with containerd's ``?ns=<host>`` goes to the upstream whose ``remoteurl`` host (or
one of whose ``hosts``) is ``<host>``; Docker Hub's upstream answers to ``docker.io`` too. A
request without ``ns`` whose repository name begins with an upstream's ``name`` as its own
component (``/v2/ghcr/org/app/…``: a podman, skopeo or docker client given
``mirror:5000/ghcr`` as the location) goes to that upstream, the component stripped; any other
goes to the first upstream (or the top-level ``remoteurl``), the default. A mirror of a single
upstream serves every ``ns``, as registry:2 does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.errors import InvalidArgument
from dockyard.registry._config_tree import STR, STRLIST, ListOf, Section
from dockyard.registry.limits import parse_duration

__all__ = ["DEFAULT_TTL", "PROXY_SCHEMA", "ProxyConfig", "Upstream", "proxy_from_section"]

#: How long a tag looked up upstream is served without asking again, unless ``ttl`` says.
DEFAULT_TTL = 300.0

_UPSTREAM_KEYS = {"name": STR, "remoteurl": STR, "username": STR, "password": STR, "ttl": STR}

#: What config.py checks the section against (strict: it carries credentials).
PROXY_SCHEMA = Section(
    {
        **_UPSTREAM_KEYS,
        "upstreams": ListOf(Section({**_UPSTREAM_KEYS, "hosts": STRLIST})),
    },
    strict=True,
)

_DOCKER_HUB = {"registry-1.docker.io", "index.docker.io", "registry.hub.docker.com"}
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Upstream:
    """One registry the mirror pulls through to."""

    name: str
    #: ``scheme://host[:port]``, without a trailing slash
    remoteurl: str
    username: str | None = None
    password: str | None = None
    #: seconds a tag's digest is trusted without asking the upstream; 0: ask every time
    ttl: float = DEFAULT_TTL
    #: the ``?ns=`` values (registry host names) that select this upstream
    hosts: tuple[str, ...] = ()
    #: whether a first path component equal to ``name`` selects this upstream (every upstream
    #: named in the section; not registry:2's unnamed top-level ``remoteurl``)
    prefixed: bool = False
    #: skip TLS verification (an endpoint registry marked ``insecure``)
    insecure: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.remoteurl).netloc


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """The upstreams, the default first."""

    upstreams: tuple[Upstream, ...]

    @property
    def default(self) -> Upstream:
        return self.upstreams[0]

    def for_namespace(self, ns: str | None) -> Upstream | None:
        """The upstream a request's ``ns`` names (None: no upstream is that host); without
        ``ns``, the default."""
        if not ns:
            return self.default
        ns = ns.lower()
        for upstream in self.upstreams:
            if ns == upstream.host.lower() or ns in upstream.hosts:
                return upstream
        # registry:2 ignores ns: a mirror of one upstream serves whatever it is a mirror for
        return self.default if len(self.upstreams) == 1 else None

    def for_path(self, name: str) -> tuple[Upstream, str]:
        """For a request without ``ns``: the upstream ``name``'s first component names (and
        the rest of ``name``), or the default with ``name`` unchanged. A bare ``name`` with no
        ``/`` is never a prefix."""
        first, slash, rest = name.partition("/")
        if slash and rest:
            for upstream in self.upstreams:
                if upstream.prefixed and upstream.name == first:
                    return upstream, rest
        return self.default, name


def _ttl(value: Any, key: str) -> float:
    if value is None or value == "":
        return DEFAULT_TTL
    if str(value).strip() in ("0", "0s"):
        return 0.0
    return parse_duration(value, key)


def _remoteurl(value: Any, key: str) -> str:
    url = str(value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise InvalidArgument(
            f"{key} must be a registry's base URL such as https://registry-1.docker.io, "
            f"got {value!r}"
        )
    return url


def _upstream(section: dict[str, Any], key: str, default_name: str) -> Upstream:
    url = _remoteurl(section.get("remoteurl"), f"{key}.remoteurl")
    name = str(section.get("name") or default_name).lower()
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"{key}.name {name!r} is not a valid name: use lower-case letters, digits, '.', "
            "'_' or '-'"
        )
    username, password = section.get("username"), section.get("password")
    if bool(username) != bool(password):
        raise InvalidArgument(
            f"{key} has a username without a password or a password without a username",
            hint="set both, or neither for an anonymous upstream",
        )
    hosts = tuple(h.lower() for h in section.get("hosts") or ())
    if urlsplit(url).netloc.lower() in _DOCKER_HUB and "docker.io" not in hosts:
        hosts += ("docker.io",)  # what containerd sends as ns for Docker Hub
    return Upstream(
        name=name,
        remoteurl=url,
        username=username or None,
        password=password or None,
        ttl=_ttl(section.get("ttl"), f"{key}.ttl"),
        hosts=hosts,
        prefixed=bool(section.get("name")),
    )


def proxy_from_section(section: dict[str, Any] | None) -> ProxyConfig | None:
    """The validated ``proxy:`` section (None when it is absent)."""
    if not section:
        return None
    upstreams: list[Upstream] = []
    if section.get("remoteurl"):
        upstreams.append(_upstream(section, "proxy", "default"))
    elif any(section.get(k) for k in ("username", "password", "ttl", "name")):
        raise InvalidArgument(
            "proxy has credentials or a ttl but no remoteurl",
            hint="set proxy.remoteurl (REGISTRY_PROXY_REMOTEURL), or configure proxy.upstreams",
        )
    for i, item in enumerate(section.get("upstreams") or ()):
        upstreams.append(_upstream(item, f"proxy.upstreams[{i}]", ""))
    if not upstreams:
        raise InvalidArgument(
            "proxy has no upstream",
            hint="set proxy.remoteurl (REGISTRY_PROXY_REMOTEURL) or list proxy.upstreams",
        )
    seen: set[str] = set()
    for u in upstreams:
        if u.name in seen:
            raise InvalidArgument(f"proxy has two upstreams named {u.name!r}; names must differ")
        seen.add(u.name)
    return ProxyConfig(tuple(upstreams))
