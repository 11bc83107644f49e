"""dockyard registry serve: the OCI distribution registry, configured as registry:2 is."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from dockyard.cli._main import cli

#: Where ``dockyard registry serve`` keeps its data when nothing else says (``make serve``).
ROOT_ENV = "DOCKYARD_REGISTRY_ROOT"
DEFAULT_ROOT = Path(".serve")


@cli.group("registry")
def registry_group() -> None:
    """Run and maintain dockyard's container registry."""


@registry_group.command("serve")
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="registry:2-style YAML config file (REGISTRY_* variables override it).",
)
@click.option("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000).")
@click.option(
    "--root",
    "data_root",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Data directory for blobs and metadata (default: ${ROOT_ENV}, else ./.serve).",
)
@click.option("--delete/--no-delete", default=None, help="Allow deleting manifests and blobs.")
def serve_cmd(
    config_file: Path | None, addr: str | None, data_root: Path | None, delete: bool | None
) -> None:
    """Serve the OCI distribution API (push/pull with docker, podman, skopeo …)."""
    from dockyard.registry import serve
    from dockyard.registry.config import load

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if (
        data_root is None
        and config_file is None
        and not os.environ.get("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")
    ):
        data_root = Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    overrides = {
        "http.addr": addr,
        "storage.filesystem.rootdirectory": str(data_root.absolute()) if data_root else None,
        "storage.delete.enabled": delete,
    }
    serve(load(config_file, overrides=overrides))
