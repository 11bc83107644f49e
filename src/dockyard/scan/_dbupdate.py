"""``dockyard db update``: download every planned feed, then import them all in one transaction.

Nothing is imported until every feed has downloaded and verified and parsed, so a failed or
partial download leaves the database as it was (its kept part resumes on the next run).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import urllib3

from dockyard.scan._download import Downloaded, Progress, download_feed
from dockyard.scan._importers import read_advisories
from dockyard.scan._vulndb import Advisory, VulnDB
from dockyard.scan.feeds import Feed

__all__ = ["FeedResult", "download_dir", "update_db"]


@dataclass(frozen=True, slots=True)
class FeedResult:
    name: str
    url: str
    status: str  # downloaded, resumed, unchanged
    bytes: int
    resumed_from: int
    kind: str
    advisories: int


def download_dir(db: VulnDB) -> Path:
    return db.path.parent / "downloads"


def update_db(
    db: VulnDB, feeds: Sequence[Feed], progress: Progress, *, timeout: float = 60.0
) -> list[FeedResult]:
    """Fetch ``feeds`` into the database's download folder and import them atomically."""
    folder = download_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=urllib3.Retry(total=3, connect=3, read=0, redirect=5, status=0),
    )
    fetched: list[tuple[Feed, Downloaded]] = []
    try:
        for feed in feeds:
            fetched.append(
                (feed, download_feed(http, feed.url, folder / feed.name, feed.expect, progress))
            )
    finally:
        http.clear()
    kinds: list[str] = []

    def batches() -> Iterator[tuple[list[Advisory], str, str]]:
        # one feed parsed at a time, inside the import's transaction
        for feed, got in fetched:
            kind, advisories = read_advisories(got.path)
            kinds.append(kind)
            progress.message(f"{feed.name}: {len(advisories)} {kind} advisories read")
            yield advisories, feed.name, kind

    counts = db.add_many(batches())
    return [
        FeedResult(feed.name, feed.url, got.status, got.size, got.resumed_from, kind, count)
        for (feed, got), kind, count in zip(fetched, kinds, counts, strict=True)
    ]
