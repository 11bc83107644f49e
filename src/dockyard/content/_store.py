"""ContentStore: verified, content-addressed blobs in ``root/blobs/<alg>/<hex>``."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.content._reader import VerifyingReader, corrupt_blob_error, vouched
from dockyard.content._writer import BUFFER_SIZE, ContentWriter, PublishHook
from dockyard.digest import Digest, Digester
from dockyard.errors import BlobUnknown, DigestInvalid, SizeInvalid, Unsupported

__all__ = ["ContentStore"]


class ContentStore:
    """A containerd-style blob store. The layout under ``root`` matches the OCI image layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs"
        self.ingest_dir = self.root / "ingest"
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    # --- writing ---------------------------------------------------------------------------

    def writer(
        self,
        *,
        expected: Digest | None = None,
        size: int | None = None,
        algorithm: str = "sha256",
        before_publish: PublishHook | None = None,
        sync_dir: bool = True,
        source_verifies: bool = False,
    ) -> ContentWriter:
        """A writer for one blob; ``before_publish`` runs with the verified digest just before
        the blob becomes visible (e.g. to add it to a lease). ``sync_dir=False``: the caller
        syncs ``blobs/<alg>`` itself, once, before anything refers to the blob."""
        return ContentWriter(
            self.blobs_dir,
            self.ingest_dir,
            expected=expected,
            size=size,
            algorithm=algorithm,
            before_publish=before_publish,
            sync_dir=sync_dir,
            source_verifies=source_verifies,
        )

    def ingest(
        self,
        stream: BinaryIO,
        *,
        expected: Digest | None = None,
        size: int | None = None,
        before_publish: PublishHook | None = None,
        sync_dir: bool = True,
    ) -> tuple[Digest, int]:
        """Copy ``stream`` into the store; returns ``(digest, size)``.

        When ``expected`` is already present the stream is not read at all.
        """
        if expected is not None and before_publish is None and self.exists(expected):
            return expected, self.size(expected)
        buf = bytearray(BUFFER_SIZE)
        view = memoryview(buf)
        # a stream that checks its own digest (a verified download) is not hashed twice
        claim = vouched(stream)
        source_verifies = claim is not None and expected is not None and claim == (expected, size)
        with self.writer(
            expected=expected,
            size=size,
            before_publish=before_publish,
            sync_dir=sync_dir,
            source_verifies=source_verifies,
        ) as w:
            readinto = getattr(stream, "readinto", None)
            while True:
                if readinto is not None:
                    n = readinto(view)
                    if not n:
                        break
                    w.write(view[:n])
                else:
                    chunk = stream.read(BUFFER_SIZE)
                    if not chunk:
                        break
                    w.write(chunk)
            return w.commit()

    def put_bytes(
        self,
        data: bytes,
        *,
        expected: Digest | None = None,
        before_publish: PublishHook | None = None,
        sync_dir: bool = True,
    ) -> Digest:
        with self.writer(
            expected=expected, size=len(data), before_publish=before_publish, sync_dir=sync_dir
        ) as w:
            w.write(data)
            return w.commit()[0]

    # --- reading ---------------------------------------------------------------------------

    def _blob_path(self, d: Digest) -> Path:
        if d.algorithm not in ("sha256", "sha512"):
            raise Unsupported(f"unsupported digest algorithm {d.algorithm!r} in {d}")
        return self.blobs_dir / d.algorithm / d.hex

    def _missing(self, d: Digest) -> BlobUnknown:
        return BlobUnknown(
            f"blob {d} is not in the local store at {self.root}; pull or load the image that "
            "contains it"
        )

    def exists(self, d: Digest) -> bool:
        return self._blob_path(d).is_file()

    def size(self, d: Digest) -> int:
        try:
            return self._blob_path(d).stat().st_size
        except FileNotFoundError:
            raise self._missing(d) from None

    def path(self, d: Digest) -> Path:
        """The blob's file, for zero-copy paths (sendfile, ranges). Content is not verified."""
        p = self._blob_path(d)
        if not p.is_file():
            raise self._missing(d)
        return p

    def open(self, d: Digest, *, size: int | None = None, verify: bool = True) -> BinaryIO:
        """Open a blob for streaming. Verifying readers raise at EOF when content is corrupt
        (``DigestInvalid``) or its length differs from ``size`` (``SizeInvalid``)."""
        p = self._blob_path(d)
        try:
            if not verify:
                return open(p, "rb", buffering=BUFFER_SIZE)
            raw = VerifyingReader(p, d, size)
        except FileNotFoundError:
            raise self._missing(d) from None
        return io.BufferedReader(raw, buffer_size=BUFFER_SIZE)

    def read_bytes(self, d: Digest, *, max_size: int | None = None) -> bytes:
        """The whole blob, verified (for manifests and configs, not layers)."""
        p = self._blob_path(d)
        try:
            data = p.read_bytes() if max_size is None else self._read_limited(p, d, max_size)
        except FileNotFoundError:
            raise self._missing(d) from None
        h = Digester(d.algorithm)
        h.update(data)
        actual = h.digest()
        if actual != d:
            raise corrupt_blob_error(d, p, len(data), actual)
        return data

    def _read_limited(self, p: Path, d: Digest, max_size: int) -> bytes:
        with open(p, "rb") as f:
            data = f.read(max_size + 1)
        if len(data) > max_size:
            raise SizeInvalid(
                f"blob {d} is larger than {max_size} bytes; it is not a manifest or config"
            )
        return data

    def copy_to(self, d: Digest, out: BinaryIO, *, verify: bool = True) -> int:
        """Stream a blob into ``out``; returns the byte count. With ``verify`` a corrupt blob
        raises ``DigestInvalid`` after the copy (treat what ``out`` received as garbage)."""
        p = self.path(d)
        if not verify:
            out_fileno = _fileno(out)
            if out_fileno is not None:
                out.flush()
                return _sendfile(p, out_fileno)
        buf = bytearray(BUFFER_SIZE)
        view = memoryview(buf)
        h = Digester(d.algorithm)
        with open(p, "rb", buffering=0) as f:
            while n := f.readinto(view):
                chunk = view[:n]
                if verify:
                    h.update(chunk)
                out.write(chunk)
        if verify and h.digest() != d:
            raise corrupt_blob_error(d, p, h.size, h.digest())
        return h.size if verify else p.stat().st_size

    # --- maintenance -----------------------------------------------------------------------

    def delete(self, d: Digest) -> None:
        try:
            self._blob_path(d).unlink()
        except FileNotFoundError:
            raise self._missing(d) from None

    def walk(self) -> Iterator[tuple[Digest, int]]:
        """Every blob as ``(digest, size)``; files with names that are not digests are skipped."""
        for alg_dir in sorted(self.blobs_dir.iterdir()):
            if not alg_dir.is_dir():
                continue
            with os.scandir(alg_dir) as entries:
                for entry in entries:
                    try:
                        d = Digest.parse(f"{alg_dir.name}:{entry.name}")
                        st = entry.stat(follow_symlinks=False)
                    except (DigestInvalid, Unsupported, FileNotFoundError):
                        continue
                    if entry.is_file(follow_symlinks=False):
                        yield d, st.st_size

    def stale_ingests(self, older_than: float) -> list[Path]:
        """Temp files under ``ingest/`` not modified for ``older_than`` seconds."""
        cutoff = time.time() - older_than
        stale: list[Path] = []
        with os.scandir(self.ingest_dir) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                        stale.append(Path(entry.path))
                except FileNotFoundError:
                    continue
        return stale


def _fileno(out: BinaryIO) -> int | None:
    try:
        return out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _sendfile(src: Path, out_fd: int) -> int:
    total = 0
    with open(src, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        while total < size:
            sent = os.sendfile(out_fd, f.fileno(), total, size - total)
            if sent == 0:
                break
            total += sent
    return total
