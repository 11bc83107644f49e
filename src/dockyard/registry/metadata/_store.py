"""RegistryMetadata: every SQL statement the registry runs, one method per question."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, delete, exists, func, select, update

from dockyard.errors import ManifestBlobUnknown
from dockyard.registry.metadata._engine import Database
from dockyard.registry.metadata._records import (
    ManifestRecord,
    NewManifest,
    ReferrerRecord,
    UploadRecord,
)
from dockyard.registry.metadata._schema import (
    blobs,
    manifest_refs,
    manifests,
    repo_blobs,
    repositories,
    tags,
    uploads,
)
from dockyard.registry.metadata._sql import insert_ignore, upsert

__all__ = ["RegistryMetadata"]


def _repo_id(conn: Connection, name: str) -> int | None:
    row = conn.execute(select(repositories.c.id).where(repositories.c.name == name)).first()
    return None if row is None else int(row[0])


def _ensure_repo(conn: Connection, name: str) -> int:
    insert_ignore(conn, repositories, {"name": name, "created_at": time.time()})
    repo = _repo_id(conn, name)
    assert repo is not None
    return repo


def _still_there(conn: Connection, repository: str, repo: int, m: NewManifest) -> None:
    """ManifestBlobUnknown when a blob or child ``m`` was checked against is gone (garbage
    collection deletes inside a write transaction too: once this one holds the lock, what it
    sees stays until the manifest's references keep it)."""
    missing: set[str] = set()
    if m.needed_blobs:
        have = select(repo_blobs.c.digest).join(blobs, blobs.c.digest == repo_blobs.c.digest)
        have = have.where(repo_blobs.c.repo_id == repo, repo_blobs.c.digest.in_(m.needed_blobs))
        missing |= set(m.needed_blobs) - set(conn.execute(have).scalars())
    if m.needed_children:
        have = select(manifests.c.digest).where(
            manifests.c.repo_id == repo, manifests.c.digest.in_(m.needed_children)
        )
        missing |= set(m.needed_children) - set(conn.execute(have).scalars())
    if missing:
        raise ManifestBlobUnknown(
            f"manifest references {len(missing)} blob(s) or manifest(s) that garbage "
            f"collection removed from {repository} while it was pushed, e.g. "
            f"{sorted(missing)[0]}; push them again, then the manifest",
            detail={"digests": sorted(missing)},
        )


def _manifest_row_id(conn: Connection, repo: int, digest: str) -> int | None:
    row = conn.execute(
        select(manifests.c.id).where(manifests.c.repo_id == repo, manifests.c.digest == digest)
    ).first()
    return None if row is None else int(row[0])


class RegistryMetadata:
    """Repositories, blobs and their links, manifests, tags, referrers and upload sessions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- repositories ----------------------------------------------------------------------

    def repository_exists(self, name: str) -> bool:
        with self.db.read() as conn:
            return _repo_id(conn, name) is not None

    def catalog(self, n: int | None, last: str | None) -> list[str]:
        """Names of repositories with at least one manifest (a tag needs one), after ``last``.
        A repository that only has blobs or an abandoned upload is not listed, as in
        registry:2 (which lists repositories with a ``_manifests`` directory)."""
        q = (
            select(repositories.c.name)
            .where(exists().where(manifests.c.repo_id == repositories.c.id))
            .order_by(repositories.c.name)
        )
        if last:
            q = q.where(repositories.c.name > last)
        if n is not None:
            q = q.limit(n)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(q)]

    # --- blobs -----------------------------------------------------------------------------

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of ``digest`` when ``repository`` may serve it."""
        q = (
            select(blobs.c.size)
            .select_from(
                repo_blobs.join(repositories).join(blobs, blobs.c.digest == repo_blobs.c.digest)
            )
            .where(repositories.c.name == repository, repo_blobs.c.digest == digest)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else int(row[0])

    def stored_blob_size(self, digest: str) -> int | None:
        """The size of ``digest`` when its bytes are in storage (any repository)."""
        with self.db.read() as conn:
            row = conn.execute(select(blobs.c.size).where(blobs.c.digest == digest)).first()
        return None if row is None else int(row[0])

    def add_blob(self, repository: str, digest: str, size: int) -> None:
        """Record verified bytes for ``digest`` and link them into ``repository``. The blob's
        time is refreshed, so a garbage collection running now keeps it."""
        now = time.time()
        with self.db.write() as conn:
            repo = _ensure_repo(conn, repository)
            upsert(
                conn,
                blobs,
                {"digest": digest, "size": size, "created_at": now},
                ["digest"],
                ["created_at"],
            )
            insert_ignore(conn, repo_blobs, {"repo_id": repo, "digest": digest, "created_at": now})

    def link_blob(self, repository: str, digest: str, source: str) -> int | None:
        """Link a blob ``source`` has into ``repository``; its size, or None when ``source``
        has no such blob."""
        q = (
            select(blobs.c.size)
            .select_from(
                repo_blobs.join(repositories).join(blobs, blobs.c.digest == repo_blobs.c.digest)
            )
            .where(repositories.c.name == source, repo_blobs.c.digest == digest)
        )
        with self.db.write() as conn:
            row = conn.execute(q).first()
            if row is None:
                return None
            repo = _ensure_repo(conn, repository)
            upsert(
                conn,
                repo_blobs,
                {"repo_id": repo, "digest": digest, "created_at": time.time()},
                ["repo_id", "digest"],
                ["created_at"],
            )
            return int(row[0])

    def touch_blob(self, repository: str, digest: str) -> int | None:
        """Refresh ``repository``'s link to ``digest`` (a push found it there and will rely on
        it, so a garbage collection running now keeps it); its size, or None when
        ``repository`` has no such blob. Serialised with the collector's deletes."""
        q = (
            select(blobs.c.size)
            .select_from(
                repo_blobs.join(repositories).join(blobs, blobs.c.digest == repo_blobs.c.digest)
            )
            .where(repositories.c.name == repository, repo_blobs.c.digest == digest)
        )
        with self.db.write() as conn:
            repo = _repo_id(conn, repository)
            if repo is None:
                return None
            conn.execute(
                update(repo_blobs)
                .where(repo_blobs.c.repo_id == repo, repo_blobs.c.digest == digest)
                .values(created_at=time.time())
            )
            row = conn.execute(q).first()
        return None if row is None else int(row[0])

    def unlink_blob(self, repository: str, digest: str) -> bool:
        with self.db.write() as conn:
            repo = _repo_id(conn, repository)
            if repo is None:
                return False
            result = conn.execute(
                delete(repo_blobs).where(
                    repo_blobs.c.repo_id == repo, repo_blobs.c.digest == digest
                )
            )
            return bool(result.rowcount)

    def forget_blob(self, digest: str, then: Callable[[], None]) -> list[str]:
        """Drop ``digest``'s record and every repository's link to it, and run ``then`` (move
        the bytes away) in the same write transaction; the repositories that had it."""
        q = (
            select(repositories.c.name)
            .select_from(repo_blobs.join(repositories))
            .where(repo_blobs.c.digest == digest)
            .order_by(repositories.c.name)
        )
        with self.db.write() as conn:
            names = [r[0] for r in conn.execute(q)]
            conn.execute(delete(repo_blobs).where(repo_blobs.c.digest == digest))
            conn.execute(delete(blobs).where(blobs.c.digest == digest))
            then()
        return names

    def linked_blobs(self, repository: str, digests: Iterable[str]) -> set[str]:
        wanted = list(digests)
        if not wanted:
            return set()
        q = (
            select(repo_blobs.c.digest)
            .select_from(repo_blobs.join(repositories))
            .where(repositories.c.name == repository, repo_blobs.c.digest.in_(wanted))
        )
        with self.db.read() as conn:
            return {r[0] for r in conn.execute(q)}

    # --- manifests and tags ----------------------------------------------------------------

    def existing_manifests(self, repository: str, digests: Iterable[str]) -> set[str]:
        wanted = list(digests)
        if not wanted:
            return set()
        q = (
            select(manifests.c.digest)
            .select_from(manifests.join(repositories))
            .where(repositories.c.name == repository, manifests.c.digest.in_(wanted))
        )
        with self.db.read() as conn:
            return {r[0] for r in conn.execute(q)}

    def put_manifest(self, repository: str, m: NewManifest, tag_names: Iterable[str] = ()) -> None:
        """Store ``m`` (once) and point every tag in ``tag_names`` at it, in one transaction: the
        manifest and all its tags are recorded together, or nothing is."""
        now = time.time()
        with self.db.write() as conn:
            repo = _ensure_repo(conn, repository)
            mid = _manifest_row_id(conn, repo, m.digest)
            if mid is None:
                _still_there(conn, repository, repo, m)
                conn.execute(
                    manifests.insert().values(
                        repo_id=repo,
                        digest=m.digest,
                        media_type=m.media_type,
                        size=len(m.content),
                        content=m.content,
                        artifact_type=m.artifact_type,
                        subject=m.subject,
                        annotations=m.annotations,
                        created_at=now,
                    )
                )
                mid = _manifest_row_id(conn, repo, m.digest)
                assert mid is not None
                refs = [{"manifest_id": mid, "digest": d, "kind": "blob"} for d in m.blobs]
                refs += [{"manifest_id": mid, "digest": d, "kind": "manifest"} for d in m.children]
                if refs:
                    conn.execute(manifest_refs.insert(), refs)
            for tag in tag_names:
                upsert(
                    conn,
                    tags,
                    {"repo_id": repo, "name": tag, "manifest_id": mid, "updated_at": now},
                    ["repo_id", "name"],
                    ["manifest_id", "updated_at"],
                )

    def manifest_by_digest(self, repository: str, digest: str) -> ManifestRecord | None:
        q = (
            select(manifests.c.digest, manifests.c.media_type, manifests.c.content)
            .select_from(manifests.join(repositories))
            .where(repositories.c.name == repository, manifests.c.digest == digest)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else ManifestRecord(row[0], row[1], bytes(row[2]))

    def manifest_by_tag(self, repository: str, tag: str) -> ManifestRecord | None:
        q = (
            select(manifests.c.digest, manifests.c.media_type, manifests.c.content)
            .select_from(
                tags.join(repositories).join(manifests, manifests.c.id == tags.c.manifest_id)
            )
            .where(repositories.c.name == repository, tags.c.name == tag)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else ManifestRecord(row[0], row[1], bytes(row[2]))

    def tag_digest(self, repository: str, tag: str) -> str | None:
        """The digest ``repository:tag`` names, without reading the manifest itself."""
        q = (
            select(manifests.c.digest)
            .select_from(tags.join(manifests).join(repositories, repositories.c.id == tags.c.repo_id))
            .where(repositories.c.name == repository, tags.c.name == tag)
        )  # fmt: skip
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else str(row[0])

    def tags_on(self, repository: str, digest: str) -> list[str]:
        """The tags of ``repository`` that name ``digest``, sorted."""
        q = (
            select(tags.c.name)
            .select_from(tags.join(manifests).join(repositories, repositories.c.id == tags.c.repo_id))
            .where(repositories.c.name == repository, manifests.c.digest == digest)
            .order_by(tags.c.name)
        )  # fmt: skip
        with self.db.read() as conn:
            return [str(r[0]) for r in conn.execute(q)]

    def parent_indexes(self, repository: str, digest: str) -> list[str]:
        """Digests of the indexes in ``repository`` that list manifest ``digest``."""
        q = (
            select(manifests.c.digest)
            .select_from(
                manifest_refs.join(manifests, manifests.c.id == manifest_refs.c.manifest_id).join(
                    repositories
                )
            )
            .where(
                repositories.c.name == repository,
                manifest_refs.c.kind == "manifest",
                manifest_refs.c.digest == digest,
            )
            .order_by(manifests.c.digest)
        )
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(q)]

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Remove a manifest (and every tag on it) from ``repository``."""
        with self.db.write() as conn:
            repo = _repo_id(conn, repository)
            mid = None if repo is None else _manifest_row_id(conn, repo, digest)
            if mid is None:
                return False
            conn.execute(delete(tags).where(tags.c.manifest_id == mid))
            conn.execute(delete(manifest_refs).where(manifest_refs.c.manifest_id == mid))
            conn.execute(delete(manifests).where(manifests.c.id == mid))
            return True

    def delete_tag(self, repository: str, tag: str) -> bool:
        with self.db.write() as conn:
            repo = _repo_id(conn, repository)
            if repo is None:
                return False
            result = conn.execute(delete(tags).where(tags.c.repo_id == repo, tags.c.name == tag))
            return bool(result.rowcount)

    def tags(self, repository: str, n: int | None, last: str | None) -> list[str] | None:
        """Sorted tag names after ``last`` (at most ``n``); None for an unknown repository."""
        with self.db.read() as conn:
            repo = _repo_id(conn, repository)
            if repo is None:
                return None
            q = select(tags.c.name).where(tags.c.repo_id == repo).order_by(tags.c.name)
            if last:
                q = q.where(tags.c.name > last)
            if n is not None:
                q = q.limit(n)
            return [r[0] for r in conn.execute(q)]

    def referrers(self, repository: str, subject: str) -> list[ReferrerRecord]:
        q = (
            select(
                manifests.c.digest,
                manifests.c.media_type,
                manifests.c.size,
                manifests.c.artifact_type,
                manifests.c.annotations,
            )
            .select_from(manifests.join(repositories))
            .where(repositories.c.name == repository, manifests.c.subject == subject)
            .order_by(manifests.c.created_at, manifests.c.id)
        )
        with self.db.read() as conn:
            return [ReferrerRecord(r[0], r[1], int(r[2]), r[3], r[4]) for r in conn.execute(q)]

    # --- uploads ---------------------------------------------------------------------------

    def create_upload(self, upload_id: str, repository: str) -> None:
        now = time.time()
        with self.db.write() as conn:
            repo = _ensure_repo(conn, repository)
            conn.execute(
                uploads.insert().values(
                    id=upload_id, repo_id=repo, offset=0, started_at=now, updated_at=now
                )
            )

    def upload(self, upload_id: str, repository: str) -> UploadRecord | None:
        q = (
            select(uploads.c.id, uploads.c.offset, uploads.c.started_at)
            .select_from(uploads.join(repositories))
            .where(uploads.c.id == upload_id, repositories.c.name == repository)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else UploadRecord(row[0], repository, int(row[1]), row[2])

    def upload_by_id(self, upload_id: str) -> UploadRecord | None:
        q = (
            select(uploads.c.id, uploads.c.offset, uploads.c.started_at, repositories.c.name)
            .select_from(uploads.join(repositories))
            .where(uploads.c.id == upload_id)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else UploadRecord(row[0], row[3], int(row[1]), row[2])

    def set_upload_offset(
        self, upload_id: str, offset: int, hash_state: bytes | None = None
    ) -> None:
        """Acknowledge ``offset`` bytes, with the running hash of them when there is one."""
        with self.db.write() as conn:
            conn.execute(
                update(uploads)
                .where(uploads.c.id == upload_id)
                .values(offset=offset, hash_state=hash_state, updated_at=time.time())
            )

    def upload_hash_state(self, upload_id: str) -> tuple[int, bytes | None] | None:
        """The session's acknowledged offset and the hash state saved with it."""
        q = select(uploads.c.offset, uploads.c.hash_state).where(uploads.c.id == upload_id)
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return None if row is None else (int(row[0]), None if row[1] is None else bytes(row[1]))

    def delete_upload(self, upload_id: str) -> bool:
        with self.db.write() as conn:
            result = conn.execute(delete(uploads).where(uploads.c.id == upload_id))
            return bool(result.rowcount)

    def upload_recorded(self, upload_id: str) -> bool:
        with self.db.read() as conn:
            q = select(uploads.c.id).where(uploads.c.id == upload_id)
            return conn.execute(q).first() is not None

    def stale_uploads(self, older_than: float) -> list[str]:
        with self.db.read() as conn:
            q = select(uploads.c.id).where(uploads.c.updated_at < older_than)
            return [r[0] for r in conn.execute(q)]

    def counts(self) -> dict[str, int]:
        """Row counts, for health and metrics."""
        with self.db.read() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (repositories, manifests, tags, blobs, uploads)
            }
