"""The offline vulnerability database: SQLite inside the local store.

``advisories`` holds one row per advisory; ``affected`` one row per (advisory, ecosystem,
package) with its ranges as JSON, indexed by (ecosystem, package) for the scanner's lookups.
Ecosystem keys are lowercase: ``pypi``, ``go``, ``crates.io``, ``npm``, ``maven``, ``rubygems``,
``debian:12``, ``alpine:3.15``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Advisory", "Affected", "VulnDB"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, imported_at REAL NOT NULL,
    advisories INTEGER NOT NULL, newest TEXT
);
CREATE TABLE IF NOT EXISTS advisories (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, summary TEXT, details TEXT,
    severity TEXT, cvss_vector TEXT, aliases TEXT, refs TEXT, modified TEXT
);
CREATE TABLE IF NOT EXISTS affected (
    advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL,
    ranges TEXT NOT NULL, versions TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'affected',
    severity TEXT
);
CREATE INDEX IF NOT EXISTS affected_lookup ON affected (ecosystem, package);
CREATE UNIQUE INDEX IF NOT EXISTS affected_unique ON affected (advisory_id, ecosystem, package);
"""


@dataclass
class Affected:
    ecosystem: str
    package: str
    #: OSV-style ranges: [{"type": ..., "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]
    ranges: list[dict[str, Any]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    status: str = "affected"  # affected, or "unfixed" (distro: no fix yet), "not-affected"
    severity: str | None = None  # distribution's own rating for this package


@dataclass
class Advisory:
    id: str
    source: str
    summary: str = ""
    details: str = ""
    severity: str | None = None
    cvss_vector: str | None = None
    aliases: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    modified: str | None = None
    affected: list[Affected] = field(default_factory=list)


class VulnDB:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        """Open (and create, unless ``readonly``) the database at ``path``; ``readonly`` opens
        an existing one for queries only (a scan worker changes nothing)."""
        self.path = path
        if readonly:
            self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)

    @classmethod
    def in_store(cls, store_root: Path) -> VulnDB:
        return cls(store_root / "vulndb" / "vulndb.sqlite")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.conn:
            yield self.conn

    def add(self, advisories: Iterable[Advisory], source: str, kind: str) -> int:
        """Insert or replace advisories (atomically, one transaction); returns how many."""
        return self.add_many([(advisories, source, kind)])[0]

    def add_many(self, batches: Iterable[tuple[Iterable[Advisory], str, str]]) -> list[int]:
        """Insert or replace several sources' advisories in one transaction: all or nothing
        (``batches`` may be a generator that reads each source as it is needed; an error it
        raises rolls everything back).
        An advisory replaces only its own ecosystems' rows, so one CVE imported from Debian and
        from Alpine keeps both."""
        counts = []
        with self.transaction() as conn:
            for advisories, source, kind in batches:
                counts.append(self._add(conn, advisories, source, kind))
        return counts

    def _add(
        self, conn: sqlite3.Connection, advisories: Iterable[Advisory], source: str, kind: str
    ) -> int:
        count = 0
        newest = ""
        for adv in advisories:
            conn.executemany(
                "DELETE FROM affected WHERE advisory_id = ? AND ecosystem = ?",
                [(adv.id, eco) for eco in {a.ecosystem for a in adv.affected}],
            )
            conn.execute(
                "INSERT OR REPLACE INTO advisories VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    adv.id,
                    source,
                    adv.summary,
                    adv.details,
                    adv.severity,
                    adv.cvss_vector,
                    json.dumps(adv.aliases),
                    json.dumps(adv.references),
                    adv.modified,
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO affected VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        adv.id,
                        a.ecosystem,
                        a.package,
                        json.dumps(a.ranges),
                        json.dumps(a.versions),
                        a.status,
                        a.severity,
                    )
                    for a in adv.affected
                ],
            )
            count += 1
            if adv.modified and not adv.modified.startswith("0001"):
                newest = max(newest, adv.modified)
        conn.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?)",
            (source, kind, time.time(), count, newest or None),
        )
        return count

    def lookup(self, ecosystem: str, package: str) -> list[tuple[Advisory, Affected]]:
        rows = self.conn.execute(
            "SELECT a.id, a.source, a.summary, a.details, a.severity, a.cvss_vector, a.aliases,"
            " a.refs, a.modified, f.ranges, f.versions, f.status, f.severity"
            " FROM affected f JOIN advisories a ON a.id = f.advisory_id"
            " WHERE f.ecosystem = ? AND f.package = ?",
            (ecosystem, package),
        ).fetchall()
        out = []
        for r in rows:
            adv = Advisory(
                r[0],
                r[1],
                r[2] or "",
                r[3] or "",
                r[4],
                r[5],
                json.loads(r[6]),
                json.loads(r[7]),
                r[8],
            )
            out.append(
                (
                    adv,
                    Affected(ecosystem, package, json.loads(r[9]), json.loads(r[10]), r[11], r[12]),
                )
            )
        return out

    def status(self) -> dict[str, Any]:
        sources = [
            {"name": r[0], "kind": r[1], "importedAt": r[2], "advisories": r[3], "newest": r[4]}
            for r in self.conn.execute("SELECT * FROM sources ORDER BY name")
        ]
        total = self.conn.execute("SELECT COUNT(*) FROM advisories").fetchone()[0]
        ecosystems = dict(
            self.conn.execute(
                "SELECT ecosystem, COUNT(*) FROM affected GROUP BY ecosystem ORDER BY ecosystem"
            ).fetchall()
        )
        return {
            "path": str(self.path),
            "advisories": total,
            "ecosystems": ecosystems,
            "sources": sources,
        }
