"""Which backends the registry tests run on: ``DOCKYARD_TEST_BACKEND`` chooses.

``local`` (the default): SQLite and the filesystem under each test's registry root, as
``make serve`` runs. ``cluster``: the same tests on what a scaled-out deployment uses —
metadata in PostgreSQL, blobs in an S3 bucket (SeaweedFS), cache counters in Redis — every
server a real process on 127.0.0.1, started once per test session (per xdist worker) on first
use and stopped when the session ends.

A registry root (the directory a test gives ``Registry.open`` or ``start_registry``) is the unit
of isolation, as on the filesystem: each new root gets its own PostgreSQL database (a copy of a
migrated template: a few tens of milliseconds), its own key prefix in the session's bucket and
its own key prefix in Redis. Opening the same root again (a restarted server, a second process
on the same data) finds the same database, prefix and counters, as it finds the same files.
:func:`drop_since` drops the databases of the roots opened since a :func:`mark`, so a test's
databases go with it (the registry fixtures call it after each test).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.registry import Registry
from dockyard.registry.metadata import Database
from dockyard.registry.storage import FilesystemDriver, StorageDriver

__all__ = [
    "BACKEND",
    "VARIABLE",
    "Place",
    "cluster",
    "database",
    "drop_since",
    "mark",
    "open_kwargs",
    "open_registry",
    "per_test",
    "place",
    "registry_env",
    "serve_env",
    "stop",
    "storage",
]

#: the environment variable that chooses the backend
VARIABLE = "DOCKYARD_TEST_BACKEND"
_CHOICES = ("local", "cluster")


def _backend() -> str:
    value = os.environ.get(VARIABLE, "").strip().lower() or "local"
    if value not in _CHOICES:
        raise RuntimeError(f"{VARIABLE}={value!r}: choose one of {', '.join(_CHOICES)}")
    return value


#: ``local`` or ``cluster``, read once when the tests start
BACKEND = _backend()
#: the bucket every root of this session keeps its blobs in (under its own prefix)
_BUCKET = f"dy-tests-{os.getpid()}"
_TEMPLATE = f"dy_template_{os.getpid()}"


def cluster() -> bool:
    """Whether the registry tests run on PostgreSQL + S3 + Redis."""
    return BACKEND == "cluster"


@dataclass(frozen=True, slots=True)
class Place:
    """Where one registry root keeps its data on the cluster's servers."""

    number: int
    #: the PostgreSQL database's name and SQLAlchemy URL
    database: str
    url: str
    #: the key prefix of its blobs in the session bucket (``storage.s3.rootdirectory``)
    rootdirectory: str
    #: the key prefix of its Redis keys (``redis.prefix``)
    redis_prefix: str


@dataclass
class _Session:
    backends: Any  # _infra.cluster.Backends (imported late: the local pass never loads it)
    stack: contextlib.ExitStack
    places: dict[Path, Place] = field(default_factory=dict)
    #: the number of the last place made
    last: int = 0


_lock = threading.Lock()
_session: _Session | None = None


def _start() -> _Session:
    from _infra.cluster import cluster_backends
    from _infra.seaweed import create_bucket
    from dockyard.registry.migrations import migrate

    stack = contextlib.ExitStack()
    try:
        workdir = Path(tempfile.mkdtemp(prefix="dy-backend-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        backends = stack.enter_context(cluster_backends(workdir))
        create_bucket(backends.seaweed, _BUCKET)
        db = Database(backends.postgres.create_database(_TEMPLATE))
        try:
            migrate(db)
        finally:
            db.close()
    except BaseException:
        stack.close()
        raise
    return _Session(backends, stack)


def _current() -> _Session:
    global _session
    with _lock:
        if _session is None:
            _session = _start()
            atexit.register(stop)
        return _session


def stop() -> None:
    """Stop the session's servers (the test session's end; atexit as a fallback)."""
    global _session
    with _lock:
        session, _session = _session, None
    if session is not None:
        session.stack.close()


def place(root: Path) -> Place:
    """The database, bucket prefix and Redis prefix of registry ``root`` (made on first use)."""
    session = _current()
    key = Path(os.path.abspath(root))
    with _lock:
        found = session.places.get(key)
        if found is not None:
            return found
        session.last = number = session.last + 1
        name = f"r{os.getpid()}_{number}"
        url = session.backends.postgres.url(name)
        with session.backends.postgres._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE} STRATEGY FILE_COPY")
        made = Place(number, name, url, f"r{number}", f"dy{number}:")
        session.places[key] = made
        return made


def mark() -> int:
    """A point to :func:`drop_since` back to (0 before the servers start)."""
    session = _session
    if session is None:
        return 0
    with _lock:
        return session.last


def drop_since(point: int) -> None:
    """Drop the databases of the roots first opened after ``point`` (their registries are
    closed by then); their bucket and Redis prefixes are left to the session's end."""
    session = _session
    if session is None:
        return
    with _lock:
        gone = {k: p for k, p in session.places.items() if p.number > point}
        for key in gone:
            del session.places[key]
    for p in gone.values():
        session.backends.postgres.drop_database(p.database)


def registry_env(root: Path) -> dict[str, str]:
    """``REGISTRY_*`` variables putting a ``dockyard registry serve --root ROOT`` on the
    cluster backends (blob GETs streamed, not redirected: as on the filesystem)."""
    from _infra.redis_server import PASSWORD

    found = place(root)
    backends = _current().backends
    seaweed = backends.seaweed
    return {
        "REGISTRY_DATABASE_URL": found.url,
        "REGISTRY_STORAGE_S3_BUCKET": _BUCKET,
        "REGISTRY_STORAGE_S3_REGION": seaweed.region,
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": seaweed.endpoint,
        "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "true",
        "REGISTRY_STORAGE_S3_ROOTDIRECTORY": found.rootdirectory,
        "REGISTRY_STORAGE_S3_ACCESSKEY": seaweed.access_key,
        "REGISTRY_STORAGE_S3_SECRETKEY": seaweed.secret_key,
        "REGISTRY_STORAGE_REDIRECT_DISABLE": "true",
        "REGISTRY_REDIS_ADDR": backends.redis.addr,
        "REGISTRY_REDIS_PASSWORD": PASSWORD,
        "REGISTRY_REDIS_PREFIX": found.redis_prefix,
    }


#: variables by which a test chooses its own database or bucket (then it keeps them)
_CHOSEN = ("REGISTRY_DATABASE", "REGISTRY_STORAGE_S3", "REGISTRY_REDIS")


def serve_env(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """What to add to a registry process's environment: :func:`registry_env` on the cluster
    backend, unless ``env`` (the test's own) already names a database, a bucket or a Redis;
    nothing on the local backend."""
    if not cluster() or any(name.startswith(_CHOSEN) for name in env):
        return {}
    return registry_env(root)


def open_kwargs(root: Path) -> dict[str, Any]:
    """``Registry.open`` keyword arguments for ``root`` on the cluster backends."""
    from _infra.redis_server import PASSWORD
    from dockyard.registry.redis import RedisConfig
    from dockyard.registry.storage import S3Config

    found = place(root)
    backends = _current().backends
    seaweed = backends.seaweed
    s3 = S3Config(
        bucket=_BUCKET,
        region=seaweed.region,
        accesskey=seaweed.access_key,
        secretkey=seaweed.secret_key,
        regionendpoint=seaweed.endpoint,
        forcepathstyle=True,
        rootdirectory=found.rootdirectory,
    )
    redis = RedisConfig(
        host="127.0.0.1",
        port=backends.redis.port,
        password=PASSWORD,
        prefix=found.redis_prefix,
    )
    return {"database": found.url, "s3": s3, "redis": redis}


def database(root: Path) -> Database:
    """The metadata database of the registry at ``root`` (close it): its PostgreSQL database
    on the cluster backend, ``root/registry.db`` on the local one."""
    if cluster():
        return Database(place(root).url)
    return Database(root / "registry.db")


@contextlib.contextmanager
def storage(root: Path) -> Iterator[StorageDriver]:
    """The blob storage of the registry at ``root``: its prefix in the session bucket on the
    cluster backend, the files under ``root`` on the local one."""
    if not cluster():
        yield FilesystemDriver(root)
        return
    from dockyard.registry.storage.s3 import S3Driver

    driver = S3Driver(open_kwargs(root)["s3"])
    try:
        yield driver
    finally:
        driver.close()


def open_registry(root: Path, **kwargs: Any) -> Registry:
    """``Registry.open(root, **kwargs)`` on the chosen backend."""
    if cluster():
        return Registry.open(root, **{**open_kwargs(root), **kwargs})
    return Registry.open(root, **kwargs)


@contextlib.contextmanager
def per_test() -> Iterator[None]:
    """Around one test: the databases of the roots it opened are dropped after it."""
    point = mark()
    try:
        yield
    finally:
        if cluster():
            drop_since(point)
