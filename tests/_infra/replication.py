"""Replication tests' helpers: a distribution registry (Debian's ``docker-registry``) that can
be stopped and started again on the same port, skopeo's view of a destination, and Harbor's
replication definitions from its swagger (held strictly, as the other API tests hold theirs),
and images whose config carries labels."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml

from _infra._process import run_command, terminate
from _infra._registry import DOCKER_REGISTRY, _config, free_port, wait_for_http
from _infra.harbor_api import validate

__all__ = [
    "Destination",
    "check_harbor",
    "cosign_signature_manifest",
    "harbor_swagger_definitions",
    "push_labelled",
    "skopeo_digest",
]

#: Harbor's API description (v2.16.0), beside the other shared test data.
SWAGGER = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "harbor" / "swagger.yaml"
COSIGN = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "cosign"


@cache
def harbor_swagger_definitions() -> dict[str, Any]:
    return dict(yaml.safe_load(SWAGGER.read_text())["definitions"])


def check_harbor(body: Any, definition: str, *, many: bool = False) -> Any:
    """``body`` fits Harbor's ``definition`` (a list of them when ``many``); the body."""
    ref = {"$ref": f"#/definitions/{definition}"}
    schema = {"type": "array", "items": ref} if many else ref
    validate(body, schema, harbor_swagger_definitions())
    return body


@dataclass
class Destination:
    """``docker-registry serve`` (distribution 2.8.2) with htpasswd auth on a fixed port:
    :meth:`stop` and :meth:`start` again keep its address and its data."""

    root: Path
    user: str = "mirror"
    password: str = "Mirror123"
    #: storage.delete.enabled (False: DELETE answers 405 UNSUPPORTED, as registry:2's default)
    delete: bool = True
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> Destination:
        self.root.mkdir(parents=True, exist_ok=True)
        htpasswd = self.root / "htpasswd"
        if not htpasswd.exists():
            line = run_command(["htpasswd", "-Bbn", self.user, self.password]).stdout.strip()
            htpasswd.write_text(line + "\n")
        config = self.root / "config.yml"
        text = _config(self.root, self.port, htpasswd)
        if not self.delete:
            text = text.replace("  delete:\n    enabled: true", "  delete:\n    enabled: false")
            assert "enabled: false" in text
        config.write_text(text)
        self.process = subprocess.Popen(
            [DOCKER_REGISTRY, "serve", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_http(f"{self.url}/v2/", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
            if self.process.stdout:
                self.process.stdout.close()
            self.process = None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(self.user, self.password), timeout=30)

    def tags(self, repository: str) -> list[str]:
        with self.client() as client:
            r = client.get(f"/v2/{repository}/tags/list")
            if r.status_code == 404:
                return []
            assert r.status_code == 200, r.text
            return sorted(r.json().get("tags") or [])

    def digest(self, repository: str, tag: str) -> str | None:
        with self.client() as client:
            r = client.head(
                f"/v2/{repository}/manifests/{tag}",
                headers={"accept": "application/vnd.oci.image.manifest.v1+json, "
                         "application/vnd.oci.image.index.v1+json"},
            )  # fmt: skip
            return r.headers["docker-content-digest"] if r.status_code == 200 else None


def skopeo_digest(destination: Destination, repository: str, tag: str) -> str:
    """The digest ``skopeo inspect`` reads for ``repository:tag`` at the destination."""
    out = run_command(
        ["skopeo", "inspect", "--no-tags", "--tls-verify=false",
         "--creds", f"{destination.user}:{destination.password}",
         f"docker://{destination.host}/{repository}:{tag}"]
    ).stdout  # fmt: skip
    return str(json.loads(out)["Digest"])


def cosign_signature_manifest(push_blob: Any, client: Any, repository: str) -> bytes:
    """A cosign signature manifest whose layer and annotations are a real ``cosign sign``
    output (containers/image's fixture), pushed blobs and all; the manifest's bytes."""
    import base64

    raw = (COSIGN / "containers-image" / "dir-img-cosign-valid" / "signature-1").read_bytes()
    attachment = json.loads(raw[len(b"\x00sigstore-json\n") :])
    payload = base64.b64decode(attachment["payload"])
    config = json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers"}}).encode()
    config_digest = push_blob(client, repository, config)
    payload_digest = push_blob(client, repository, payload)
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": attachment["mimeType"], "digest": payload_digest,
                    "size": len(payload), "annotations": attachment["annotations"]}],
    }).encode()  # fmt: skip


def push_labelled(
    client: Any,
    name: str,
    tag: str | None,
    *,
    labels: dict[str, str] | None = None,
    seed: str = "x",
    config_type: str = "application/vnd.oci.image.config.v1+json",
) -> str:
    """An image whose config carries ``labels`` (its config media type ``config_type``:
    another than an image config's makes an OCI artifact); pushed by ``tag``, or by digest
    when ``tag`` is None. Its digest."""
    from _infra.registry_server import OCI_LAYER, push_blob, sha256

    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed,
                         "config": {"Labels": labels or {}}}).encode()  # fmt: skip
    layer = f"labelled-{seed}".encode() * 64
    for blob in (config, layer):
        push_blob(client, name, blob)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
    }).encode()  # fmt: skip
    digest = sha256(manifest)
    r = client.put(f"/v2/{name}/manifests/{tag or digest}", content=manifest,
                   headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 201, r.text
    return digest
