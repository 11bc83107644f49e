"""Hostile image content given to ``dockyard sbom``: member names that are absolute, climb
above the root or hold a NUL byte, and package databases past the scan limits. Every scan
finishes: with the file read at its normalised path, or with an error naming the limit."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.scan_hostile import (
    DPKG_STATUS,
    FINDING_STANZAS,
    FINDING_STATUS_BYTES,
    abs_path_layer,
    big_dpkg_layer,
    docker_archive,
    tar_layer,
)
from dockyard.errors import InvalidArgument
from dockyard.registry.limits import Limits
from dockyard.scan import LayerInput, ScanBudget, ScanLimitExceeded, compile_globs, walk_layers
from dockyard.scan._paths import member_path

STATUS = (
    b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13-1\nArchitecture: amd64\n"
)
OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'


def _sbom(root: Path, archive: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    # a generous timeout: before names were normalised safely, this layer never finished
    return run_dockyard(
        "sbom", f"docker-archive:{archive}", "--format", "json", root=root, check=check, timeout=120
    )


def test_sbom_of_a_layer_with_an_absolute_member_name_finishes(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "abs.tar", [abs_path_layer()])
    out = _sbom(tmp_path / "store", archive)
    assert json.loads(out.stdout)["packages"] == []


def test_member_names_are_read_at_their_normalised_paths(tmp_path: Path) -> None:
    """Absolute, ``./``-prefixed, doubled-slash and root-escaping names all land inside the
    image's root, where the catalogers find them."""
    layer = tar_layer(
        [
            ("/" + DPKG_STATUS, STATUS),
            ("//etc/../etc/./os-release", OS_RELEASE),
            ("../../../../abs-path-file", b"x"),
        ]
    )
    out = _sbom(tmp_path / "store", docker_archive(tmp_path / "names.tar", [layer]))
    sbom = json.loads(out.stdout)
    assert [(p["name"], p["version"]) for p in sbom["packages"]] == [("zlib1g", "1:1.2.13-1")]
    assert sbom["packages"][0]["locations"][0]["path"] == "/" + DPKG_STATUS
    assert sbom["distro"]["id"] == "debian"


def test_member_path_normalisation() -> None:
    cases = {
        "/abs-path-file": "/abs-path-file",
        "//abs-path-file": "/abs-path-file",
        "///a//b/": "/a/b",
        "./var/lib/dpkg/status": "/var/lib/dpkg/status",
        "var/./lib/../lib/dpkg": "/var/lib/dpkg",
        "../../etc/passwd": "/etc/passwd",
        "a/../../../b": "/b",
        ".": "/",
        "": "/",
        "/": "/",
        "..": "/",
    }
    assert {name: member_path(name) for name in cases} == cases
    with pytest.raises(InvalidArgument, match="NUL"):
        member_path("etc/pass\x00wd")
    assert member_path("a/" * 2047) == "/a" * 2047
    with pytest.raises(InvalidArgument, match="longer than any file system allows"):
        member_path("a/" * 2048)
    assert member_path("./" * 100_000 + "etc") == "/etc"  # long, but normalises short


def test_member_name_with_a_nul_byte_is_refused(tmp_path: Path) -> None:
    layer = tar_layer([("etc/os-release\x00/../../x", OS_RELEASE)])
    out = _sbom(tmp_path / "store", docker_archive(tmp_path / "nul.tar", [layer]), check=False)
    assert out.returncode == 1, out
    assert "NUL" in out.stderr


def test_cli_budget_defaults_are_the_registry_limits() -> None:
    limits = Limits()
    assert ScanBudget() == ScanBudget(
        layer_bytes=limits.scan_layer_bytes,
        file_bytes=limits.scan_file_bytes,
        packages=limits.scan_packages,
    )


@pytest.mark.slow
def test_sbom_of_the_findings_package_database_stops_at_the_package_limit(
    tmp_path: Path,
) -> None:
    """774k stanzas in 64 MiB (4.3 MB gzipped): refused at the package limit, not parsed whole."""
    layer = big_dpkg_layer(FINDING_STANZAS, FINDING_STATUS_BYTES)
    out = _sbom(tmp_path / "store", docker_archive(tmp_path / "big.tar", [layer]), check=False)
    assert out.returncode == 1, out.stdout[:500]
    assert "limits.scanpackages" in out.stderr and "100,000" in out.stderr, out.stderr


@pytest.mark.slow
def test_sbom_of_a_package_database_over_the_file_limit_is_refused(tmp_path: Path) -> None:
    layer = big_dpkg_layer(1000, FINDING_STATUS_BYTES + 1)
    out = _sbom(tmp_path / "store", docker_archive(tmp_path / "big.tar", [layer]), check=False)
    assert out.returncode == 1, out.stdout[:500]
    assert "limits.scanfilebytes" in out.stderr and "/var/lib/dpkg/status" in out.stderr


class _Tracked(io.BytesIO):
    """A layer stream that remembers how far it was read when it was closed."""

    position = 0

    def close(self) -> None:
        if not self.closed:
            self.position = self.tell()
        super().close()


def test_layer_is_read_no_further_than_scan_layer_bytes() -> None:
    layer = tar_layer([("zeros", bytes(3 << 20))])
    stream = _Tracked(gzip.decompress(layer.blob))
    with pytest.raises(ScanLimitExceeded, match=r"limits\.scanlayerbytes \(1 MiB\)"):
        walk_layers(
            [LayerInput(layer.diff_id, lambda: stream)],
            compile_globs([]),
            budget=ScanBudget(layer_bytes=1 << 20),
        )
    assert 0 < stream.position <= (1 << 20) + 1
