"""Signing images in real registries: Debian's distribution 2.8 and dockyard's own registry."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _infra import run_command, run_dockyard, skopeo_push

pytestmark = pytest.mark.slow

PASSWORD = {"COSIGN_PASSWORD": "registry-pw"}
_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


def _push(layout: Any, host: str, repo: str) -> str:
    return skopeo_push(layout.ref, host, repo)


def _http(host: str, repo: str) -> tuple[Callable[[str], bytes], Callable[[str], bytes]]:
    """Plain urllib fetchers for the independent verifier."""

    def get(path: str) -> bytes:
        req = urllib.request.Request(f"http://{host}/v2/{repo}/{path}", headers={"Accept": _ACCEPT})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: bytes = resp.read()
            return body

    return (lambda ref: get(f"manifests/{ref}")), (lambda digest: get(f"blobs/{digest}"))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    prefix = tmp_path / "cosign"
    run_dockyard(
        "generate-key-pair", "--output-key-prefix", prefix, root=tmp_path / "s", env=PASSWORD
    )
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


@pytest.mark.slow
def test_sign_and_verify_in_distribution_registry(
    docker_registry: Any,
    layout_image: Any,
    keys: tuple[Path, Path],
    tmp_path: Path,
    spec_verify: Callable[..., list[dict[str, Any]]],
) -> None:
    host = docker_registry.host
    digest = _push(layout_image, host, "signed/app")
    key, pub = keys
    root = tmp_path / "s"
    image = f"{host}/signed/app:v1"
    first = run_dockyard("sign", "--key", key, image, root=root, env=PASSWORD)
    assert "uses a tag, not a digest" in first.stderr
    run_dockyard(
        "sign",
        "--key",
        key,
        "-a",
        "team=core",
        f"{host}/signed/app@{digest}",
        root=root,
        env=PASSWORD,
    )

    out = run_dockyard("verify", "--key", pub, image, root=root)
    payloads = json.loads(out.stdout)
    assert [p["optional"] for p in payloads] == [None, {"team": "core"}]
    assert {p["critical"]["identity"]["docker-reference"] for p in payloads} == {
        f"{host}/signed/app"
    }

    fetch_manifest, fetch_blob = _http(host, "signed/app")
    checked = spec_verify(
        fetch_manifest, fetch_blob, digest, f"{host}/signed/app", pub.read_bytes()
    )
    assert len(checked) == 2

    # the .sig tag is an ordinary image to other tools: skopeo copies it out of the registry
    sig_tag = digest.replace(":", "-") + ".sig"
    out_dir = tmp_path / "sig-copy"
    run_command(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            f"docker://{host}/signed/app:{sig_tag}",
            f"oci:{out_dir}:sig",
        ]
    )
    copied = run_dockyard("verify", "--key", pub, layout_image.ref, root=root, check=False)
    assert copied.returncode == 1  # the layout's own image was never signed there
    index = json.loads((out_dir / "index.json").read_bytes())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "sig"

    tree = run_dockyard("tree", "--format", "json", image, root=root)
    attached = json.loads(tree.stdout)["attached"]
    assert attached[0]["tag"] == sig_tag and len(attached[0]["layers"]) == 2


def test_tampered_annotation_in_registry_fails(
    docker_registry: Any, layout_image: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    host = docker_registry.host
    digest = _push(layout_image, host, "tamper/app")
    key, pub = keys
    root = tmp_path / "s"
    run_dockyard("sign", "--key", key, f"{host}/tamper/app@{digest}", root=root, env=PASSWORD)
    fetch_manifest, _ = _http(host, "tamper/app")
    sig_tag = digest.replace(":", "-") + ".sig"
    manifest = json.loads(fetch_manifest(sig_tag))
    sig = base64.b64decode(
        manifest["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"]
    )
    manifest["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"] = base64.b64encode(
        sig[:-1] + bytes([sig[-1] ^ 1])
    ).decode()
    put = urllib.request.Request(
        f"http://{host}/v2/tamper/app/manifests/{sig_tag}",
        data=json.dumps(manifest).encode(),
        method="PUT",
        headers={"Content-Type": manifest["mediaType"]},
    )
    urllib.request.urlopen(put, timeout=30).close()
    bad = run_dockyard("verify", "--key", pub, f"{host}/tamper/app:v1", root=root, check=False)
    assert bad.returncode == 1
    assert "signature does not verify" in bad.stderr


@pytest.mark.slow
def test_referrers_fall_back_to_the_tag_schema_on_distribution(
    docker_registry: Any, layout_image: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    host = docker_registry.host
    digest = _push(layout_image, host, "ref/app")
    key, pub = keys
    root = tmp_path / "s"
    with pytest.raises(urllib.error.HTTPError):  # distribution 2.8 has no referrers API
        urllib.request.urlopen(f"http://{host}/v2/ref/app/referrers/{digest}", timeout=30)
    run_dockyard(
        "sign", "--referrers", "--key", key, f"{host}/ref/app@{digest}", root=root, env=PASSWORD
    )
    fetch_manifest, _ = _http(host, "ref/app")
    fallback = json.loads(fetch_manifest(digest.replace(":", "-")))
    assert fallback["mediaType"] == "application/vnd.oci.image.index.v1+json"
    [entry] = fallback["manifests"]
    assert entry["artifactType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
    referrer = json.loads(fetch_manifest(entry["digest"]))
    assert referrer["subject"]["digest"] == digest
    out = run_dockyard("verify", "--key", pub, f"{host}/ref/app:v1", root=root)
    assert len(json.loads(out.stdout)) == 1


@pytest.mark.slow
def test_referrers_api_on_dockyard_registry(
    dockyard_registry: Any, layout_image: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    host = dockyard_registry.host
    digest = _push(layout_image, host, "ref/app")
    key, pub = keys
    root = tmp_path / "s"
    run_dockyard(
        "sign", "--referrers", "--key", key, f"{host}/ref/app@{digest}", root=root, env=PASSWORD
    )
    fetch_manifest, _ = _http(host, "ref/app")
    with urllib.request.urlopen(f"http://{host}/v2/ref/app/referrers/{digest}", timeout=30) as resp:
        listed = json.loads(resp.read())
    [entry] = listed["manifests"]
    assert entry["artifactType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
    with pytest.raises(urllib.error.HTTPError):  # the registry indexed it: no fallback tag
        fetch_manifest(digest.replace(":", "-"))
    out = run_dockyard("verify", "--key", pub, f"{host}/ref/app:v1", root=root)
    assert len(json.loads(out.stdout)) == 1
    run_dockyard("sign", "--key", key, f"{host}/ref/app@{digest}", root=root, env=PASSWORD)
    both = run_dockyard("verify", "--key", pub, f"{host}/ref/app:v1", root=root)
    assert len(json.loads(both.stdout)) == 2  # tag schema + referrer, both found


def test_attest_in_registry(
    docker_registry: Any, layout_image: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    host = docker_registry.host
    digest = _push(layout_image, host, "att/app")
    key, pub = keys
    root = tmp_path / "s"
    predicate = tmp_path / "vuln.json"
    predicate.write_text('{"scanner":{"uri":"dockyard"}}')
    image = f"{host}/att/app@{digest}"
    run_dockyard(
        "attest",
        "--key",
        key,
        "--predicate",
        predicate,
        "--type",
        "vuln",
        image,
        root=root,
        env=PASSWORD,
    )
    out = run_dockyard("verify-attestation", "--key", pub, "--type", "vuln", image, root=root)
    envelope = json.loads(out.stdout)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"] == [
        {"name": f"{host}/att/app", "digest": {"sha256": digest.split(":")[1]}}
    ]
    assert statement["predicateType"] == "https://cosign.sigstore.dev/attestation/vuln/v1"
