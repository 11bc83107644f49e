"""Fixtures for signing tests: cosign's test vectors, OCI layout images, a real registry."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.oci import Descriptor, Index, Manifest
from dockyard.oci import mediatypes as mt

TESTDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "cosign"
REGISTRY_BIN = Path("/usr/bin/docker-registry")
REF_NAME = "org.opencontainers.image.ref.name"


@pytest.fixture(scope="session")
def cosign_vectors() -> Path:
    """The directory of real cosign outputs (see its README); absent = fail, never skip."""
    if not (TESTDATA / "README.md").is_file():
        pytest.fail(
            f"cosign test vectors are missing: expected them in {TESTDATA} "
            "(shared/testdata/cosign next to the repository)",
            pytrace=False,
        )
    return TESTDATA


@dataclasses.dataclass(frozen=True)
class LayoutImage:
    root: Path
    tag: str
    manifest: Manifest

    @property
    def ref(self) -> str:
        return f"oci:{self.root}:{self.tag}"


def _put(root: Path, data: bytes) -> None:
    path = root / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_layout_image(root: Path, tag: str = "v1", content: bytes = b"hello\n") -> LayoutImage:
    """A one-layer image in an OCI layout at ``root`` (created or extended), tagged ``tag``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    layer = buf.getvalue()
    _put(root, layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/hello.txt"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()],
            },
        }
    ).encode()
    _put(root, config)
    manifest = Manifest.build(
        Descriptor.of(config, mt.OCI_CONFIG), [Descriptor.of(layer, mt.OCI_LAYER)]
    )
    _put(root, manifest.raw)
    index_path = root / "index.json"
    entries = []
    if index_path.exists():
        entries = [
            d
            for d in Index.parse(index_path.read_bytes()).manifests
            if (d.annotations or {}).get(REF_NAME) != tag
        ]
    entries.append(dataclasses.replace(manifest.descriptor(), annotations={REF_NAME: tag}))
    index_path.write_bytes(Index.build(entries).raw)
    return LayoutImage(root, tag, manifest)


@pytest.fixture
def layout_image(tmp_path: Path) -> LayoutImage:
    return write_layout_image(tmp_path / "layout")


@dataclasses.dataclass(frozen=True)
class Registry:
    host: str
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def docker_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Debian's distribution registry (2.8, no referrers API) on a free loopback port."""
    if not REGISTRY_BIN.exists():
        pytest.fail(f"{REGISTRY_BIN} is missing: apt-get install docker-registry", pytrace=False)
    work = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    log = (work / "registry.log").open("wb")
    proc = subprocess.Popen([str(REGISTRY_BIN), "serve", str(config)], stdout=log, stderr=log)
    registry = Registry(f"127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(registry.url("/v2/"), timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"docker-registry did not start: {(work / 'registry.log').read_text()}",
                        pytrace=False,
                    )
                time.sleep(0.1)
        yield registry
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def make_layout_image() -> object:
    """``make_layout_image(root, tag="v1", content=b"hello\\n") -> LayoutImage``."""
    return write_layout_image
