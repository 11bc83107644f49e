"""dockyard's registry as a cluster, for tests: N ``dockyard registry serve`` replicas on one
PostgreSQL database, one S3 bucket (SeaweedFS) and one Redis database, optionally behind a real
``haproxy`` (round robin, no stickiness), every part a real process on 127.0.0.1.

:func:`cluster_backends` starts the three shared servers (once per test module or session: they
take seconds); :func:`start_cluster` gives each cluster a fresh database, bucket and Redis
database on them, so clusters of one session never see each other's data. Replicas are started
and stopped one by one (:meth:`Cluster.kill`, :meth:`Cluster.restart`): what a rolling restart
or a crashed machine does. The balancer checks ``/healthz`` every 200 ms, retries a request
whose connection failed on another replica (``retries``, ``option redispatch``), and can drain a
replica before it stops (its admin socket), as a Kubernetes Service drops a terminating pod.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from _infra._registry import free_port
from _infra.postgres import PostgresServer, start_postgres
from _infra.redis_server import PASSWORD as REDIS_PASSWORD
from _infra.redis_server import RedisServer, started_redis
from _infra.registry_server import RegistryProcess, start_registry, wait_ready
from _infra.seaweed import Seaweed, create_bucket, run_seaweed
from dockyard.registry.metadata import Database
from dockyard.registry.migrations import migrate

__all__ = [
    "HAPROXY",
    "Backends",
    "Balancer",
    "Cluster",
    "cluster_backends",
    "start_cluster",
]

HAPROXY = "/usr/sbin/haproxy"
_NAMES = itertools.count(1)


@dataclass
class Backends:
    """The shared servers a cluster stands on."""

    postgres: PostgresServer
    seaweed: Seaweed
    redis: RedisServer


@contextlib.contextmanager
def cluster_backends(workdir: Path) -> Iterator[Backends]:
    """PostgreSQL, SeaweedFS and Redis, started side by side; stopped on exit."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(3) as pool:
        postgres = pool.submit(start_postgres)
        seaweed = pool.submit(lambda: stack.enter_context(run_seaweed(workdir / "seaweed")))
        redis = stack.enter_context(started_redis())
        pg = postgres.result()
        stack.callback(pg.stop)
        yield Backends(pg, seaweed.result(), redis)


def config_document(
    backends: Backends, *, database: str, bucket: str, redis_db: int
) -> dict[str, Any]:
    """A replica's registry:2-style config (secrets are in :func:`replica_env`)."""
    seaweed = backends.seaweed
    return {
        "version": 0.1,
        "log": {"accesslog": {"disabled": True}},
        "storage": {
            "delete": {"enabled": True},
            "s3": {
                "region": seaweed.region,
                "regionendpoint": seaweed.endpoint,
                "forcepathstyle": True,
                "bucket": bucket,
                "rootdirectory": "/dockyard",
                "chunksize": 5 * 1024 * 1024,
            },
        },
        "database": {"url": database, "pool": 5},
        "redis": {"addr": backends.redis.addr, "db": redis_db},
    }


def replica_env(backends: Backends) -> dict[str, str]:
    """The secrets, by environment, as a Kubernetes Secret would give them."""
    return {
        "REGISTRY_STORAGE_S3_ACCESSKEY": backends.seaweed.access_key,
        "REGISTRY_STORAGE_S3_SECRETKEY": backends.seaweed.secret_key,
        "REGISTRY_REDIS_PASSWORD": REDIS_PASSWORD,
    }


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _flush_redis(redis: RedisServer, db: int) -> None:
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as s:
        s.sendall(f"AUTH {REDIS_PASSWORD}\r\nSELECT {db}\r\nFLUSHDB\r\n".encode())
        reply = b""
        while reply.count(b"\r\n") < 3:
            chunk = s.recv(256)
            if not chunk:
                break
            reply += chunk
    if reply.count(b"+OK") < 3:
        raise RuntimeError(f"cannot flush Redis database {db}: {reply!r}")


# --- the balancer ---------------------------------------------------------------------------


@dataclass
class Balancer:
    """A running haproxy in front of the replicas; ``host`` is ``127.0.0.1:<port>``."""

    process: subprocess.Popen[bytes]
    port: int
    socket_path: Path
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def command(self, line: str) -> str:
        """One command on haproxy's admin socket; its answer."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.socket_path))
            s.sendall(line.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode(errors="replace")

    def states(self) -> dict[str, str]:
        """Each replica's state as haproxy sees it (``UP``, ``DOWN``, ``DRAIN``, ``MAINT``…)."""
        found: dict[str, str] = {}
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "replicas" and row.get("svname") not in ("BACKEND", None):
                found[row["svname"]] = row.get("status", "")
        return found

    def set_state(self, server: str, state: str) -> None:
        """``ready``, ``drain`` (no new requests) or ``maint``."""
        self.command(f"set server replicas/{server} state {state}")

    def wait(self, server: str, status: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.states().get(server, "").startswith(status):
                return
            time.sleep(0.05)
        raise AssertionError(f"haproxy: {server} not {status} in {timeout}s: {self.states()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _haproxy_config(port: int, admin: Path, replicas: Mapping[str, str]) -> str:
    servers = "\n".join(
        f"  server {name} {host} check inter 200ms fall 1 rise 1" for name, host in replicas.items()
    )
    return f"""global
  stats socket {admin} level admin
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 300s
  timeout server 300s
  timeout http-request 60s
  # a check's answer may take a while on a busy machine (without this: `inter`, 200 ms, and
  # one late answer takes a healthy replica out); a refused connection still fails at once
  timeout check 2s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout

frontend registry
  bind 127.0.0.1:{port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
{servers}
"""


@contextlib.contextmanager
def start_balancer(workdir: Path, replicas: Mapping[str, str]) -> Iterator[Balancer]:
    """haproxy (foreground) over ``replicas`` (name → host:port); waits until it answers."""
    if not Path(HAPROXY).is_file():
        raise RuntimeError("haproxy is missing: `make system-deps` installs it")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    admin = workdir / "haproxy.sock"
    config = workdir / "haproxy.cfg"
    config.write_text(_haproxy_config(port, admin, replicas), encoding="utf-8")
    log = workdir / "haproxy.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    balancer = Balancer(process, port, admin, log)
    try:
        deadline = time.monotonic() + 20
        while not admin.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        for name in replicas:
            balancer.wait(name, "UP")
        yield balancer
    finally:
        balancer.stop()


# --- the cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    """Replicas over shared backends; ``url`` is the balancer's (else the first replica's)."""

    backends: Backends
    workdir: Path
    database: str
    bucket: str
    redis_db: int
    config: Path
    env: dict[str, str]
    replicas: dict[str, RegistryProcess] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    balancer: Balancer | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def url(self) -> str:
        if self.balancer is not None:
            return self.balancer.url
        return next(iter(self.replicas.values())).url

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def db(self) -> Database:
        """A connection pool on the cluster's database (close it)."""
        return Database(self.database)

    def start(self, name: str) -> RegistryProcess:
        """Start replica ``name`` (again, on its own port); waits until it answers."""
        port = self.ports.setdefault(name, free_port())
        root = self.workdir / name
        # several replicas start at once on a busy machine: give each more than one start's time
        cm = start_registry(
            root, "-c", str(self.config), env=self.env, port=port, ready_timeout=180
        )
        self.replicas[name] = self._stack.enter_context(cm)
        return self.replicas[name]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop replica ``name`` with ``sig`` (SIGKILL: a crash; SIGTERM: a clean stop)."""
        replica = self.replicas[name]
        replica.stop(sig)

    def restart(self, name: str) -> RegistryProcess:
        """Start a stopped replica again on its port; waits until it answers."""
        replica = self.replicas[name]
        if replica.process.poll() is None:
            raise RuntimeError(f"{name} is still running")
        return self.start(name)

    def logs(self) -> str:
        """Every replica's log (and haproxy's): for a failing assertion."""
        parts = []
        for name, replica in self.replicas.items():
            with contextlib.suppress(OSError):
                parts.append(f"--- {name}\n{replica.log.read_text(errors='replace')[-4000:]}")
        if self.balancer is not None:
            with contextlib.suppress(OSError):
                parts.append(f"--- haproxy\n{self.balancer.log.read_text(errors='replace')}")
        return "\n".join(parts)


@contextlib.contextmanager
def start_cluster(
    backends: Backends,
    workdir: Path,
    *,
    replicas: int = 3,
    balancer: bool = True,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """``replicas`` registries on a fresh database, bucket and Redis database, migrated first
    (as the deployment's migration Job does), behind haproxy when ``balancer``. ``config`` is
    merged into each replica's config document; ``env`` is added to its environment."""
    number = next(_NAMES)
    name = f"c{os.getpid()}_{number}"
    database = backends.postgres.create_database(name)
    db = Database(database)
    try:
        migrate(db)
    finally:
        db.close()
    bucket = f"cluster-{os.getpid()}-{number}"
    create_bucket(backends.seaweed, bucket)
    redis_db = number % 16
    _flush_redis(backends.redis, redis_db)
    workdir.mkdir(parents=True, exist_ok=True)
    document = config_document(backends, database=database, bucket=bucket, redis_db=redis_db)
    path = workdir / "config.yml"
    path.write_text(yaml.safe_dump(_merge(document, config or {})), encoding="utf-8")
    cluster = Cluster(
        backends,
        workdir,
        database,
        bucket,
        redis_db,
        path,
        {**replica_env(backends), **(env or {})},
    )
    try:
        with cluster._stack, ThreadPoolExecutor(replicas) as pool:
            names = [f"registry-{i}" for i in range(1, replicas + 1)]
            # side by side: each start is mostly the interpreter loading dockyard
            list(pool.map(cluster.start, names))
            if balancer:
                hosts = {n: cluster.replicas[n].host for n in names}
                cluster.balancer = cluster._stack.enter_context(
                    start_balancer(workdir / "haproxy", hosts)
                )
            yield cluster
    finally:
        with contextlib.suppress(Exception):
            backends.postgres.drop_database(name)
        shutil.rmtree(workdir / "haproxy", ignore_errors=True)


def wait_replica(replica: RegistryProcess, timeout: float = 60) -> None:
    """Until ``replica`` answers /v2/ (after a restart)."""
    wait_ready(replica.url, replica.process, replica.log, timeout)
