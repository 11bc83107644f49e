"""One image scan as it runs in a scan worker process: what it is given, what it answers.

The serving process hands a :class:`ScanJob` to a fresh worker process: the manifest's bytes,
the *paths* of files holding the config and layer blobs (the registry's own files on filesystem
storage, verified copies of S3 objects: :mod:`._blobfiles`; blobs are never pickled), the
vulnerability database's path and the limits. :func:`worker_main` caps the
process's address space and CPU time, reads the blobs (verifying their digests), catalogs and
matches, and sends back JSON (never pickles): the report, or an error saying which limit was
exceeded. It opens the vulnerability database read-only and writes nothing else.
"""

from __future__ import annotations

import io
import json
import math
import resource
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from dockyard.content import VerifyingReader
from dockyard.digest import Digest, Digester
from dockyard.errors import BlobUnknown, DigestInvalid, DockyardError
from dockyard.image.blob import BlobImage
from dockyard.oci import Descriptor
from dockyard.scan import (
    Report,
    ScanBudget,
    VulnDB,
    catalog_source,
    image_source,
    match_inventory,
    shown_bytes,
)

__all__ = ["PathBlobs", "ScanJob", "ScanOutcome", "memory_error", "run_job", "worker_main"]


@dataclass(frozen=True, slots=True)
class ScanJob:
    """Everything a worker needs to scan one image (small: no blob bytes but the manifest)."""

    name: str  # shown in the report: ``repository@digest``
    digest: str
    media_type: str
    manifest: bytes
    #: digest -> file of every blob the manifest names (config and layers)
    blob_paths: dict[str, str]
    db_path: str
    budget: ScanBudget
    memory_bytes: int
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """A worker's answer: an error, or the report's summary and its JSON text (which the
    serving process stores as it is, without parsing it)."""

    error: str | None = None
    summary: dict[str, Any] | None = None
    report_json: str | None = None
    #: the worker was killed because its scan was stopped (nothing to record)
    stopped: bool = False


def memory_error(memory_bytes: int) -> str:
    return (
        f"scan exceeded limits.scanmemorybytes ({shown_bytes(memory_bytes)}): the scan worker "
        "ran out of memory"
    )


class PathBlobs:
    """Blobs read from files by path (:class:`._blobfiles.BlobFiles`), digests verified."""

    def __init__(self, paths: dict[str, str], budget: ScanBudget) -> None:
        self.paths = paths
        self.budget = budget

    def _path(self, descriptor: Descriptor) -> Path:
        path = self.paths.get(str(descriptor.digest))
        if path is None:
            raise BlobUnknown(f"blob {descriptor.digest} was not handed to the scan worker")
        return Path(path)

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        path = self._path(descriptor)
        try:
            raw = VerifyingReader(path, descriptor.digest, descriptor.size)
        except FileNotFoundError as exc:
            raise BlobUnknown(f"blob {descriptor.digest} is not in the registry's storage") from exc
        return io.BufferedReader(raw, 1 << 20)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        """A small blob (the config), refused past ``budget.file_bytes``."""
        self.budget.check_file(f"blob {descriptor.digest}", descriptor.size)
        with self.open_blob(descriptor) as f:  # the reader checks the size it declares
            data = f.read(descriptor.size + 1)
        hasher = Digester(descriptor.digest.algorithm)
        hasher.update(data)
        if hasher.digest() != descriptor.digest:
            raise DigestInvalid(
                f"blob {descriptor.digest} in the registry's storage does not match its digest"
            )
        return data


def run_job(job: ScanJob) -> dict[str, Any]:
    """The report of ``job`` (in whatever process calls it)."""
    desc = Descriptor(job.media_type, Digest.parse(job.digest), len(job.manifest))
    image = BlobImage(PathBlobs(job.blob_paths, job.budget), desc, job.manifest)
    with image_source("registry", job.name, image) as source:
        inventory = catalog_source(source, budget=job.budget)
    db = VulnDB(Path(job.db_path), readonly=True)
    try:
        findings = match_inventory(db, inventory.packages, inventory.distro)
    finally:
        db.close()
    return Report(inventory, findings).filtered(None, set(), False).to_json()


def _limit_process(job: ScanJob) -> None:
    memory = job.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    seconds = max(1, math.ceil(job.cpu_seconds))
    # SIGXCPU at the soft limit, SIGKILL a second later; no core files of hostile input
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def worker_main(conn: Connection, job: ScanJob) -> None:
    """The worker process: limits first, then the scan. It sends a JSON header
    (``{"error": …}`` or ``{"summary": …}``) and, after a summary, the report's JSON."""
    report: bytes | None = None
    try:
        _limit_process(job)
        result = run_job(job)
        header = json.dumps({"summary": result.get("Summary")}).encode()
        report = json.dumps(result).encode()
        del result
    except MemoryError:
        header = json.dumps({"error": memory_error(job.memory_bytes)}).encode()
    except DockyardError as exc:
        header = json.dumps({"error": str(exc)}).encode()
    except Exception as exc:  # anything else a hostile image provokes: reported, not raised
        header = json.dumps({"error": f"internal error: {type(exc).__name__}: {exc}"}).encode()
    try:
        conn.send_bytes(header)
        if report is not None:
            conn.send_bytes(report)
    finally:
        conn.close()
