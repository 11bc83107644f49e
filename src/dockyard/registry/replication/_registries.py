"""Endpoint registries (Harbor's ``/registries``): where replication copies artifacts to, with
the credential to use there. The credential's secret is stored sealed (:mod:`._secrets`),
opened to be used, never answered (the API shows :data:`MASK`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, inspect, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry.access._schema import projects
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows
from dockyard.registry.replication._schema import metadata, policies, registries
from dockyard.registry.replication._secrets import SecretBox, is_sealed

__all__ = [
    "ENDPOINT_TYPES",
    "MASK",
    "REGISTRY_TYPES",
    "RegistryNotFound",
    "RegistryStore",
    "RemoteRegistry",
    "check_url",
    "ping_target",
    "registry_from_json",
    "registry_update",
]

#: The endpoint types dockyard replicates to (both speak the distribution API).
REGISTRY_TYPES = ("docker-registry", "harbor")
#: The types an endpoint may have: those, and the ones only a proxy cache project pulls from
#: (their registry API is the distribution API; Harbor's names).
ENDPOINT_TYPES = (*REGISTRY_TYPES, "docker-hub", "github-ghcr", "quay")
#: What the API answers for a secret (Harbor's mask); given back in an update, it keeps the
#: stored secret, as a blank one does.
MASK = "*****"
#: The longest secret taken (sealed, it must fit the column's 4096 characters).
MAX_SECRET = 2048


class RegistryNotFound(NotFound):
    """No endpoint registry with that id."""


@dataclass(frozen=True, slots=True)
class RemoteRegistry:
    id: int
    name: str
    type: str
    url: str
    description: str = ""
    #: "basic", or "" for none
    credential_type: str = ""
    access_key: str = ""
    access_secret: str = ""
    insecure: bool = False
    creation_time: float = 0.0
    update_time: float = 0.0

    @property
    def host(self) -> str:
        """``host[:port]`` of the URL (the key of its credential in the client)."""
        return urlsplit(self.url).netloc


def _text(body: dict[str, Any], key: str, default: str = "", *, limit: int = 255) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(f"{key} must be a string")
    if len(value) > limit:
        raise InvalidArgument(f"{key} is longer than {limit} characters")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArgument(f"{key} must be true or false")
    return value


def check_url(url: str) -> str:
    """An ``http(s)://host[:port]`` URL (a trailing slash dropped); InvalidArgument else."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            f"registry url {url[:200]!r} must be http://host[:port] or https://host[:port]"
        )
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise InvalidArgument(
            f"registry url {url[:200]!r} must name only the scheme, host and port",
            hint="give credentials in credential.access_key/access_secret",
        )
    return url


def _check(registry: RemoteRegistry) -> RemoteRegistry:
    if not registry.name.strip():
        raise InvalidArgument("the registry needs a name")
    if registry.type not in ENDPOINT_TYPES:
        raise InvalidArgument(
            f"registry type {registry.type[:60]!r} is not supported",
            hint="use one of " + ", ".join(ENDPOINT_TYPES),
        )
    if registry.credential_type not in ("", "basic"):
        raise InvalidArgument(
            f"credential type {registry.credential_type[:60]!r} is not supported; use basic"
        )
    return replace(registry, url=check_url(registry.url))


def registry_from_json(body: dict[str, Any]) -> RemoteRegistry:
    """A new endpoint from Harbor's ``Registry`` body (``credential`` nested)."""
    credential = body.get("credential") or {}
    if not isinstance(credential, dict):
        raise InvalidArgument("credential must be an object")
    key = _text(credential, "access_key")
    secret = _text(credential, "access_secret", limit=MAX_SECRET)
    if secret == MASK:
        raise InvalidArgument(f"credential.access_secret {MASK!r} is the API's mask, no secret")
    kind = _text(credential, "type", "basic" if key else "")
    return _check(
        RemoteRegistry(
            id=0,
            name=_text(body, "name"),
            type=_text(body, "type", "docker-registry", limit=32),
            url=_text(body, "url", limit=2048),
            description=_text(body, "description", limit=1024),
            credential_type=kind if key or secret else "",
            access_key=key,
            access_secret=secret,
            insecure=_bool(body, "insecure", False),
        )
    )


def registry_update(base: RemoteRegistry, body: dict[str, Any]) -> RemoteRegistry:
    """``base`` with Harbor's ``RegistryUpdate`` applied (absent or null fields kept; an
    empty ``access_secret`` keeps the stored one, as Harbor's console sends it blank)."""
    key = _text(body, "access_key", base.access_key)
    secret = _text(body, "access_secret", "", limit=MAX_SECRET)
    secret = base.access_secret if secret in ("", MASK) else secret
    if "access_key" in body and not key:
        secret = ""
    return _check(
        replace(
            base,
            name=_text(body, "name", base.name),
            description=_text(body, "description", base.description, limit=1024),
            url=_text(body, "url", base.url, limit=2048),
            credential_type=_text(body, "credential_type", base.credential_type or "basic")
            if key
            else "",
            access_key=key,
            access_secret=secret,
            insecure=_bool(body, "insecure", base.insecure),
        )
    )


def ping_target(body: dict[str, Any], stored: RemoteRegistry | None) -> RemoteRegistry:
    """What ``/registries/ping`` should try: the stored endpoint (``id``) with the body's
    changes, or the body alone."""
    if stored is not None:
        return registry_update(stored, body)
    return registry_from_json(
        {
            "name": "ping",
            "type": body.get("type") or "docker-registry",
            "url": body.get("url"),
            "insecure": body.get("insecure"),
            "credential": {
                "type": body.get("credential_type") or "basic",
                "access_key": body.get("access_key") or "",
                "access_secret": body.get("access_secret") or "",
            },
        }
    )


def _registry(row: Row[Any], box: SecretBox) -> RemoteRegistry:
    return RemoteRegistry(
        row.id, row.name, row.type, row.url, row.description, row.credential_type,
        row.access_key, box.open(row.access_secret), row.insecure, row.creation_time,
        row.update_time,
    )  # fmt: skip


class RegistryStore:
    """The endpoint registries in the registry's database (tables created when missing);
    secrets sealed with ``box`` (without one, none can be stored or read)."""

    def __init__(self, db: Database, box: SecretBox | None = None) -> None:
        self.db = db
        self.box = box if box is not None else SecretBox(None)
        db.create_tables(metadata)

    def seal_stored(self) -> int:
        """Seal every secret stored in clear (by an older dockyard) and check that every
        sealed one opens with this box's key (:class:`WrongSecretKey` else): run at start,
        so that a wrong or missing key stops the registry rather than a copy. The number
        of secrets sealed now."""
        sealed = 0
        with self.db.write() as conn:
            rows = conn.execute(
                select(registries.c.id, registries.c.access_secret)
                .where(registries.c.access_secret != "")
            ).all()  # fmt: skip
            for row in rows:
                if is_sealed(row.access_secret):
                    self.box.open(row.access_secret)
                    continue
                conn.execute(
                    registries.update().where(registries.c.id == row.id)
                    .values(access_secret=self.box.seal(row.access_secret))
                )  # fmt: skip
                sealed += 1
        return sealed

    def create(self, registry: RemoteRegistry, *, now: float | None = None) -> RemoteRegistry:
        now = time.time() if now is None else now
        values = _values(registry, self.box)
        try:
            with self.db.write() as conn:
                self._unique(conn, registry.name, 0)
                key = conn.execute(
                    registries.insert().values(**values, creation_time=now, update_time=now)
                ).inserted_primary_key
        except IntegrityError:
            raise _taken(registry.name) from None
        assert key is not None
        return replace(registry, id=int(key[0]), creation_time=now, update_time=now)

    def get(self, registry_id: int) -> RemoteRegistry:
        with self.db.read() as conn:
            row = conn.execute(select(registries).where(registries.c.id == registry_id)).first()
        if row is None:
            raise RegistryNotFound(
                f"registry {registry_id} not found", hint="list /api/v2.0/registries"
            )
        return _registry(row, self.box)

    def listing(
        self, *, name: str | None = None, page: int = 1, size: int = 10
    ) -> tuple[list[RemoteRegistry], int]:
        where = registries.c.name.contains(name, autoescape=True) if name else None
        with self.db.read() as conn:
            found, total = page_rows(conn, registries, where, registries.c.id, page, size)
        return [_registry(r, self.box) for r in found], total

    def update(self, registry: RemoteRegistry, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        try:
            with self.db.write() as conn:
                self._unique(conn, registry.name, registry.id)
                done = conn.execute(
                    registries.update()
                    .where(registries.c.id == registry.id)
                    .values(**_values(registry, self.box), update_time=now)
                ).rowcount
        except IntegrityError:
            raise _taken(registry.name) from None
        if not done:
            raise RegistryNotFound(f"registry {registry.id} not found")

    def delete(self, registry_id: int) -> None:
        """Delete an endpoint no policy or proxy cache project uses (412 while one does)."""
        with self.db.write() as conn:
            if inspect(conn).has_table(projects.name):
                proxy = conn.execute(
                    select(projects.c.name).where(projects.c.registry_id == registry_id)
                ).first()
                if proxy is not None:
                    raise FailedPrecondition(
                        f"registry {registry_id} is referenced by proxy cache project "
                        f"{proxy.name!r}",
                        hint="delete the project first",
                    )
            using = conn.execute(
                select(policies.c.name).where(
                    (policies.c.dest_registry_id == registry_id)
                    | (policies.c.src_registry_id == registry_id)
                )
            ).first()
            if using is not None:
                raise FailedPrecondition(
                    f"registry {registry_id} is used by replication policy {using.name!r}",
                    hint="delete the policy or point it at another registry first",
                )
            done = conn.execute(registries.delete().where(registries.c.id == registry_id)).rowcount
        if not done:
            raise RegistryNotFound(f"registry {registry_id} not found")

    @staticmethod
    def _unique(conn: Any, name: str, own_id: int) -> None:
        found = conn.execute(
            select(registries.c.id).where(registries.c.name == name, registries.c.id != own_id)
        ).first()
        if found is not None:
            raise _taken(name)


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(f"a registry named {name!r} exists already", hint="choose another name")


def _values(registry: RemoteRegistry, box: SecretBox) -> dict[str, Any]:
    return {
        "name": registry.name, "description": registry.description, "type": registry.type,
        "url": registry.url, "credential_type": registry.credential_type,
        "access_key": registry.access_key, "access_secret": box.seal(registry.access_secret),
        "insecure": registry.insecure,
    }  # fmt: skip
