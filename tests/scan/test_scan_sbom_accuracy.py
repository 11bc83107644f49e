"""SBOM accuracy against ground truth (dpkg-query, pip list) and against Syft on the same images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from _infra import run_dockyard
from _infra.scan_env import SITE, TestImage

SYFT = Path(sys.executable).parent / "syft"


def _sbom(image: TestImage, target: str | Path, fmt: str = "json") -> dict[str, Any]:
    out = run_dockyard("sbom", target, "--format", fmt, root=image.store)
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _syft(target: str) -> dict[str, Any]:
    proc = subprocess.run(
        [str(SYFT), target, "-o", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _dpkg_query(admindir: Path) -> set[tuple[str, str, str]]:
    out = subprocess.run(
        [
            "dpkg-query",
            f"--admindir={admindir}",
            "-W",
            "-f",
            "${Package}\t${Version}\t${Architecture}\n",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {tuple(line.split("\t")) for line in out.splitlines() if line}  # type: ignore[misc]


@pytest.mark.slow
def test_debian_dpkg_packages_equal_dpkg_query_and_syft(
    debian_image: TestImage, tmp_path: Path
) -> None:
    assert debian_image.rootfs is not None
    truth = _dpkg_query(debian_image.rootfs / "var" / "lib" / "dpkg")
    assert len(truth) > 50

    doc = _sbom(debian_image, debian_image.ref)
    debs = [p for p in doc["packages"] if p["type"] == "deb"]
    ours = {(p["name"], p["version"], p["arch"]) for p in debs}
    assert ours == truth
    # no other ecosystems in a minbase image (perl-base has no dist-info, no binaries with Go
    # build info)
    assert len(debs) == len(doc["packages"])
    assert doc["distro"]["id"] == "debian" and doc["distro"]["versionID"] == "12"
    layer = doc["source"]["layers"][0]["diffID"]
    assert {p["layer"] for p in debs} == {layer}
    assert all(p["purl"].startswith(f"pkg:deb/debian/{quote(p['name'], safe='')}@") for p in debs)
    assert all("distro=debian-12" in p["purl"] for p in debs)
    assert next(p for p in debs if p["name"] == "base-files")["licenses"]

    # the same image as a docker-archive, read by both tools
    archive = tmp_path / "debian.tar"
    run_dockyard(
        "save", "--format", "docker", "-o", archive, debian_image.ref, root=debian_image.store
    )
    from_archive = _sbom(debian_image, f"docker-archive:{archive}")
    assert {p["purl"] for p in from_archive["packages"]} == {p["purl"] for p in debs}

    syft = _syft(f"docker-archive:{archive}")
    syft_debs = [a for a in syft["artifacts"] if a["type"] == "deb"]
    # Syft finds exactly the same packages, with the same purls (arch, distro, upstream=src@ver
    # for binNMUs), and nothing of any other type in this image.
    assert {a["purl"] for a in syft_debs} == {p["purl"] for p in debs}
    assert len(syft["artifacts"]) == len(syft_debs)
    # Licences: both read `License:` lines of /usr/share/doc/*/copyright and the
    # /usr/share/common-licenses/X references. Known differences: syft keeps a trailing comma
    # in `License: REGCOMP,` (perl-base) where we strip it, and skips the `none` pseudo-licence
    # (liblzma5) and CC0-1.0 (perl-base); at most these few packages may differ.
    syft_lic = {a["name"]: {lic["value"].rstrip(",") for lic in a["licenses"]} for a in syft_debs}
    differ = {p["name"] for p in debs if set(p["licenses"]) != syft_lic[p["name"]]}
    assert differ <= {"perl-base", "liblzma5"}, differ
    for name in differ:
        ours_lic = set(next(p for p in debs if p["name"] == name)["licenses"])
        assert ours_lic - syft_lic[name] <= {"none", "CC0-1.0"}


@pytest.mark.slow
def test_python_environment_equals_pip_list_and_syft(python_image: TestImage) -> None:
    assert python_image.rootfs is not None
    site = python_image.rootfs / SITE
    pip = subprocess.run(
        [
            sys.executable.replace(sys.executable, "python3"),
            "-m",
            "pip",
            "list",
            "--path",
            str(site),
            "--format",
            "json",
            "--disable-pip-version-check",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    truth = {(p["name"].lower(), p["version"]) for p in json.loads(pip.stdout)}
    assert ("requests", "2.19.1") in truth

    for target in (python_image.ref, f"dir:{python_image.rootfs}"):
        doc = _sbom(python_image, target)
        ours = {(p["name"].lower(), p["version"]) for p in doc["packages"]}
        assert ours == truth, target
        assert all(p["type"] == "python" for p in doc["packages"])
        req = next(p for p in doc["packages"] if p["name"] == "requests")
        assert req["purl"] == "pkg:pypi/requests@2.19.1"
        assert req["licenses"] == ["Apache 2.0"]
        assert req["locations"][0]["path"] == f"/{SITE}/requests-2.19.1.dist-info/METADATA"

    syft = _syft(f"dir:{python_image.rootfs}")
    syft_set = {(a["name"].lower(), a["version"]) for a in syft["artifacts"]}
    # Syft agrees on every package; the purls agree too (both normalise names per PEP 503).
    assert syft_set == truth
    assert {a["purl"] for a in syft["artifacts"]} == {
        p["purl"] for p in _sbom(python_image, python_image.ref)["packages"]
    }
