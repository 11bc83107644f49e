"""Signature policy bypasses, through a real server process with skopeo as the pulling client.

An unsigned runnable image must not be served from a ``signature: required`` repository
whatever its tag is called (``v1.sig``) and whatever ``subject`` it names; real cosign
signatures, attestations and referrers stay readable. ``signature: none`` exempts."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import run_command, run_dockyard
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryProcess,
    push_blob,
    start_registry,
)

PASSWORD = {"COSIGN_PASSWORD": "policy"}
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
NOWHERE = "sha256:" + "0" * 64


@dataclass(frozen=True, slots=True)
class Pushed:
    digest: str
    media_type: str
    raw: bytes


def _gzip_tar(name: str, payload: bytes) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), _sha256(raw)


def _sha256(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_runnable(
    client: httpx.Client,
    repo: str,
    tag: str,
    *,
    seed: str,
    layer_type: str = OCI_LAYER_GZIP,
    **fields: Any,
) -> Pushed:
    """An unsigned runnable image (an image config and one filesystem layer, of media type
    ``layer_type``), pushed over HTTP with ``fields`` added to its manifest (e.g. a
    ``subject``)."""
    layer, diff_id = _gzip_tar(f"bin/{seed}", os.urandom(4096))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": [f"/bin/{seed}"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    for blob in (config, layer):
        push_blob(client, repo, blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _sha256(config), "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": _sha256(layer), "size": len(layer)}],
            **fields,
        }
    ).encode()
    return put_manifest(client, repo, tag, manifest, OCI_MANIFEST)


def put_manifest(
    client: httpx.Client, repo: str, tag: str, manifest: bytes, media_type: str
) -> Pushed:
    r = client.put(
        f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"content-type": media_type}
    )
    assert r.status_code == 201, r.text
    return Pushed(r.headers["docker-content-digest"], media_type, manifest)


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    prefix = tmp_path / "trusted"
    run_dockyard(
        "generate-key-pair", "--output-key-prefix", prefix, root=tmp_path / "s", env=PASSWORD
    )
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


@dataclass
class Setup:
    server: RegistryProcess
    client: httpx.Client
    key: Path
    tmp_path: Path

    def skopeo_pull(self, repo: str, ref: str) -> tuple[bool, str]:
        sep = "@" if ref.startswith("sha256:") else ":"
        dest = self.tmp_path / "pulled" / f"{repo.replace('/', '-')}-{ref.replace(':', '-')}"
        out = run_command(
            [
                "skopeo", "copy", "-q", "--src-tls-verify=false",
                f"docker://{self.server.host}/{repo}{sep}{ref}", f"oci:{dest}",
            ],
            check=False,
            timeout=120,
        )  # fmt: skip
        return out.returncode == 0, str(out.stderr)

    def assert_denied(self, repo: str, ref: str) -> None:
        ok, err = self.skopeo_pull(repo, ref)
        assert not ok, f"skopeo pulled the unsigned image {repo}:{ref}"
        assert "denied" in err.lower() and "requires a signature" in err, err

    def assert_pulls(self, repo: str, ref: str) -> None:
        ok, err = self.skopeo_pull(repo, ref)
        assert ok, f"skopeo could not pull {repo}:{ref}: {err}"

    def dockyard(self, *args: str | Path) -> str:
        out = run_dockyard(*args, root=self.tmp_path / "s", env=PASSWORD)
        return str(out.stdout)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    key, pub = _keys(tmp_path)
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "policies:\n"
        "  signatures:\n"
        "    - repository: prod/*\n"
        "      signature: required\n"
        f"      keys: [{pub}]\n"
        "    - repository: prod/exempt\n"
        "      signature: none\n"
        "    - repository: prod/legacy/*\n"
        "      signature: none\n"
        "    - repository: prod/legacy/core\n"
        "      signature: required\n"
        f"      keys: [{pub}]\n"
    )
    (tmp_path / "pulled").mkdir()
    with (
        start_registry(tmp_path / "data", "--config", str(config)) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        yield Setup(server, client, key, tmp_path)


@pytest.mark.slow
def test_attachment_tag_names_do_not_exempt_unsigned_images(setup: Setup) -> None:
    for suffix in ("sig", "att", "sbom"):
        push_runnable(setup.client, "prod/app", f"v1.{suffix}", seed=suffix)
        setup.assert_denied("prod/app", f"v1.{suffix}")
    # the cosign tag schema's own spelling, naming a digest, is just a name too
    cosign_tag = f"{NOWHERE.replace(':', '-')}.sig"
    push_runnable(setup.client, "prod/app", cosign_tag, seed="cosign-tag")
    setup.assert_denied("prod/app", cosign_tag)


@pytest.mark.slow
def test_layers_typed_as_attachments_do_not_exempt_unsigned_images(setup: Setup) -> None:
    """podman unpacks a layer as a tar whatever its media type says: a filesystem layer typed
    as a cosign signature or DSSE envelope still makes a runnable image."""
    for i, layer_type in enumerate(
        (
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dsse.envelope.v1+json",
            "application/vnd.in-toto+json",
        )
    ):
        pushed = push_runnable(
            setup.client, "prod/app", f"typed{i}", seed=f"typed{i}", layer_type=layer_type
        )
        setup.assert_denied("prod/app", f"typed{i}")
        # under cosign's own tag for it too
        tag = f"{pushed.digest.replace(':', '-')}.sig"
        put_manifest(setup.client, "prod/app", tag, pushed.raw, OCI_MANIFEST)
        setup.assert_denied("prod/app", tag)


@pytest.mark.slow
def test_subject_does_not_exempt_unsigned_images(setup: Setup) -> None:
    host = setup.server.host
    signed = push_runnable(setup.client, "prod/app", "signed", seed="signed")
    setup.dockyard("sign", "--key", setup.key, f"{host}/prod/app@{signed.digest}")
    setup.assert_pulls("prod/app", "signed")

    subject = {"mediaType": OCI_MANIFEST, "digest": NOWHERE, "size": 100}
    push_runnable(setup.client, "prod/app", "dangling", seed="dangling", subject=subject)
    setup.assert_denied("prod/app", "dangling")

    subject = {"mediaType": signed.media_type, "digest": signed.digest, "size": len(signed.raw)}
    hitch = push_runnable(setup.client, "prod/app", "hitch", seed="hitch", subject=subject)
    setup.assert_denied("prod/app", "hitch")
    setup.assert_denied("prod/app", hitch.digest)
    # and it is listed as a referrer of the signed image, so a client walking referrers meets it
    r = setup.client.get(f"/v2/prod/app/referrers/{signed.digest}")
    assert hitch.digest in {m["digest"] for m in r.json()["manifests"]}


@pytest.mark.slow
def test_real_signatures_attestations_and_referrers_stay_readable(setup: Setup) -> None:
    host = setup.server.host
    image = push_runnable(setup.client, "prod/app", "v2", seed="v2")
    ref = f"{host}/prod/app@{image.digest}"
    predicate = setup.tmp_path / "predicate.json"
    predicate.write_text('{"builder": "test"}')
    setup.dockyard("sign", "--key", setup.key, ref)
    setup.dockyard("attest", "--key", setup.key, "--predicate", predicate, ref)
    setup.dockyard("sign", "--referrers", "--key", setup.key, ref)
    setup.dockyard("attest", "--referrers", "--key", setup.key, "--predicate", predicate, ref)

    cosign = image.digest.replace(":", "-")
    setup.assert_pulls("prod/app", f"{cosign}.sig")
    setup.assert_pulls("prod/app", f"{cosign}.att")
    setup.dockyard("verify", "--key", setup.key.with_suffix(".pub"), ref)

    r = setup.client.get(f"/v2/prod/app/referrers/{image.digest}")
    referrers = r.json()["manifests"]
    assert len(referrers) == 2, referrers
    for entry in referrers:
        r = setup.client.get(f"/v2/prod/app/manifests/{entry['digest']}", headers=_accept())
        assert r.status_code == 200, r.text

    # cosign's fallback for registries without the referrers API: an index of the referrers
    fallback = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": referrers}
    ).encode()
    put_manifest(setup.client, "prod/app", cosign, fallback, OCI_INDEX)
    r = setup.client.get(f"/v2/prod/app/manifests/{cosign}", headers=_accept())
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_index_is_exempt_only_when_nothing_it_lists_is_runnable(setup: Setup) -> None:
    unsigned = push_runnable(setup.client, "prod/app", "plain", seed="plain")
    # an index dressed as cosign's fallback, listing an unsigned image as if it were a signature
    disguised = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": unsigned.digest,
                    "size": len(unsigned.raw),
                    "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    ).encode()
    tag = f"{unsigned.digest.replace(':', '-')}"
    put_manifest(setup.client, "prod/app", tag, disguised, OCI_INDEX)
    r = setup.client.get(f"/v2/prod/app/manifests/{tag}", headers=_accept())
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "DENIED", r.text
    setup.assert_denied("prod/app", tag)


@pytest.mark.slow
def test_signature_none_exempts_its_repositories(setup: Setup) -> None:
    for repo in ("prod/exempt", "prod/legacy/tool"):
        push_runnable(setup.client, repo, "v1", seed=repo.replace("/", "-"))
        setup.assert_pulls(repo, "v1")
    # the exact name only, and a more specific rule under the exemption still requires
    for repo in ("prod/exempted", "prod/legacy/core"):
        push_runnable(setup.client, repo, "v1", seed=repo.replace("/", "-"))
        setup.assert_denied(repo, "v1")


def _accept() -> dict[str, str]:
    return {"accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
