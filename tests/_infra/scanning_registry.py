"""An in-process registry with projects and scanning on (one scan thread, the crates.io
advisories imported), and small scannable images pushed to it: what the Harbor scan and
vulnerability tests share."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from _infra import run_dockyard
from _infra.console import close_app
from _infra.projects_registry import projects_config
from _infra.registry_server import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    AuthedClient,
    descriptor,
    push_blob,
    sha256,
)
from _infra.scan_env import VULNDB
from _infra.scan_hostile import image_config, tar_layer
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService

__all__ = ["push_scannable", "scanning_app"]


@contextlib.contextmanager
def scanning_app(root: Path, **env: str) -> Iterator[tuple[RegistryApp, AccessService]]:
    """The app (projects on, scanning with one thread; ``env``: more of the config's
    variables) and its access service; closed after."""
    run_dockyard("db", "import", VULNDB / "osv" / "crates.io", root=root / "store")
    config = projects_config(
        root / "data", REGISTRY_SCANNING_DB=str(root / "store"), REGISTRY_SCANNING_WORKERS="1",
        **env,
    )  # fmt: skip
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    try:
        yield app, access
    finally:
        close_app(app)


def push_scannable(client: AuthedClient, repo: str, seed: str, tag: str | None = "1") -> str:
    """Push a one-layer Debian-looking image (``seed`` makes it unique) as ``repo:tag`` (by
    digest when ``tag`` is None); its manifest digest."""
    layer = tar_layer([("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                       ("seed", seed.encode())])  # fmt: skip
    config = image_config([layer])
    for blob in (config, layer.blob):
        push_blob(client, repo, blob)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(config, OCI_CONFIG),
         "layers": [descriptor(layer.blob, OCI_LAYER)]}
    ).encode()  # fmt: skip
    digest = sha256(manifest)
    r = client.put(f"/v2/{repo}/manifests/{tag or digest}", content=manifest,
                   headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    return digest
