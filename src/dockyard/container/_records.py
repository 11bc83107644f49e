"""Containers kept under the store: ``<store>/containers/<id>/`` with ``container.json`` (what
was run and how it ended), the overlay's ``upper``/``work``/``merged`` directories and the
runtime bundle. Names are unique; a lock file serialises creating and removing records."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from dockyard.container._names import random_name
from dockyard.errors import Conflict, InvalidArgument, NotFound

__all__ = ["CONTAINERS_DIR", "ContainerRecord", "ContainerStore", "now"]

CONTAINERS_DIR = "containers"
_RECORD = "container.json"


def now() -> str:
    """The time in UTC as RFC 3339 with microseconds (``2026-12-04T15:31:56.123456Z``)."""
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1000:06d}Z"


class ContainerRecord(NamedTuple):
    id: str
    name: str
    image: str  #: as the user named it
    image_id: str  #: config digest
    manifest: str  #: manifest digest of the image the container runs
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[str, ...]  #: the container's Env (image Env merged with -e), as docker commits it
    workdir: str
    user: str
    created: str
    status: str = "created"  #: created, running, exited
    exit_code: int | None = None
    pid: int | None = None  #: the dockyard process running it
    started: str | None = None
    finished: str | None = None
    volumes: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        return " ".join((*self.entrypoint, *self.cmd))

    def is_running(self) -> bool:
        """Running, and the process running it is alive (a killed ``run`` leaves "running")."""
        if self.status != "running" or self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def to_json(self) -> dict[str, Any]:
        return self._asdict()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerRecord:
        for key in ("entrypoint", "cmd", "env", "volumes"):
            data[key] = tuple(data.get(key) or ())
        return cls(**data)


class ContainerStore:
    """The containers of one local store (``root`` is ``<store>/containers``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def directory(self, container_id: str) -> Path:
        return self.root / container_id

    def all(self) -> list[ContainerRecord]:
        """Every container, newest first."""
        records = []
        for entry in self.root.iterdir():
            try:
                data = json.loads((entry / _RECORD).read_text())
            except (OSError, ValueError):
                continue
            records.append(ContainerRecord.from_json(data))
        return sorted(records, key=lambda r: r.created, reverse=True)

    def _names(self) -> set[str]:
        """The names of every container: ``all()``'s records, read for their name only."""
        names = set()
        for entry in self.root.iterdir():
            try:
                data = json.loads((entry / _RECORD).read_bytes())
            except (OSError, ValueError):
                continue
            names.add(str(data.get("name", "")))
        return names

    def create(self, record: ContainerRecord) -> ContainerRecord:
        """Store a new container (its name made up when empty); Conflict for a taken name."""
        with self._locked():
            taken = self._names()
            name = record.name or random_name(taken)
            if record.name and record.name in taken:
                raise Conflict(
                    f'the container name "/{name}" is already in use; remove that container '
                    "(dockyard rm) or choose another name"
                )
            record = record._replace(name=name, id=record.id or os.urandom(32).hex())
            self.directory(record.id).mkdir(mode=0o700)
            self._write(record)
        return record

    def save(self, record: ContainerRecord) -> None:
        self._write(record)

    def _write(self, record: ContainerRecord) -> None:
        path = self.directory(record.id) / _RECORD
        tmp = path.with_name(f".{_RECORD}.{os.getpid()}")
        tmp.write_text(json.dumps(record.to_json(), indent=1))
        os.replace(tmp, path)

    def find(self, text: str) -> ContainerRecord:
        """The container named ``text``, with ID ``text``, or whose ID starts with it."""
        if not text:
            raise InvalidArgument("a container name or ID is needed")
        records = self.all()
        for record in records:
            if record.name == text.lstrip("/") or record.id == text:
                return record
        matches = [r for r in records if r.id.startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(
                f"multiple containers match ID prefix {text}; give more of the ID"
            )
        raise NotFound(f"No such container: {text}")

    def remove(self, record: ContainerRecord) -> None:
        """Delete the container's directory (its overlay must be unmounted)."""
        with self._locked():
            directory = self.directory(record.id)
            aside = self.root / f".removing-{record.id}"
            with contextlib.suppress(FileNotFoundError):
                os.rename(directory, aside)
            shutil.rmtree(aside, ignore_errors=True)
