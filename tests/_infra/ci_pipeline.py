"""What the CI tests share: a projects-mode registry with a ``team`` project, a store with the
PyPI advisories of the test data, a cosign key pair, and a build context whose image has an old
urllib3 in it (findings for the scan step)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from _infra._cli import run_dockyard
from _infra.actions_runner import environment_without_github
from _infra.projects_registry import ADMIN_PASSWORD, projects_env
from _infra.registry_server import RegistryProcess, start_registry

__all__ = ["KEY_PASSWORD", "REPO", "CiSetup", "build_context", "ci_setup"]

REPO = Path(__file__).resolve().parents[2]
VULNDB = REPO.parent / "shared" / "testdata" / "vulndb"
KEY_PASSWORD = "ci-key-password"

# An old urllib3 whose advisories are in the test data (PYSEC-2019-132 among them).
OLD_PACKAGE = "usr/local/lib/python3.11/site-packages/urllib3-1.24.1.dist-info/METADATA"


@dataclass
class CiSetup:
    server: RegistryProcess
    store: Path
    keys: Path
    env: dict[str, str]

    @property
    def host(self) -> str:
        return self.server.host

    def api(self, path: str) -> httpx.Response:
        return httpx.get(
            f"{self.server.url}/api/v2.0{path}", auth=("admin", ADMIN_PASSWORD), timeout=30
        )


@contextlib.contextmanager
def ci_setup(base: Path) -> Iterator[CiSetup]:
    store = base / "store"
    home = base / "home"
    home.mkdir()
    keys = base / "keys"
    keys.mkdir()
    run_env = {
        **environment_without_github(),
        "DOCKYARD_ROOT": str(store),
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    run_dockyard("db", "import", VULNDB / "osv" / "PyPI", root=store)
    run_dockyard(
        "generate-key-pair",
        "--output-key-prefix",
        keys / "cosign",
        root=store,
        env={"COSIGN_PASSWORD": KEY_PASSWORD},
    )
    root = base / "registry"
    # the registry scans what is pushed, with the same advisories (the promotion's scan gate)
    env = projects_env(
        root,
        DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
        REGISTRY_SCANNING="on-push",
        REGISTRY_SCANNING_DB=str(store / "vulndb" / "vulndb.sqlite"),
    )
    with start_registry(root, env=env) as server:
        created = httpx.post(
            f"{server.url}/api/v2.0/projects",
            json={"project_name": "team", "metadata": {"public": "false"}},
            auth=("admin", ADMIN_PASSWORD),
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield CiSetup(server, store, keys, run_env)


def build_context(tmp_path: Path, version: str) -> Path:
    context = tmp_path / "src"
    (context / Path(OLD_PACKAGE).parent).mkdir(parents=True)
    (context / OLD_PACKAGE).write_text("Metadata-Version: 2.1\nName: urllib3\nVersion: 1.24.1\n")
    (context / "app.txt").write_text(f"app {version}\n")
    (context / "Dockerfile").write_text(
        "FROM scratch\nARG VERSION\nLABEL org.opencontainers.image.version=$VERSION\nCOPY . /\n"
    )
    return context
