"""Helpers for the web console's tests: sign in through the form, read a page's CSRF token,
push a small image whose config has a history (so the artifact page lists commands)."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from _infra.registry_server import OCI_MANIFEST, PushedImage, make_manifest, push_blob, sha256

if TYPE_CHECKING:
    from dockyard.registry import RegistryApp
    from dockyard.registry.access import AccessService

__all__ = [
    "csrf_of",
    "push_cosign_signature",
    "push_files_image",
    "push_with_history",
    "python_packages_layout",
    "sign_in",
]

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: Any, username: str, password: str) -> httpx.Response:
    """GET /login (for its token), then POST the form; the 303 (or the error page)."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    response: httpx.Response = client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "username": username, "password": password},
    )
    return response


def signed_in(client: Any, username: str, password: str) -> str:
    """Sign in (the 303 asserted); the CSRF token of the pages that follow."""
    assert sign_in(client, username, password).status_code == 303
    return csrf_of(client.get("/").text)


def push_with_history(
    client: Any,
    name: str,
    tag: str,
    *,
    commands: tuple[str, ...] = ("ADD rootfs.tar /", "RUN make install"),
    annotations: dict[str, str] | None = None,
) -> PushedImage:
    """An image with one layer per command, through ``/v2/``."""
    layers = [f"{name}:{tag}:{i}:{c}".encode() * 50 for i, c in enumerate(commands)]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256(b) for b in layers]},
            "history": [{"created_by": c} for c in commands]
            + [{"created_by": 'CMD ["sh"]', "empty_layer": True}],
        }
    ).encode()
    for blob in (config, *layers):
        push_blob(client, name, blob)
    fields: dict[str, Any] = {"annotations": annotations} if annotations else {}
    manifest = make_manifest(config, layers, **fields)
    r = client.put(
        f"/v2/{name}/manifests/{tag}", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    return PushedImage(manifest, sha256(manifest), config, layers)


def python_packages_layout(root: Path, packages: dict[str, str], commands: tuple[str, str]) -> str:
    """A one-image OCI layout (tag ``1``) whose second layer installs Python distributions
    ``packages`` (name → version, as ``*.dist-info/METADATA``); its config's history names
    ``commands`` (one per layer). The manifest's digest."""
    site = "usr/local/lib/python3.11/site-packages"
    files = {
        f"{site}/{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode()
        for name, version in packages.items()
    }
    layers = [_gzip_tar({"etc/os-release": b"ID=console-test\n"}), _gzip_tar(files)]
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        (blobs / sha256(data).split(":", 1)[1]).write_bytes(data)
        return {"digest": sha256(data), "size": len(data)}

    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": [sha256(gzip.decompress(layer)) for layer in layers],
            },
            "history": [{"created_by": c} for c in commands],
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(layer)}
                for layer in layers
            ],
        }
    ).encode()
    entry = {
        "mediaType": OCI_MANIFEST,
        **put(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "1"},
    }
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return str(entry["digest"])


def push_files_image(
    client: Any, name: str, tag: str, layers: list[dict[str, bytes]], commands: list[str]
) -> str:
    """An image whose layers are gzipped tars of ``layers`` (path → bytes), one history
    step a layer, pushed through ``/v2/``; its manifest's digest."""
    blobs = [_gzip_tar(files) for files in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(gzip.decompress(b)) for b in blobs]},
            "history": [{"created_by": c} for c in commands],
        }
    ).encode()
    for blob in (config, *blobs):
        push_blob(client, name, blob)
    manifest = make_manifest(config, blobs)
    r = client.put(
        f"/v2/{name}/manifests/{tag}", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    return sha256(manifest)


def push_cosign_signature(client: Any, name: str, subject: str) -> tuple[str, str]:
    """A signature in cosign's tag layout (``sha256-<hex>.sig``: an image whose one layer is
    the simple-signing payload, annotated with its signature), pushed through ``/v2/``; the
    signature manifest's digest and its layer's digest. The signature bytes are not a real
    one: this is what a listing reads, not what a verifier checks."""
    payload = json.dumps(
        {"critical": {"identity": {"docker-reference": name},
                      "image": {"docker-manifest-digest": subject},
                      "type": "cosign container image signature"}, "optional": None},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    config = b'{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}'
    for blob in (config, payload):
        push_blob(client, name, blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                        "digest": sha256(payload), "size": len(payload),
                        "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="}}],
        }
    ).encode()  # fmt: skip
    tag = subject.replace(":", "-") + ".sig"
    r = client.put(
        f"/v2/{name}/manifests/{tag}", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    return sha256(manifest), sha256(payload)


def _gzip_tar(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def projects_app(root: Path) -> tuple[RegistryApp, AccessService]:
    """An in-process registry app in projects mode (data under ``root``) and its access
    service, for console tests that need no real server process."""
    from _infra.projects_registry import projects_config
    from dockyard.registry._projects_mode import open_access
    from dockyard.registry._server import build_app

    config = projects_config(root)
    app = build_app(config, access_log=False)
    assert config.access is not None
    return app, open_access(config.access, app.registry.meta.db)


def close_app(app: RegistryApp) -> None:
    """Stop what an in-process app started (its shutdown hooks) and close its registry."""
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def table_rows(page: str, caption: str) -> list[list[str]]:
    """The rows (cell texts) of the page's table with this caption."""
    found = re.search(
        rf"<caption>{re.escape(caption)}</caption>.*?<tbody>(.*?)</tbody>", page, re.S
    )
    assert found is not None, f"no table {caption!r}"
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]
