"""Fixtures for signing tests: cosign's test vectors, OCI layout images, a real registry."""

from __future__ import annotations

import base64
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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from _infra import RunningRegistry, dockyard_executable, terminate
from _infra import docker_registry as run_docker_registry
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


@pytest.fixture(scope="module")
def docker_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """Debian's distribution registry (2.8: no referrers API) on a free loopback port."""
    with run_docker_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture
def make_layout_image() -> object:
    """``make_layout_image(root, tag="v1", content=b"hello\\n") -> LayoutImage``."""
    return write_layout_image


def _spec_verify(
    fetch_manifest: Callable[[str], bytes],
    fetch_blob: Callable[[str], bytes],
    image_digest: str,
    repository: str,
    public_pem: bytes,
) -> list[dict[str, object]]:
    """cosign's verification rules, written from the spec with plain ``cryptography`` + json.

    Independent of dockyard: reads the ``sha256-<hex>.sig`` manifest, checks its shape, each
    layer's blob digest, the ECDSA-P256/SHA-256 signature in the annotation over the payload
    bytes, and that the payload is exactly the bytes cosign would write for this image.
    Returns the decoded payloads; raises AssertionError / InvalidSignature on any failure.
    """
    public = serialization.load_pem_public_key(public_pem)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    manifest = json.loads(fetch_manifest(image_digest.replace(":", "-", 1) + ".sig"))
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    config_raw = fetch_blob(manifest["config"]["digest"])
    assert "sha256:" + hashlib.sha256(config_raw).hexdigest() == manifest["config"]["digest"]
    config = json.loads(config_raw)
    assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
    payloads = []
    for layer in manifest["layers"]:
        assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        payload = fetch_blob(layer["digest"])
        assert len(payload) == layer["size"]
        assert "sha256:" + hashlib.sha256(payload).hexdigest() == layer["digest"]
        signature = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        public.verify(signature, payload, ec.ECDSA(hashes.SHA256()))  # raises when invalid
        decoded = json.loads(payload)
        optional = decoded["optional"]
        optional_json = (
            "null"
            if optional is None
            else json.dumps(optional, sort_keys=True, separators=(",", ":"))
            # Go's json.Marshal HTML-escapes these three inside strings
            .replace("&", "\\u0026")
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
        )
        expected = (
            '{"critical":{"identity":{"docker-reference":"' + repository + '"},"image":'
            '{"docker-manifest-digest":"' + image_digest + '"},'
            '"type":"cosign container image signature"},"optional":' + optional_json + "}"
        ).encode()
        assert payload == expected, (payload, expected)
        payloads.append(decoded)
    return payloads


@pytest.fixture
def spec_verify() -> Callable[..., list[dict[str, object]]]:
    """The independent verifier: ``spec_verify(fetch_manifest, fetch_blob, digest, repo, pem)``."""
    return _spec_verify


@dataclasses.dataclass(frozen=True)
class DockyardRegistry:
    host: str
    root: Path


@pytest.fixture(scope="module")
def dockyard_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardRegistry]:
    """``dockyard registry serve`` (it has the OCI 1.1 referrers API) on a free port."""
    root = tmp_path_factory.mktemp("dockyard-registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = f"127.0.0.1:{port}"
    log = (root / "serve.log").open("wb")
    proc = subprocess.Popen(
        [dockyard_executable(), "registry", "serve", "--root", str(root / "data"), "--addr", host],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{host}/v2/", timeout=2):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"dockyard registry did not start: {(root / 'serve.log').read_text()}",
                        pytrace=False,
                    )
                time.sleep(0.1)
        yield DockyardRegistry(host, root / "data")
    finally:
        terminate(proc)
        log.close()
