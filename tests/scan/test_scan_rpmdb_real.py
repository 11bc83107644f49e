"""The RPM cataloger on rpmdbs written by rpm itself: SQLite and Berkeley DB ``Packages``.

The packages are built here with rpmbuild (one spec, 31 noarch binary packages: one with 400
files, so its installed header spans several 4 KiB pages, one with an epoch) and installed with
``rpm -i`` into an SQLite rpmdb, the only writable backend of Debian's rpm (its other backends
are ``bdb_ro`` and ``dummy``). The Berkeley DB ``Packages`` files are then made by
``db5.3_load`` from those installed headers, laid out as rpm's BDB backend kept them (key: the
header number in the database's byte order; key 0: the highest header number), in both byte
orders and with 4 KiB pages (every header in a chain of overflow pages) and 64 KiB pages (the
headers stored on the hash pages themselves). Ground truth is ``rpm -qa`` reading each database
(``bdb_ro`` for the Berkeley DB files); Syft reads the same trees.
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from _infra import run_dockyard

SYFT = Path(sys.executable).parent / "syft"
DBPATH = "/var/lib/rpm"
QUERY_FORMAT = r"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\n"
#: (name, page size, byte order) of each Berkeley DB variant.
BDB_VARIANTS = {
    "bdb-le-4k": (4096, "<"),
    "bdb-be-4k": (4096, ">"),
    "bdb-le-64k": (65536, "<"),
    "bdb-be-64k": (65536, ">"),
}

Triple = tuple[str, str, str]


def _spec() -> str:
    subpackages = "".join(
        f"%package -n dy-sub{i:02d}\nSummary: sub-package {i}\n"
        + ("Epoch: 3\n" if i == 1 else "")
        + f"License: Apache-2.0\n%description -n dy-sub{i:02d}\nsub-package {i}\n"
        + f"%files -n dy-sub{i:02d}\n"
        for i in range(1, 31)
    )
    return (
        "Name: dy-tool\nVersion: 1.4.2\nRelease: 7.el9\nSummary: many files\n"
        "License: MIT and BSD\nBuildArch: noarch\n%description\nmany files\n"
        + subpackages
        + "%install\nmkdir -p %{buildroot}/usr/share/dy-tool\n"
        "for i in $(seq 1 400); do\n"
        "  echo $i > %{buildroot}/usr/share/dy-tool/a-file-with-a-rather-long-name-$i.txt\n"
        "done\n%files\n/usr/share/dy-tool\n"
    )


def _run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{argv[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _rpm_qa(root: Path, backend: str) -> set[Triple]:
    out = _run(
        "rpm",
        "--define",
        f"_db_backend {backend}",
        "--root",
        str(root),
        "--dbpath",
        DBPATH,
        "-qa",
        "--qf",
        QUERY_FORMAT,
    )
    return {tuple(line.split("\t")) for line in out.splitlines() if line}  # type: ignore[misc]


def _bdb_dump(rows: list[tuple[int, bytes]], page_size: int, order: str) -> str:
    """db_load's ``bytevalue`` dump: key 0 holds the highest header number, as rpm kept it."""
    lorder = 1234 if order == "<" else 4321
    lines = [
        "VERSION=3",
        "format=bytevalue",
        "type=hash",
        f"db_pagesize={page_size}",
        f"db_lorder={lorder}",
        "HEADER=END",
    ]
    records = [(0, struct.pack(order + "I", max(n for n, _ in rows))), *rows]
    for number, value in records:
        lines += [" " + struct.pack(order + "I", number).hex(), " " + value.hex()]
    return "\n".join([*lines, "DATA=END", ""])


def _overflow_pages(packages: Path) -> int:
    """Overflow pages in a hash database, as Berkeley DB's own db_stat counts them."""
    stat = _run("db5.3_stat", "-d", str(packages))
    found = re.search(r"^(\d+)\tNumber of overflow pages$", stat, re.M)
    assert found, stat
    return int(found.group(1))


@pytest.fixture(scope="module")
def rpm_trees(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding one root per rpmdb: ``sqlite`` and the ``bdb-*`` variants."""
    work = tmp_path_factory.mktemp("rpmbuild")
    (work / "dy.spec").write_text(_spec())
    _run(
        "rpmbuild",
        "-bb",
        "--define",
        f"_topdir {work / 'top'}",
        "--define",
        f"_tmppath {work / 'tmp'}",
        "--define",
        "_build_id_links none",
        str(work / "dy.spec"),
    )
    rpms = sorted(str(p) for p in (work / "top" / "RPMS" / "noarch").glob("*.rpm"))
    assert len(rpms) == 31
    trees = tmp_path_factory.mktemp("rpm-trees")
    sqlite_root = trees / "sqlite"
    sqlite_root.mkdir()
    _run(
        "rpm",
        "--define",
        "_db_backend sqlite",
        "--root",
        str(sqlite_root),
        "--dbpath",
        DBPATH,
        "--nodeps",
        "--noscripts",
        "-i",
        *rpms,
    )
    db = sqlite_root / DBPATH.lstrip("/") / "rpmdb.sqlite"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [(int(n), bytes(b)) for n, b in conn.execute("SELECT hnum, blob FROM Packages")]
    finally:
        conn.close()
    assert len(rows) == 31
    for name, (page_size, order) in BDB_VARIANTS.items():
        dbdir = trees / name / DBPATH.lstrip("/")
        dbdir.mkdir(parents=True)
        dump = work / f"{name}.dump"
        dump.write_text(_bdb_dump(rows, page_size, order))
        _run("db5.3_load", "-f", str(dump), str(dbdir / "Packages"))
    return trees


def _dockyard_rpms(root: Path, store: Path) -> set[Triple]:
    doc = json.loads(run_dockyard("sbom", root, "--format", "json", root=store).stdout)
    return {(p["name"], p["version"], p["arch"]) for p in doc["packages"] if p["type"] == "rpm"}


@pytest.mark.slow
def test_sqlite_rpmdb_equals_rpm_qa(rpm_trees: Path, tmp_path: Path) -> None:
    truth = _rpm_qa(rpm_trees / "sqlite", "sqlite")
    assert len(truth) == 31
    assert ("dy-sub01", "3:1.4.2-7.el9", "noarch") in truth
    assert ("dy-tool", "1.4.2-7.el9", "noarch") in truth
    assert _dockyard_rpms(rpm_trees / "sqlite", tmp_path) == truth


@pytest.mark.parametrize("variant", sorted(BDB_VARIANTS))
@pytest.mark.slow
def test_berkeley_db_packages_equals_rpm_qa(rpm_trees: Path, tmp_path: Path, variant: str) -> None:
    root = rpm_trees / variant
    truth = _rpm_qa(root, "bdb_ro")
    assert truth == _rpm_qa(rpm_trees / "sqlite", "sqlite")
    # Both layouts of header values are exercised: with 4 KiB pages every header is off-page
    # and the 400-file one needs a chain of several overflow pages; with 64 KiB pages only that
    # one is off-page (a single overflow page) and the other 30 are stored on the hash pages.
    page_size, _ = BDB_VARIANTS[variant]
    overflow = _overflow_pages(root / DBPATH.lstrip("/") / "Packages")
    assert overflow > len(truth) if page_size == 4096 else overflow == 1
    assert _dockyard_rpms(root, tmp_path) == truth


@pytest.mark.slow
def test_syft_reads_the_same_rpmdbs(rpm_trees: Path) -> None:
    """One syft run over every tree; each package is attributed by its database's path."""
    proc = subprocess.run(
        [str(SYFT), f"dir:{rpm_trees}", "-o", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    by_tree: dict[str, set[tuple[str, str]]] = {}
    for artifact in json.loads(proc.stdout)["artifacts"]:
        if artifact["type"] != "rpm":
            continue
        for location in artifact["locations"]:
            tree = location["path"].lstrip("/").split("/", 1)[0]
            by_tree.setdefault(tree, set()).add((artifact["name"], artifact["version"]))
    truth = {(name, version) for name, version, _ in _rpm_qa(rpm_trees / "sqlite", "sqlite")}
    assert by_tree.pop("sqlite") == truth
    assert by_tree.pop("bdb-le-4k") == truth
    assert by_tree.pop("bdb-be-4k") == truth
    # The one difference: Syft (its go-rpmdb reader) takes only off-page values from a hash
    # page and skips values stored on the page itself, so with 64 KiB pages it finds only the
    # 400-file package, whose header is too big for the page; rpm's bdb_ro and dockyard read all.
    assert by_tree.pop("bdb-le-64k") == {("dy-tool", "1.4.2-7.el9")}
    assert by_tree.pop("bdb-be-64k") == {("dy-tool", "1.4.2-7.el9")}
    assert by_tree == {}
