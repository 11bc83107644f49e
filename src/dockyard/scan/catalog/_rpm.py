"""RPM packages from the rpmdb: SQLite (``rpmdb.sqlite``) or Berkeley DB (``Packages``)."""

from __future__ import annotations

import sqlite3
import tempfile

from dockyard.errors import DockyardError
from dockyard.scan._filesystem import FileView
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context
from dockyard.scan.catalog._bdb import iter_hash_values
from dockyard.scan.catalog._rpmheader import parse_header

__all__ = ["RpmCataloger", "sqlite_blobs"]

_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")


def sqlite_blobs(data: bytes) -> list[bytes]:
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as f:
        f.write(data)
        f.flush()
        conn = sqlite3.connect(f"file:{f.name}?mode=ro&immutable=1", uri=True)
        try:
            return [bytes(row[0]) for row in conn.execute("SELECT blob FROM Packages")]
        finally:
            conn.close()


def _package(
    fields: dict[str, str | int | list[str]], location: Location, context: Context
) -> Package | None:
    name, version = fields.get("name"), fields.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or name == "gpg-pubkey":
        return None
    release = str(fields.get("release", ""))
    epoch = fields.get("epoch")
    full = f"{version}-{release}" if release else version
    full_with_epoch = f"{epoch}:{full}" if isinstance(epoch, int) else full
    arch = str(fields.get("arch", ""))
    source = str(fields.get("sourcerpm", ""))
    distro = context.distro
    qualifiers = {"arch": arch, "upstream": source}
    if isinstance(epoch, int):
        qualifiers["epoch"] = str(epoch)
    if distro is not None:
        qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
    license_ = fields.get("license")
    return Package(
        name,
        full_with_epoch,
        "rpm",
        purl("rpm", name, full, namespace=distro.id if distro else "", qualifiers=qualifiers),
        licenses=[license_] if isinstance(license_, str) and license_ else [],
        locations=[location],
        arch=arch,
        source_name=source.rsplit("-", 2)[0] if source else name,
        source_version=full_with_epoch,
    )


class RpmCataloger:
    name = "rpm-db-cataloger"
    globs = tuple(f"{d}/{f}" for d in _DIRS for f in ("rpmdb.sqlite", "Packages"))

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out: list[Package] = []
        for path in self.globs:
            data = view.read(path)
            if not data:
                continue
            entry = view.entries.get(path)
            location = Location(path, entry.layer if entry else None)
            try:
                blobs = (
                    sqlite_blobs(data) if path.endswith(".sqlite") else list(iter_hash_values(data))
                )
            except (DockyardError, sqlite3.Error):
                continue
            for blob in blobs:
                try:
                    pkg = _package(parse_header(blob), location, context)
                except (DockyardError, ValueError):
                    continue
                if pkg is not None:
                    out.append(pkg)
        return out
