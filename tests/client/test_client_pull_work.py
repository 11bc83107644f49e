"""The work one pull does, counted: requests, 401 challenges and connections from a real
docker-registry's access log (htpasswd auth, so every credentialed request costs the server a
bcrypt check), and fsyncs from strace. A pull of an N-layer image needs one ``/v2/`` probe
(answered with the one 401 that says "Basic"), one manifest GET and one GET per blob; the OCI
layout it writes needs one sync per blob plus a fixed few for the commit, not one per blob and
one per directory entry."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import run_command, run_dockyard, terminate
from _infra._cli import dockyard_executable
from _infra._registry import DOCKER_REGISTRY, free_port, wait_for_http
from _infra.oci_layout import gzip_tar, oci_layout

pytestmark = pytest.mark.slow

USER, PASSWORD = "puller", "pull-pass-1"
LAYERS = 6
#: parallel transfers of ``dockyard copy`` (its default)
JOBS = 6
#: combined-format access log line: "METHOD URI HTTP/1.1" STATUS
_ACCESS = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.1" (\d{3}) ')
_REMOTE = re.compile(r'http\.request\.remoteaddr="?127\.0\.0\.1:(\d+)')


@dataclass(frozen=True)
class LoggedRegistry:
    host: str
    log: Path

    def lines_after(self, offset: int) -> list[str]:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace").splitlines()

    def size(self) -> int:
        return self.log.stat().st_size


@pytest.fixture(scope="module")
def logged_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedRegistry]:
    """docker-registry with htpasswd auth and its access log on, holding a LAYERS-layer
    image at ``team/img:1`` (pushed by skopeo)."""
    root = tmp_path_factory.mktemp("pull-work")
    line = run_command(["htpasswd", "-Bbn", USER, PASSWORD]).stdout.strip()
    (root / "htpasswd").write_text(line + "\n")
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info, formatter: text, accesslog: {disabled: false}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}, secret: pull-work}}\n"
        f"auth: {{htpasswd: {{realm: pull-work, path: {root / 'htpasswd'}}}}}\n"
    )
    log = root / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [DOCKER_REGISTRY, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc)
        layout = root / "layout"
        layers = [gzip_tar(f"f{i}", os.urandom(64 << 10)) for i in range(LAYERS)]
        oci_layout(layout, layers, tag="img")
        run_command(
            [
                "skopeo",
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                f"--dest-creds={USER}:{PASSWORD}",
                f"oci:{layout}:img",
                f"docker://127.0.0.1:{port}/team/img:1",
            ]
        )
        yield LoggedRegistry(f"127.0.0.1:{port}", log)
    finally:
        terminate(proc)


def _fresh_home(tmp_path: Path, host: str, dockyard_root: Path) -> dict[str, str]:
    """A new, empty $HOME with a `dockyard login` in it, as a user on a new machine has."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "DOCKYARD_REGISTRIES_CONFIG": str(home / "no-registries.json"),
    }
    run_dockyard(
        "login", "-u", USER, "--password-stdin", host,
        input=PASSWORD, env=env, root=dockyard_root,
    )  # fmt: skip
    return env


def test_pull_with_basic_auth_makes_one_request_per_blob_and_one_401(
    logged_registry: LoggedRegistry, tmp_path: Path, dockyard_root: Path
) -> None:
    env = _fresh_home(tmp_path, logged_registry.host, dockyard_root)
    offset = logged_registry.size()
    run_dockyard(
        "copy", "-q", f"docker://{logged_registry.host}/team/img:1", f"oci:{tmp_path / 'out'}:img",
        env=env, root=dockyard_root,
    )  # fmt: skip
    lines = logged_registry.lines_after(offset)
    requests = [m.groups() for line in lines if (m := _ACCESS.search(line))]
    kinds = Counter(
        (method, re.sub(r"sha256:[0-9a-f]{64}", "D", uri), status)
        for method, uri, status in requests
    )
    # the probe is challenged once; every later request carries Basic credentials up front
    assert kinds == {
        ("GET", "/v2/", "401"): 1,
        ("GET", "/v2/team/img/manifests/1", "200"): 1,
        ("GET", "/v2/team/img/blobs/D", "200"): LAYERS + 1,
    }, requests
    blob_uris = [uri for method, uri, _ in requests if "/blobs/" in uri]
    assert len(set(blob_uris)) == LAYERS + 1  # no blob fetched twice
    # connections are kept alive and reused: at most one per parallel transfer (the probe's
    # own connection is reused for the manifest)
    ports = {m.group(1) for line in lines if (m := _REMOTE.search(line))}
    assert 1 <= len(ports) <= JOBS, sorted(ports)


def test_pull_to_oci_layout_syncs_each_blob_once(
    logged_registry: LoggedRegistry, tmp_path: Path, dockyard_root: Path
) -> None:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    env = _fresh_home(tmp_path, logged_registry.host, dockyard_root)
    trace = tmp_path / "fsyncs.txt"
    out = tmp_path / "out"
    full_env = {**os.environ, **env, "DOCKYARD_ROOT": str(dockyard_root)}
    exe = dockyard_executable()
    run_command(
        [
            strace, "-f", "-qq", "-e", "trace=fsync,fdatasync,sync_file_range",
            "-o", str(trace), str(exe),
            "copy", "-q", f"docker://{logged_registry.host}/team/img:1", f"oci:{out}:img",
        ],
        env=full_env,
    )  # fmt: skip
    syncs = [
        line for line in trace.read_text().splitlines() if re.search(r"\b(fsync|fdatasync)\(", line)
    ]
    blobs = len(list((out / "blobs" / "sha256").iterdir()))
    assert blobs == LAYERS + 2  # the layers, the config and the manifest
    # one sync per downloaded blob, then the commit: the manifest blob, oci-layout and
    # index.json, and one sync of each directory that gained entries (blobs/sha256, the root)
    assert len(syncs) <= (LAYERS + 1) + 3 + 2, "\n".join(syncs)


def test_pull_of_a_blob_the_registry_damaged_keeps_nothing(
    logged_registry: LoggedRegistry, tmp_path: Path, dockyard_root: Path
) -> None:
    """The downloaded bytes are hashed once, by the download; a layer whose stored bytes were
    changed (same length) fails the pull and leaves no blob under its digest."""
    layout = tmp_path / "bad-layout"
    layer = gzip_tar("bad", os.urandom(256 << 10))
    oci_layout(layout, [layer], tag="bad")
    run_command(
        [
            "skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false",
            f"--dest-creds={USER}:{PASSWORD}",
            f"oci:{layout}:bad", f"docker://{logged_registry.host}/team/bad:1",
        ]
    )  # fmt: skip
    hexdigest = hashlib.sha256(layer).hexdigest()
    stored = (
        logged_registry.log.parent
        / "data/docker/registry/v2/blobs/sha256"
        / hexdigest[:2]
        / hexdigest
        / "data"
    )
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    env = _fresh_home(tmp_path, logged_registry.host, dockyard_root)
    out = tmp_path / "out"
    result = run_dockyard(
        "copy", "-q", f"docker://{logged_registry.host}/team/bad:1", f"oci:{out}:bad",
        env=env, root=dockyard_root, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"sha256:{hexdigest}" in result.stderr and "corrupt" in result.stderr, result.stderr
    assert not (out / "blobs" / "sha256" / hexdigest).exists()
    assert not (out / "index.json").exists()
    assert not (out / "ingest").exists() or not any((out / "ingest").iterdir())
