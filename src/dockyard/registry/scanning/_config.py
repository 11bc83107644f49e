"""The ``scanning:`` section of the registry config.

```yaml
scanning:
  on-push: true          # scan each pushed image (manifest or index) in the background
  db: vulndb.sqlite      # the vulnerability database (`dockyard db import`); a file, or a
                         # dockyard store directory; default: the local store's database
  workers: 2             # scans running at once
  block-severity: HIGH   # refuse pulls of images with fixable findings at or above this
  block-unscanned: true  # also refuse images whose report is not ready (pending or failed)
  allow: [CVE-2023-43804]  # accepted findings: never block (IDs or aliases)
```

``lease-seconds`` (of earlier versions) is accepted and ignored, with a warning: scans are
tasks of the registry's job queue, and a process that dies mid-scan has them taken over by
another at once (its liveness lock), not after a lease.

``scanning: on-push`` is short for ``scanning: {on-push: true}``. An unknown key is an error
naming it and the known ones (a misspelt ``block-severity`` must not turn blocking off).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.local import default_root
from dockyard.scan import SEVERITIES

__all__ = ["ScanningConfig"]

log = logging.getLogger("dockyard.registry.scanning")

#: keys of earlier versions, accepted and ignored (a warning says so)
_IGNORED = ("lease-seconds",)
_KEYS = (
    "on-push",
    "db",
    "workers",
    "block-severity",
    "block-unscanned",
    "allow",
    *_IGNORED,
)
_EXAMPLE = "e.g. scanning: {on-push: true, block-severity: HIGH, db: vulndb.sqlite}"


def _default_db() -> Path:

    return default_root() / "vulndb" / "vulndb.sqlite"


def _bool(section: Mapping[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # REGISTRY_* variables and opaque sections are text
    if not isinstance(value, bool):
        raise InvalidArgument(f"config: scanning.{key} must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class ScanningConfig:
    on_push: bool = False
    db: Path | None = None
    workers: int = 2
    #: None: pulls are never refused for findings
    block_severity: str | None = None
    block_unscanned: bool = True
    allow: frozenset[str] = frozenset()

    @property
    def blocking(self) -> bool:
        return self.block_severity is not None

    @property
    def blocked_severities(self) -> frozenset[str]:
        """The severities that refuse a pull (``block_severity`` and everything above it)."""
        if self.block_severity is None:
            return frozenset()
        return frozenset(SEVERITIES[SEVERITIES.index(self.block_severity) :])

    def db_path(self) -> Path:
        """The database file: ``db`` itself, ``db/vulndb/vulndb.sqlite`` for a store
        directory, or the local store's."""
        path = self.db if self.db is not None else _default_db()
        if path.is_dir():
            path = path / "vulndb" / "vulndb.sqlite"
        return path

    @classmethod
    def from_section(cls, section: Any) -> ScanningConfig:
        if section == "on-push":
            return cls(on_push=True)
        if not isinstance(section, Mapping):
            raise InvalidArgument(f"config: scanning must be a mapping ({_EXAMPLE})")
        unknown = sorted(str(key) for key in section if key not in _KEYS)
        if unknown:
            raise InvalidArgument(
                f"config: unknown key(s) scanning.{', scanning.'.join(unknown)}; "
                f"known: {', '.join(sorted(_KEYS))}",
                hint="fix the spelling; scanning guards pulls, so an unknown key stops start-up",
            )
        severity = section.get("block-severity")
        if severity is not None:
            severity = str(severity).upper()
            if severity == "NONE":
                severity = None
            elif severity not in SEVERITIES:
                raise InvalidArgument(
                    f"config: scanning.block-severity {section['block-severity']!r} is not a "
                    f"severity; use one of {', '.join(SEVERITIES)} (or none)"
                )
        workers = section.get("workers", 2)
        if isinstance(workers, str) and workers.isdigit():
            workers = int(workers)
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
            raise InvalidArgument(f"config: scanning.workers must be 1..64, not {workers!r}")
        allow = section.get("allow") or []
        if not isinstance(allow, list | tuple) or not all(isinstance(a, str) for a in allow):
            raise InvalidArgument("config: scanning.allow must be a list of advisory IDs")
        if "lease-seconds" in section:
            log.warning(
                "config: scanning.lease-seconds is ignored (deprecated): scans run on the "
                "registry's job queue, and a dead process's scans are taken over at once"
            )
        db = section.get("db")
        if db is not None and not isinstance(db, str):
            raise InvalidArgument(f"config: scanning.db must be a path, not {db!r}")
        return cls(
            on_push=_bool(section, "on-push", False),
            db=Path(os.path.expanduser(db)) if db else None,
            workers=workers,
            block_severity=severity,
            block_unscanned=_bool(section, "block-unscanned", True),
            allow=frozenset(allow),
        )
