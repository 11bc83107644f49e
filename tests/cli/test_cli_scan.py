"""``dockyard sbom``, ``scan`` and ``db import``/``db status`` on a directory: ``--format json``
keys, ``--exit-code``, the error without a database, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, run_in_process

METADATA = "usr/lib/python3/site-packages/demo-1.0.dist-info/METADATA"
ADVISORY = {
    "id": "PYSEC-0000-1",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "demo is broken",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "demo"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}],
        }
    ],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
}


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """A directory with one Python package, demo 1.0."""
    path = tmp_path / "fs" / METADATA
    path.parent.mkdir(parents=True)
    path.write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    return tmp_path / "fs"


@pytest.fixture
def advisories(tmp_path: Path) -> Path:
    """An OSV directory with one advisory: demo before 1.1, CRITICAL."""
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "PYSEC-0000-1.json").write_text(json.dumps(ADVISORY))
    return osv


def test_sbom_json_lists_the_package(rootfs: Path, dockyard_root: Path) -> None:
    doc = json.loads(run_in_process("sbom", rootfs, "--format", "json", root=dockyard_root).stdout)
    assert {"source", "distro", "packages"} <= set(doc)
    assert doc["source"]["type"] == "directory"
    [package] = doc["packages"]
    assert (package["name"], package["version"], package["purl"]) == (
        "demo",
        "1.0",
        "pkg:pypi/demo@1.0",
    )
    spdx = json.loads(
        run_in_process("sbom", rootfs, "--format", "spdx-json", root=dockyard_root).stdout
    )
    assert spdx["spdxVersion"] == "SPDX-2.3"


def test_scan_json_and_exit_code(rootfs: Path, advisories: Path, dockyard_root: Path) -> None:
    out = run_in_process("db", "import", advisories, root=dockyard_root)
    assert "1 osv advisories imported" in out.stdout
    status = json.loads(
        run_in_process("db", "status", "--format", "json", root=dockyard_root).stdout
    )
    assert status["advisories"] == 1 and {"sources", "ecosystems", "stale"} <= set(status)
    report = json.loads(
        run_in_process("scan", rootfs, "--format", "json", root=dockyard_root).stdout
    )
    assert report["Summary"]["CRITICAL"] == 1
    [finding] = report["Results"]
    assert finding["VulnerabilityID"] == "PYSEC-0000-1"
    assert (finding["PkgName"], finding["InstalledVersion"], finding["FixedVersion"]) == (
        "demo",
        "1.0",
        "1.1",
    )
    # --exit-code: that code when findings at the chosen severities remain, else 0
    hit = run_dockyard(  # the console script: the status as a CI job's shell sees it
        "scan",
        rootfs,
        "--exit-code",
        "3",
        "--severity",
        "CRITICAL",
        root=dockyard_root,
        check=False,
    )
    assert hit.returncode == 3, hit.stderr
    miss = run_in_process(
        "scan", rootfs, "--exit-code", "3", "--severity", "LOW", root=dockyard_root
    )
    assert miss.returncode == 0


def test_scan_without_a_database_exits_1(rootfs: Path, dockyard_root: Path) -> None:
    out = run_in_process("scan", rootfs, root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "Error: no vulnerability data: run `dockyard db update`" in out.stderr


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("sbom", "--format", "bogus", "x", root=dockyard_root, check=False),
        "Invalid value for '--format'",
    )
    assert_usage_error(run_in_process("scan", root=dockyard_root, check=False), "Missing argument")
    for command in (
        ["sbom"],
        ["scan"],
        ["db"],
        ["db", "import"],
        ["db", "status"],
        ["db", "update"],
    ):
        assert_help(dockyard_root, *command)
