"""Binary packages another package owns, left out as syft leaves them out.

A classifier finds ``bash`` in ``/usr/bin/bash``; on Debian the ``bash`` deb already names that
file, and the deb is the better record (its version, its advisories). syft 1.18 drops a
``binary`` package whose file an OS package owns (``ExcludeBinariesByFileOwnershipOverlap``:
dpkg's ``info/*.md5sums`` and ``*.conffiles``, apk's ``F:``/``R:`` lines, the file lists in
the rpmdb's headers), and one inside the directory of a Java runtime its ``release`` file
describes. Paths are compared with every symlink followed, so a deb's ``bin/bash`` owns
``/usr/bin/bash`` under ``/bin -> usr/bin``; only owned paths with the base name of a find are
resolved (an RPM image lists tens of thousands of files).
"""

from __future__ import annotations

import posixpath
import sqlite3

from dockyard.errors import DockyardError, NotFound
from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Package
from dockyard.scan.catalog._bdb import iter_hash_values
from dockyard.scan.catalog._rpm import RpmCataloger, sqlite_blobs
from dockyard.scan.catalog._rpmheader import header_files

__all__ = ["OWNERSHIP_GLOBS", "drop_owned_binaries"]

#: the files that say which paths a package owns (kept while the layers stream past)
OWNERSHIP_GLOBS = ("/var/lib/dpkg/info/*.md5sums", "/var/lib/dpkg/info/*.conffiles")
_DPKG_INFO = compile_globs(OWNERSHIP_GLOBS)
_APK_DB = "/lib/apk/db/installed"


def _classified(pkg: Package) -> bool:
    return pkg.type == "binary" and "classifier" in pkg.metadata


def _dpkg_owned(view: FileView, names: set[str]) -> set[str]:
    owned: set[str] = set()
    for path in view.glob(_DPKG_INFO):
        stem = posixpath.basename(path).rsplit(".", 1)[0]
        if stem.split(":", 1)[0] not in names:
            continue  # left behind by a package no longer installed
        data = view.read(path)
        if data is None:
            continue
        md5sums = path.endswith(".md5sums")
        for line in data.decode("utf-8", "replace").splitlines():
            if md5sums:
                _, _, line = line.partition("  ")  # "<md5>  usr/bin/bash"
            else:
                line = line.split(" ", 1)[0]  # "/etc/x [remove-on-upgrade]"
            if line.strip():
                owned.add("/" + line.strip().lstrip("/"))
    return owned


def _apk_owned(view: FileView, names: set[str]) -> set[str]:
    data = view.read(_APK_DB)
    if data is None:
        return set()
    owned: set[str] = set()
    package = directory = ""
    for line in data.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if not line:
            package = directory = ""
        elif key == "P":
            package = value
        elif key == "F":
            directory = value
        elif key == "R" and package in names:
            owned.add(posixpath.join("/", directory, value))
    return owned


def _resolve(view: FileView, path: str) -> str:
    try:
        return view.resolve(path)
    except NotFound:  # a symlink loop: the path as written
        return path


def _rpm_owned(view: FileView, wanted: set[str]) -> set[str]:
    """The paths the rpmdb's packages own whose base name is in ``wanted``."""
    owned: set[str] = set()
    for path in RpmCataloger.globs:
        data = view.read(path)
        if not data:
            continue
        try:
            blobs = sqlite_blobs(data) if path.endswith(".sqlite") else iter_hash_values(data)
            for blob in blobs:
                try:
                    files = header_files(blob)
                except (DockyardError, ValueError):
                    continue
                owned.update(f for f in files if posixpath.basename(f) in wanted)
        except (DockyardError, sqlite3.Error):
            continue
    return owned


def drop_owned_binaries(packages: list[Package], view: FileView) -> list[Package]:
    """``packages`` without the classifier-found binaries that another package owns."""
    if not any(_classified(p) for p in packages):
        return packages
    owned: set[str] = set()
    debs = {p.name for p in packages if p.type == "deb"}
    if debs:
        owned |= _dpkg_owned(view, debs)
    apks = {p.name for p in packages if p.type == "apk"}
    if apks:
        owned |= _apk_owned(view, apks)
    found = {
        posixpath.basename(_resolve(view, loc.path))
        for p in packages
        if _classified(p)
        for loc in p.locations
    }
    if any(p.type == "rpm" for p in packages):
        owned |= _rpm_owned(view, found)
    real_owned = {_resolve(view, path) for path in owned if posixpath.basename(path) in found}
    runtimes = [
        _resolve(view, posixpath.dirname(p.locations[0].path)) + "/"
        for p in packages
        if p.type == "binary"
        and not _classified(p)
        and p.locations
        and posixpath.basename(p.locations[0].path) == "release"
    ]

    def owned_file(pkg: Package) -> bool:
        for location in pkg.locations:
            real = _resolve(view, location.path)
            if real in real_owned or any(real.startswith(d) for d in runtimes):
                return True
        return False

    return [p for p in packages if not (_classified(p) and owned_file(p))]
