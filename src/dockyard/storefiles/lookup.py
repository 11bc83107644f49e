"""Read-only questions to the metadata database, with nothing loaded but SQLite.

The no-op rebuild asks them before the rest of dockyard loads: is this manifest still recorded,
what do these names point at. Digests and names are the strings the tables hold
(``sha256:<hex>``, ``docker.io/library/app:1``); :class:`dockyard.metadata.MetadataStore` is
the full interface.

``tests/test_import_budget.py`` holds what the no-op and run paths that ask them may load.
"""

from __future__ import annotations

from sqlite3 import Error, connect

TYPE_CHECKING = False  # typing is not loaded on the no-op path (docs/architecture.md)
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

__all__ = ["Error", "image_recorded", "open_read_only", "tag_targets"]


def open_read_only(path: str) -> sqlite3.Connection:
    """A connection to the database at ``path`` that cannot write (nor create) it; a database
    that cannot be read raises :class:`Error` (``sqlite3.Error``)."""
    return connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def image_recorded(conn: sqlite3.Connection, manifest_digest: str) -> bool:
    """Whether an image record has this manifest (or index) digest."""
    row = conn.execute(
        "SELECT 1 FROM images WHERE manifest_digest = ?", (manifest_digest,)
    ).fetchone()
    return row is not None


def tag_targets(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, str]:
    """name → digest of each of ``names`` that is a tag (full names, with their tag)."""
    if not names:
        return {}
    marks = ",".join("?" * len(names))
    sql = f"SELECT name, target_digest FROM tags WHERE name IN ({marks})"
    return {str(n): str(d) for n, d in conn.execute(sql, list(names)).fetchall()}
