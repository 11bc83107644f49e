"""End-to-end scans against the imported test data; expected findings listed by advisory ID."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from _infra import BuiltImage, DockerDaemon, run_dockyard, save_image
from _infra.scan_env import SITE, TestImage
from _infra.scan_pyenv import PYTHON_FINDINGS, python_site_packages

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
"""
# sope 5.8.0-1 < bookworm's fix 5.8.0-1+deb12u1; chromium 97 < 98.0.4758.80-1; backupninja
# 0.7 < 0.8-2 but the tracker has no bookworm entry for it; prototypejs' CVE-2007-2383 is
# "fixed in 0" (never affected).
DPKG_STATUS = """Package: libsope1
Status: install ok installed
Architecture: amd64
Source: sope
Version: 5.8.0-1

Package: chromium
Status: install ok installed
Architecture: amd64
Version: 97.0.4692.99-1

Package: backupninja
Status: install ok installed
Architecture: all
Version: 0.7-1

Package: libjs-prototype
Status: install ok installed
Architecture: all
Source: prototypejs
Version: 1.7.1-3
"""


@pytest.fixture(scope="module")
def db_root(tmp_path_factory: pytest.TempPathFactory, vulndb: Path) -> Path:
    root = tmp_path_factory.mktemp("scan-db")
    out = run_dockyard(
        "db",
        "import",
        vulndb / "osv" / "PyPI",
        vulndb / "osv" / "Go",
        vulndb / "osv" / "crates.io",
        vulndb / "debian" / "vunnel-fixture-debian-tracker.json",
        vulndb / "alpine" / "vunnel-fixture-secdb-v3.15-main.yaml",
        root=root,
    )
    assert "258 osv advisories imported" in out.stdout
    return root


def _scan(root: Path, *args: str | Path, check: bool = True) -> dict[str, Any]:
    out = run_dockyard("scan", *args, "--format", "json", root=root, check=check)
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


@pytest.mark.slow
def test_db_status(db_root: Path) -> None:
    status = json.loads(run_dockyard("db", "status", "--format", "json", root=db_root).stdout)
    assert status["advisories"] == 258 + 273 + 40 + 5 + 13
    assert status["ecosystems"]["pypi"] == 258
    assert status["ecosystems"]["debian:12"] == 2
    assert status["stale"] == []
    table = run_dockyard("db", "status", root=db_root)
    assert "vunnel-fixture-debian-tracker.json  debian-tracker  5 advisories" in table.stdout


def test_scan_needs_a_database(tmp_path: Path, python_image: TestImage) -> None:
    out = run_dockyard("scan", f"dir:{python_image.rootfs}", root=tmp_path, check=False)
    assert out.returncode == 1
    assert "dockyard db import" in out.stderr


@pytest.mark.slow
def test_python_image_findings(db_root: Path, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    shutil.copytree(python_site_packages(), rootfs / SITE)
    run_dockyard("import", rootfs, "pyold:1", root=db_root)
    report = _scan(db_root, "pyold:1")
    got = {(r["PkgName"].lower(), r["VulnerabilityID"]) for r in report["Results"]}
    assert got == PYTHON_FINDINGS
    urllib3 = next(r for r in report["Results"] if r["VulnerabilityID"] == "PYSEC-2023-192")
    assert urllib3["FixedVersion"] == "1.26.17"
    assert urllib3["Severity"] == "HIGH"  # CVSS:3.1/…: 8.1 computed from the vector
    assert urllib3["CVSS"]["Score"] == 8.1
    assert urllib3["Layer"]["DiffID"].startswith("sha256:")
    assert sum(report["Summary"].values()) == len(PYTHON_FINDINGS)

    high = _scan(db_root, "pyold:1", "--severity", "HIGH,CRITICAL")
    assert {r["VulnerabilityID"] for r in high["Results"]} == {"PYSEC-2023-192", "PYSEC-2024-60"}

    ignore = tmp_path / ".trivyignore"
    ignore.write_text("# accepted\nPYSEC-2023-192\nCVE-2024-3651 idna, by alias\n")
    ignored = _scan(db_root, "pyold:1", "--severity", "HIGH", "--ignorefile", ignore)
    assert ignored["Results"] == []

    failing = run_dockyard(
        "scan", "pyold:1", "--severity", "HIGH", "--exit-code", "3", root=db_root, check=False
    )
    assert failing.returncode == 3
    assert "Total: 2 (" in failing.stdout and "HIGH: 2" in failing.stdout
    clean = run_dockyard(
        "scan", "pyold:1", "--severity", "CRITICAL", "--exit-code", "3", root=db_root, check=False
    )
    assert clean.returncode == 0

    cdx = run_dockyard("scan", "pyold:1", "--format", "cyclonedx", root=db_root).stdout
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(cdx) is None
    assert len(json.loads(cdx)["vulnerabilities"]) == len(PYTHON_FINDINGS)

    sarif = json.loads(run_dockyard("scan", "pyold:1", "--format", "sarif", root=db_root).stdout)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {i for _, i in PYTHON_FINDINGS}
    assert {r["level"] for r in results if r["ruleId"] == "PYSEC-2023-192"} == {"error"}


@pytest.mark.slow
def test_debian_status_findings_from_the_tracker(db_root: Path, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text(OS_RELEASE)
    (rootfs / "var" / "lib" / "dpkg").mkdir(parents=True)
    (rootfs / "var" / "lib" / "dpkg" / "status").write_text(DPKG_STATUS)
    report = _scan(db_root, rootfs)
    got = {(r["PkgName"], r["VulnerabilityID"], r["FixedVersion"]) for r in report["Results"]}
    assert got == {
        ("libsope1", "CVE-2025-53603", "5.8.0-1+deb12u1"),
        ("chromium", "CVE-2022-0456", "98.0.4758.80-1"),
    }
    assert report["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}

    # the same packages on bullseye get bullseye's own fixed versions
    (rootfs / "etc" / "os-release").write_text(
        OS_RELEASE.replace('VERSION_ID="12"', 'VERSION_ID="11"')
    )
    bullseye = _scan(db_root, rootfs)
    fixed = {r["VulnerabilityID"]: r["FixedVersion"] for r in bullseye["Results"]}
    assert fixed == {"CVE-2022-0456": "98.0.4758.80-1~deb11u1"}  # sope 5.8 > 5.0.1-2+deb11u1


@pytest.mark.docker
def test_whiteouts_and_dockerfile_steps(
    dockerd: DockerDaemon, busybox_image: BuiltImage, db_root: Path, tmp_path: Path
) -> None:
    """A real docker build: files deleted by a later RUN (whiteouts) are not reported, and
    each finding names the layer and the Dockerfile step that brought its package in."""
    ctx = tmp_path / "ctx"
    site = ctx / "site"
    shutil.copytree(python_site_packages(), site)
    (ctx / "status").write_text(DPKG_STATUS)
    (ctx / "os-release").write_text(OS_RELEASE)
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_image.ref}\n"
        "COPY os-release /etc/os-release\n"
        "COPY status /var/lib/dpkg/status\n"
        f"COPY site /{SITE}\n"
        f"RUN rm -rf /{SITE}/urllib3-1.24.1.dist-info /{SITE}/urllib3\n"
    )
    dockerd.run("build", "--network", "none", "-t", "scan-whiteout:1", str(ctx))
    archive = save_image(dockerd, "scan-whiteout:1", tmp_path / "image.tar")
    sbom = json.loads(
        run_dockyard("sbom", f"docker-archive:{archive}", "--format", "json", root=db_root).stdout
    )
    names = {p["name"].lower() for p in sbom["packages"]}
    assert "urllib3" not in names
    assert {"requests", "jinja2", "libsope1", "chromium"} <= names

    report = _scan(db_root, archive)
    assert not any(r["PkgName"] == "urllib3" for r in report["Results"])
    sope = next(r for r in report["Results"] if r["VulnerabilityID"] == "CVE-2025-53603")
    # docker's history spells the step `COPY file:<sha256> in /var/lib/dpkg/status`
    assert "COPY" in sope["Layer"]["CreatedBy"]
    assert "in /var/lib/dpkg/status" in sope["Layer"]["CreatedBy"]
    jinja = next(r for r in report["Results"] if r["VulnerabilityID"] == "PYSEC-2021-66")
    assert f"in /{SITE}" in jinja["Layer"]["CreatedBy"]
    assert jinja["Layer"]["DiffID"] != sope["Layer"]["DiffID"]
