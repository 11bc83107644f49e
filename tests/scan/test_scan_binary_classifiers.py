"""Binary classifiers: static binaries found by the version in their bytes, as syft finds them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any, SupportsIndex, overload

import pytest

from _infra import run_dockyard
from dockyard.scan.catalog._classifiers import CLASSIFIERS, OVERLAP, WINDOW, classify

SYFT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "syft"
GO = shutil.which("go")


def _syft(target: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(SYFT), target, "-o", "json", "-q"],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    return list(json.loads(out.stdout)["artifacts"])


def _sbom(target: str, root: Path) -> list[dict[str, Any]]:
    out = run_dockyard("sbom", target, "--format", "json", root=root)
    return list(json.loads(out.stdout)["packages"])


def _debian_upstream_version(package: str) -> str:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], check=True, capture_output=True, text=True
    )
    version = out.stdout.split(":", 1)[-1]  # epoch
    return version.split("-", 1)[0]  # Debian revision


@pytest.mark.slow
def test_busybox_image_lists_busybox_as_syft_does(
    busybox_image: Any, dockerd: Any, tmp_path: Path
) -> None:
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), busybox_image.ref)
    ours = [
        p for p in _sbom(f"docker-archive:{archive}", tmp_path / "store") if p["name"] == "busybox"
    ]
    theirs = [a for a in _syft(f"docker-archive:{archive}") if a["name"] == "busybox"]
    assert len(theirs) == 1, theirs
    assert len(ours) == 1, ours
    expected = _debian_upstream_version("busybox-static")
    assert ours[0]["version"] == theirs[0]["version"] == expected
    assert ours[0]["type"] == theirs[0]["type"] == "binary"
    assert ours[0]["purl"] == theirs[0]["purl"] == f"pkg:generic/busybox@{expected}"
    assert ours[0]["cpes"] == [c["cpe"] for c in theirs[0]["cpes"]]
    assert [loc["path"] for loc in ours[0]["locations"]] == ["/bin/busybox"]
    # the SBOM formats carry the CPE for the matchers that use them
    spdx = json.loads(
        run_dockyard(
            "sbom", f"docker-archive:{archive}", "--format", "spdx-json", root=tmp_path / "store"
        ).stdout
    )
    refs = [r for p in spdx["packages"] if p["name"] == "busybox" for r in p["externalRefs"]]
    assert {r["referenceType"] for r in refs} == {"purl", "cpe23Type"}


def _module_proxy(workdir: Path, module: str, version: str, files: dict[str, str]) -> Path:
    """A file:// GOPROXY serving one module version (the layout ``go help goproxy`` gives)."""
    proxy = workdir / "proxy"
    at = proxy / module / "@v"
    at.mkdir(parents=True)
    (at / "list").write_text(version + "\n")
    (at / f"{version}.info").write_text(json.dumps({"Version": version}))
    (at / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(at / f"{version}.zip", "w") as zf:
        for name, text in files.items():
            zf.writestr(f"{module}@{version}/{name}", text)
    return proxy


def _go_build(workdir: Path) -> Path:
    """A main module requiring a versioned module (from a local proxy: no network), built."""
    assert GO is not None
    proxy = _module_proxy(
        workdir,
        "example.com/greet",
        "v1.2.3",
        {
            "go.mod": "module example.com/greet\n\ngo 1.19\n",
            "greet.go": 'package greet\n\nfunc Hello() string { return "hi" }\n',
        },
    )
    app = workdir / "app"
    app.mkdir()
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n"
    )
    (app / "main.go").write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\n'
        "func main() { fmt.Println(greet.Hello()) }\n"
    )
    rootfs = workdir / "rootfs"
    (rootfs / "usr" / "local" / "bin").mkdir(parents=True)
    env = {
        **os.environ,
        "GOPATH": str(workdir / "gopath"),
        "GOCACHE": str(workdir / "gocache"),
        "GOPROXY": proxy.as_uri(),
        "GOSUMDB": "off",
        "GOFLAGS": "-mod=mod",
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        [GO, "build", "-o", str(rootfs / "usr" / "local" / "bin" / "app"), "."],
        cwd=app,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return rootfs


def _keyed(packages: list[dict[str, Any]], kind: str) -> set[tuple[str, str]]:
    """(name, path) of each package of ``kind``: syft writes stdlib's version ``go1.x`` and
    leaves ``(devel)`` unescaped in purls, dockyard writes ``1.x`` and escapes it."""
    return {
        (p["name"], loc["path"]) for p in packages if p["type"] == kind for loc in p["locations"]
    }


@pytest.mark.slow
def test_go_binary_and_toolchain_as_syft_finds_them(tmp_path: Path) -> None:
    if GO is None:  # failed, not skipped: a test that did not run proves nothing
        pytest.fail("`go` is missing: install Debian's golang-go (`make test` does)")
    rootfs = _go_build(tmp_path)
    toolchain = Path(os.path.realpath(GO))
    (rootfs / "usr" / "local" / "go" / "bin").mkdir(parents=True)
    shutil.copy2(toolchain, rootfs / "usr" / "local" / "go" / "bin" / "go")
    ours = _sbom(f"dir:{rootfs}", tmp_path / "store")
    theirs = _syft(f"dir:{rootfs}")
    go_version = subprocess.run(
        [GO, "env", "GOVERSION"], check=True, capture_output=True, text=True
    ).stdout.strip()
    # the built program: Go stdlib and its modules
    app = [p for p in ours if any(loc["path"] == "/usr/local/bin/app" for loc in p["locations"])]
    names = {(p["name"], p["version"]) for p in app}
    assert ("stdlib", go_version.removeprefix("go")) in names
    assert ("example.com/greet", "v1.2.3") in names
    # the Go toolchain's own binary, by its version string (syft's go-binary classifier)
    toolchain_pkgs = [p for p in ours if p["type"] == "binary"]
    assert [(p["name"], p["version"]) for p in toolchain_pkgs] == [
        ("go", go_version.removeprefix("go"))
    ]
    assert toolchain_pkgs[0]["cpes"] == [
        f"cpe:2.3:a:golang:go:{go_version.removeprefix('go')}:*:*:*:*:*:*:*"
    ]
    # the same packages as syft, module for module
    assert _keyed(ours, "binary") == _keyed(theirs, "binary")
    assert _keyed(ours, "go-module") == _keyed(theirs, "go-module")


@pytest.mark.slow
def test_go_toolchain_binary_is_matched_as_go_stdlib(tmp_path: Path, vulndb: Path) -> None:
    if GO is None:
        pytest.fail("`go` is missing: install Debian's golang-go (`make test` does)")
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "local" / "go" / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(GO), rootfs / "usr" / "local" / "go" / "bin" / "go")
    root = tmp_path / "store"
    run_dockyard("db", "import", vulndb / "osv" / "Go", root=root)
    report = json.loads(run_dockyard("scan", f"dir:{rootfs}", "--format", "json", root=root).stdout)
    by_type = {(r["PkgName"], r["PkgType"]) for r in report["Results"]}
    assert ("go", "binary") in by_type, by_type


def test_classifiers_read_a_window_at_a_time() -> None:
    """A version string across the edge of two windows is still found."""
    from dockyard.scan.catalog._classifiers import WINDOW, search_window

    data = b"\x00" * (WINDOW - 5) + b"BusyBox v1.36.1 (x)" + b"\x00" * 100
    match = search_window(data, re.compile(rb"BusyBox\s+v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)"))
    assert match is not None and match.group("version") == b"1.36.1"


#: (path, bytes inside a fake executable) -> what syft's classifiers call it (the byte strings
#: are the ones syft's classifier comments and test fixtures show for each program)
SAMPLES = {
    "/usr/local/bin/python3.11": b"\x00Python %s\x003.11.4\x00",
    "/usr/local/bin/node": b"https://nodejs.org/download/release/node.js/v20.10.0/x",
    "/usr/sbin/nginx": b"\x00nginx version: nginx/1.25.3\x00",
    "/usr/local/bin/redis-server": b"\x007.0.14buildkitsandbox-1702957741000000000\x00payload %5",
    "/usr/bin/openssl": b"\x00OpenSSL 3.0.11 19 Sep 2023\x00",
    "/usr/lib/jvm/java-17-openjdk-amd64/release": b'JAVA_VERSION="17.0.9"\n'
    b'JAVA_RUNTIME_VERSION="17.0.9+9"\nIMPLEMENTOR="Eclipse Adoptium"\n',
    "/opt/pypy/lib/libpypy3.9-c.so": b"[PyPy 7.3.11 with GCC 10.2.1]",
    "/opt/julia/lib/julia/libjulia-internal.so": b"__init__\x001.9.3\x00verify",
    "/usr/local/bin/helm": b"\x00v3.14.2\x00",
    "/opt/openjdk/bin/java": b"\x00openjdk\x00java\x0011.0\x0011.0.17+8-LTS\x00",
    "/opt/ibm/bin/java": b"\x00java\x001.8\x00\x00\x00\x001.8.0-foreman_2022_09_22_15_30-b00\x00",
    "/opt/oracle/bin/java": b"\x0019.0.1+10-21\x00",
    "/opt/graalvm/bin/java": b"\x0017.0.7+7-jvmci-23.0-b12\x00",
    "/opt/jdk/bin/jdb": b"\x0017.0.9+9-Debian-1\x00",
    "/usr/local/bin/getopt": b"\x00util-linux 2.39.2\x00",
    "/usr/local/sbin/haproxy": b"version 2.8.3-86e043a, released 2023/09/08",
    "/opt/haproxy/haproxy": b"HA-Proxy version 1.8.30 2021/04/12",
    "/usr/local/bin/perl": b"/usr/local/lib/perl5/5.38.0/x86_64-linux-gnu",
    "/usr/local/bin/php": b"X-Powered-By: PHP/8.2.12\x00",
    "/usr/local/sbin/php-fpm": b"X-Powered-By: PHP/8.1.2RC1\x00",
    "/usr/lib/apache2/modules/libphp.so": b"X-Powered-By: PHP/8.2.11\x00",
    "/usr/local/bin/composer": b"'pretty_version' => '2.6.5',",
    "/usr/local/apache2/bin/httpd": b"Apache/2.4.58 (Unix)\x00",
    "/usr/local/bin/memcached": b"memcached 1.6.22\x00",
    "/usr/local/bin/traefik": b"\x00v2.10.5\x00",
    "/usr/bin/arangosh": b"\x003.11.4 [linux]",
    "/usr/local/pgsql/bin/postgres": b"\x00PostgreSQL 16.1\x00",
    "/usr/bin/mysql": b"shutdown\x008.0.37\x00\x00\x00\x00\x00mysql_real_esc",
    "/opt/percona/bin/mysql": b"/build/percona-server-8.0.34/sql",
    "/opt/pxc/bin/mysql": b"/build/Percona-XtraDB-Cluster-8.0.33/sql",
    "/usr/bin/xtrabackup": b"/build/percona-xtrabackup-8.0.35/storage",
    "/usr/bin/mariadb": b"\x0010.6.15-MariaDB\x00",
    "/usr/local/rustlib/libstd-0123456789abcdef.so": (
        b"\x00clang LLVM (rustc version 1.74.0 (79e9716c9 2023-11-13))"
    ),
    "/usr/local/bin/ruby": b"ruby 2.7.7p221 (2022-11-24 revision 168ec2b1e5) [x86_64-linux]",
    "/usr/local/lib/erlang/erts-13.2/bin/erlexec": b"\x00/usr/src/otp_src_25.3.2.6/erts/emulator",
    "/usr/lib/erlang/erts-14.1/bin/beam.smp": b"\x00/usr/local/src/otp-26.1.2/erts/emulator",
    "/usr/lib/swipl/bin/swipl": b"/build/swipl-9.1.21/src",
    "/usr/lib/dart/bin/dart": b'Dart,GC"\x003.5.2 (stable)',
    "/usr/bin/ghc-9.4.7": b"\x00GHC 9.4.7\x00",
    "/usr/bin/cabal": b"\x00Cabal-3.10.1.0-",
    "/usr/bin/stack": b"Version 2.13.1, Git revision",
    "/bin/consul": b"CONSUL_VERSION: 1.17.0",
    "/usr/local/bin/gcc": b"GCC: (GNU) 12.3.0\x00",
    "/fluent-bit/bin/fluent-bit": b"\x003.0.2\x00%sFluent Bit",
    "/usr/local/bin/wp": b"wp-cli/wp-cli 2.9.0",
    "/usr/local/bin/curl": b"curl/8.5.0\x00",
    "/usr/sbin/lighttpd": b"\x00lighttpd/1.4.73\x00",
    "/usr/sbin/proftpd": b"\x00ProFTPD Version 1.3.8a\x00",
    "/usr/local/bin/zstd": b"\x00v1.5.5\x00",
    "/usr/local/bin/xz": b"\x00xz (XZ Utils) 5.4.5\x00",
    "/usr/local/bin/gzip": b"\x001.13\x00",
    "/usr/local/bin/sqlcipher": b"x\x004.5.5\x00",
    "/usr/local/bin/jq": b"\x001.7.1\x00",
    "/usr/local/bin/bash": b"@(#)Bash version 5.2.21(1) release GNU",
}


def _binary_packages(packages: list[dict[str, Any]], cpes: str) -> set[tuple[str, ...]]:
    return {
        (p["name"], p["version"], p["purl"], loc["path"], *p.get(cpes, []))
        for p in packages
        if p["type"] == "binary"
        for loc in p["locations"]
    }


def _syft_binary_packages_of(target: str) -> set[tuple[str, ...]]:
    theirs = _syft(target)
    return _binary_packages(
        [{**a, "cpe_list": [c["cpe"] for c in a["cpes"]]} for a in theirs], "cpe_list"
    )


def _syft_binary_packages(rootfs: Path) -> set[tuple[str, ...]]:
    return _syft_binary_packages_of(f"dir:{rootfs}")


@pytest.mark.slow
def test_classifiers_agree_with_syft(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    for path, content in SAMPLES.items():
        file = rootfs / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("/release"):
            file.write_bytes(content)
            continue
        file.write_bytes(b"\x7fELF" + b"\x00" * 4096 + content + b"\x00" * 4096)
        file.chmod(0o755)
    ours = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert _binary_packages(ours, "cpes") == _syft_binary_packages(rootfs)
    # every sample is found (the release file by the JVM cataloger, as syft does)
    assert {loc["path"] for p in ours for loc in p["locations"]} == set(SAMPLES)
    names = {p["name"] for p in ours}
    assert {"bash", "curl", "perl", "php-cli", "ruby", "postgresql", "redis", "haproxy"} <= names
    assert {"nginx", "httpd", "mysql", "mariadb", "memcached", "erlang", "rust"} <= names


def _real_binaries(rootfs: Path) -> dict[str, str]:
    """Copy this host's Debian programs into ``rootfs``: {path: the Debian package}."""
    wanted = {
        "/usr/bin/bash": "bash",
        "/usr/bin/perl": "perl",
        "/usr/bin/redis-server": "redis-server",
        "/usr/sbin/haproxy": "haproxy",
        "/usr/bin/gzip": "gzip",
        "/usr/bin/getopt": "util-linux",
        "/usr/bin/curl": "curl",
        "/usr/bin/xz": "xz-utils",
        "/usr/bin/zstd": "zstd",
        "/usr/bin/jq": "jq",
    }
    postgres = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    # postgresql, redis-server and haproxy are among `make test`'s packages, bash and perl in
    # every Debian: failed, not skipped, when one is missing
    required = ["/usr/bin/bash", "/usr/bin/perl", "/usr/bin/redis-server", "/usr/sbin/haproxy"]
    missing = [p for p in required if not Path(p).exists()] + ([] if postgres else ["postgres"])
    if missing:
        pytest.fail(f"missing host programs {missing}: install `make test`'s packages")
    wanted[str(postgres[-1])] = f"postgresql-{postgres[-1].parts[-3]}"
    copied = {}
    for path, package in wanted.items():
        if not Path(path).exists():
            continue
        target = rootfs / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(path), target)
        copied[path] = package
    return copied


@pytest.mark.slow
def test_real_debian_programs_are_named_as_syft_names_them(tmp_path: Path) -> None:
    """bash, perl, redis-server, haproxy, postgres, curl… as this host's Debian built them:
    dockyard finds what syft finds, and, like syft, nothing in the programs whose version
    string Debian's build leaves out of syft's patterns (perl, redis-server, haproxy)."""
    rootfs = tmp_path / "rootfs"
    copied = _real_binaries(rootfs)
    ours = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert _binary_packages(ours, "cpes") == _syft_binary_packages(rootfs)
    by_path = {loc["path"]: p for p in ours for loc in p["locations"]}
    # the versions are the Debian packages' upstream versions
    checked = [("/usr/bin/bash", "bash")]
    checked += [(p, "curl") for p in copied if p == "/usr/bin/curl"]
    checked += [(p, "postgresql") for p in copied if p.endswith("/postgres")]
    for path, name in checked:
        assert by_path[path]["name"] == name
        upstream = _debian_upstream_version(copied[path]).split("+")[0]
        assert by_path[path]["version"] == upstream, path


class _CountedBytes(bytes):
    """File bytes that count what the classifier hands the regular expression engine: the
    length of every slice taken (``search_window`` searches slices, one per window)."""

    searched = 0

    @overload
    def __getitem__(self, key: SupportsIndex) -> int: ...
    @overload
    def __getitem__(self, key: slice) -> bytes: ...
    def __getitem__(self, key: SupportsIndex | slice) -> int | bytes:
        got = super().__getitem__(key)
        if isinstance(got, bytes):
            self.searched += len(got)
        return got


def _widest_match(source: str) -> int:
    """The most bytes a match of the regular expression can span (an unbounded repeat makes
    it huge), as ``re``'s own parser works it out (``sre_parse``, deprecated as a name only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import sre_parse
    return int(sre_parse.parse(source).getwidth()[1])


#: Hostile files: a classifier's file name, bytes repeating the start of its pattern, and
#: the end of the part of the pattern (a prefix of its source) that matches nowhere in them.
HOSTILE: dict[str, tuple[str, bytes, str]] = {
    # syft's ``[^/]+`` would rescan the rest of the window at every ``nginx version: ``
    "nginx-binary": ("nginx", b"\x00nginx version: " * (1 << 18), "}/"),
    # syft's ``[0-9]+[.0-9]+`` tries every split of a long run of digits and dots
    "java-binary-oracle": ("java", b"\x00" + b"1." * (1 << 21), r")\x00"),
}


@pytest.mark.parametrize("cls", sorted(HOSTILE))
def test_hostile_binary_is_classified_in_linear_work(cls: str, tmp_path: Path) -> None:
    """Work bounded by the file's size, counted rather than timed: the classifier hands the
    regular expression engine each byte once (plus the overlap at each window edge), and every
    match attempt fails within a bounded span (a prefix of the pattern that matches at most a
    few hundred bytes matches nowhere in the file), so the engine's steps are at most a
    constant times the size."""
    name, body, end = HOSTILE[cls]
    classifier = next(c for c in CLASSIFIERS if c.cls == cls)
    data = _CountedBytes(b"\x7fELF" + body)
    assert classify(classifier, f"/usr/bin/{name}", data) is None
    windows = -(-len(data) // WINDOW)
    per_pattern = len(data) + (windows - 1) * OVERLAP
    assert windows > 1 and data.searched <= len(classifier.evidence) * per_pattern
    for source in classifier.evidence:
        assert end in source, source
        attempt = source[: source.index(end) + len(end)]
        assert _widest_match(attempt) <= 256, attempt  # each attempt looks at a few bytes only
        assert re.search(attempt.encode("latin-1"), data) is None  # and no attempt gets past it
    # and the whole command on such a file finds nothing
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "bin").mkdir(parents=True)
    binary = rootfs / "usr" / "bin" / name
    binary.write_bytes(bytes(data))
    binary.chmod(0o755)
    assert _sbom(f"dir:{rootfs}", tmp_path / "store") == []


@pytest.mark.slow
def test_debian_programs_owned_by_debs_are_left_out_as_syft_leaves_them_out(
    debian_image: Any, tmp_path: Path
) -> None:
    """A real Debian bookworm image holds bash, gzip and getopt, which the classifiers know:
    its debs own them (``bin/bash`` through ``/bin -> usr/bin``), so neither syft nor dockyard
    lists them again as ``binary`` packages."""
    archive = tmp_path / "debian.tar"
    run_dockyard("save", "-o", archive, debian_image.ref, root=debian_image.store)
    ours = _sbom(f"docker-archive:{archive}", tmp_path / "store")
    assert _binary_packages(ours, "cpes") == _syft_binary_packages_of(f"docker-archive:{archive}")
    assert not [p for p in ours if p["type"] == "binary"], ours
    debs = {p["name"] for p in ours if p["type"] == "deb"}
    assert {"bash", "gzip", "util-linux"} <= debs
    # the programs are there, and found when no deb owns them
    rootfs = tmp_path / "rootfs"
    subprocess.run(
        ["tar", "-xf", str(debian_image.tarball), "-C", str(tmp_path), "./usr/bin/bash"],
        check=True,
    )
    (rootfs / "usr" / "bin").mkdir(parents=True)
    shutil.move(tmp_path / "usr" / "bin" / "bash", rootfs / "usr" / "bin" / "bash")
    alone = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert [(p["name"], p["type"]) for p in alone] == [("bash", "binary")]


_APK_DB = """\
C:Q1abc=
P:busybox
V:1.36.1-r2
A:x86_64
S:500000
I:900000
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
F:bin
R:busybox

"""


@pytest.mark.slow
def test_apk_and_jvm_owned_binaries_are_left_out_as_syft_leaves_them_out(
    tmp_path: Path,
) -> None:
    """An apk owning ``/bin/busybox`` and a Java runtime's ``release`` owning its ``bin/java``:
    the classifiers' finds there are dropped, one nobody owns stays (compared with syft)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("busybox is missing: install busybox-static (`make test` does)")
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(busybox), rootfs / "bin" / "busybox")
    (rootfs / "lib" / "apk" / "db").mkdir(parents=True)
    (rootfs / "lib" / "apk" / "db" / "installed").write_text(_APK_DB)
    jvm = rootfs / "usr" / "lib" / "jvm" / "java-17-openjdk-amd64"
    (jvm / "bin").mkdir(parents=True)
    (jvm / "release").write_text('JAVA_VERSION="17.0.9"\nJAVA_RUNTIME_VERSION="17.0.9+9"\n')
    unowned = rootfs / "opt" / "java" / "bin" / "java"
    unowned.parent.mkdir(parents=True)
    # another version outside it (syft merges equal packages found in two places, and then
    # drops both with the runtime's)
    for java, sample in (
        (jvm / "bin" / "java", "/opt/openjdk/bin/java"),
        (unowned, "/opt/oracle/bin/java"),
    ):
        java.write_bytes(b"\x7fELF" + b"\x00" * 4096 + SAMPLES[sample] + b"\x00" * 4096)
        java.chmod(0o755)
    ours = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert _binary_packages(ours, "cpes") == _syft_binary_packages(rootfs)
    found = {(p["name"], p["type"], p["locations"][0]["path"]) for p in ours}
    assert ("busybox", "apk", "/lib/apk/db/installed") in found
    assert ("java/jre", "binary", "/opt/java/bin/java") in found
    assert not {
        f for f in found if f[2] in ("/bin/busybox", f"/{jvm.relative_to(rootfs)}/bin/java")
    }


_RPM_SPEC = """\
Name: dy-bash
Version: 5.2.15
Release: 1.el9
Summary: bash, as an rpm owns it
License: GPL-3.0-or-later
BuildArch: noarch
%define _binaries_in_noarch_packages_terminate_build 0
%define __os_install_post %{nil}
%define debug_package %{nil}
%description
bash
%install
mkdir -p %{buildroot}/usr/bin
cp BASH %{buildroot}/usr/bin/bash
%files
/usr/bin/bash
"""


@pytest.mark.slow
def test_rpm_owned_binaries_are_left_out_as_syft_leaves_them_out(tmp_path: Path) -> None:
    """An rpm (built here with rpmbuild, installed with ``rpm -i`` into an SQLite rpmdb) owning
    ``/usr/bin/bash``: the classifier's find there is dropped, as syft drops it."""
    bash = os.path.realpath("/usr/bin/bash")
    (tmp_path / "dy.spec").write_text(_RPM_SPEC.replace("BASH", bash))
    subprocess.run(
        [
            "rpmbuild", "-bb", "--define", f"_topdir {tmp_path / 'top'}",
            "--define", f"_tmppath {tmp_path / 'tmp'}", "--define", "_build_id_links none",
            str(tmp_path / "dy.spec"),
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [rpm] = (tmp_path / "top" / "RPMS" / "noarch").glob("*.rpm")
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    subprocess.run(
        [
            "rpm", "--define", "_db_backend sqlite", "--root", str(rootfs),
            "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", "-i", str(rpm),
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert (rootfs / "usr" / "bin" / "bash").is_file()
    ours = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert _binary_packages(ours, "cpes") == _syft_binary_packages(rootfs) == set()
    assert [(p["name"], p["type"]) for p in ours] == [("dy-bash", "rpm")]
    # without the rpmdb, the same file is bash found by its bytes
    shutil.rmtree(rootfs / "var")
    alone = _sbom(f"dir:{rootfs}", tmp_path / "store")
    assert [(p["name"], p["type"]) for p in alone] == [("bash", "binary")]
