"""An in-process registry with projects and scanning on (one scan thread, the crates.io
advisories imported), and small scannable images pushed to it: what the Harbor scan and
vulnerability tests share."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _infra import run_dockyard
from _infra.console import close_app
from _infra.harbor_api import check_one
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_config, team_with_people
from _infra.registry_server import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    ASGIClient,
    AuthedClient,
    descriptor,
    push_blob,
    sha256,
)
from _infra.retention import API, Served
from _infra.scan_env import VULNDB
from _infra.scan_hostile import image_config, tar_layer
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService
from dockyard.registry.scanning import ScanAll, scan_all_of

__all__ = [
    "SCAN_ALL_METRICS",
    "push_scannable",
    "push_scannable_index",
    "scan_all",
    "scan_all_metrics",
    "scanning_app",
    "scanning_served",
]

SCAN_ALL_METRICS = f"{API}/scans/all/metrics"
INDEX = "application/vnd.oci.image.index.v1+json"


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


@contextlib.contextmanager
def scanning_served(root: Path) -> Iterator[Served]:
    """:func:`scanning_app` with ``team`` and its people (``team_with_people``), an ASGI
    client, and one for the administrator."""
    with scanning_app(root) as (app, access):
        team_with_people(access)
        with ASGIClient(app) as client:
            yield Served(app, client, access, AuthedClient(client, basic("admin", ADMIN_PASSWORD)))


def scan_all(served: Served) -> ScanAll:
    """The served registry's scan-all (and, through it, its scanner)."""
    found = scan_all_of(served.app.registry)
    assert found is not None
    return found


def scan_all_metrics(served: Served) -> dict[str, Any]:
    """``GET /scans/all/metrics`` as the administrator, checked against Harbor's ``Stats``."""
    return check_one(served.client.get(SCAN_ALL_METRICS, headers=served.headers), "Stats")  # type: ignore[no-any-return]


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


def push_scannable_index(client: AuthedClient, repo: str, tag: str) -> tuple[str, str, str]:
    """An index of two scannable images (amd64 and arm64, pushed by digest) as ``repo:tag``;
    the digests of the index, the amd64 image and the arm64 image."""
    amd64 = push_scannable(client, repo, f"{repo}-amd64", tag=None)
    arm64 = push_scannable(client, repo, f"{repo}-arm64", tag=None)
    sizes = {d: len(client.get(f"/v2/{repo}/manifests/{d}",
                               headers={"accept": OCI_MANIFEST}).content)
             for d in (amd64, arm64)}  # fmt: skip
    index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": d, "size": sizes[d],
         "platform": {"os": "linux", "architecture": a}}
        for d, a in ((amd64, "amd64"), (arm64, "arm64"))
    ]}).encode()  # fmt: skip
    r = client.put(f"/v2/{repo}/manifests/{tag}", content=index,
                   headers={"content-type": INDEX})  # fmt: skip
    assert r.status_code == 201, r.text
    return sha256(index), amd64, arm64
