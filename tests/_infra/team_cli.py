"""The ``dockyard`` CLI against a real projects-mode registry process: a store logged in as
``admin``, with a ``team`` project, for the CLI tests of the team commands (promote,
retention, webhook …)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _infra._cli import run_dockyard
from _infra.registry_server import RegistryProcess, start_registry

__all__ = ["ADMIN_PASSWORD", "Team", "team_registry"]

ADMIN_PASSWORD = "Harbor12345"


@dataclass
class Team:
    registry: RegistryProcess
    root: Path
    env: dict[str, str]
    #: add ``--registry HOST`` to every command (False where commands name the registry in
    #: their references, or take no such option)
    with_registry: bool = True

    def run(self, *args: Any, check: bool = True) -> Any:
        where = ("--registry", self.registry.host) if self.with_registry else ()
        return run_dockyard(*args, *where, root=self.root, env=self.env, check=check,
                            timeout=120)  # fmt: skip


@contextlib.contextmanager
def team_registry(
    base: Path, env: Mapping[str, str] | None = None, *, with_registry: bool = True
) -> Iterator[Team]:
    """A projects-mode registry (its data under ``base``), a store logged in to it as
    ``admin`` (no other registry configured), and the project ``team``."""
    full_env = {
        "REGISTRY_AUTH": "projects",
        "REGISTRY_AUTH_PROJECTS_PASSWORDCOST": "4",
        "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DOCKER_CONFIG": str(base / "docker"),
        "DOCKYARD_REGISTRIES_CONFIG": str(base / "no-registries.json"),
        "DOCKYARD_REGISTRY": "",
        **(env or {}),
    }
    root = base / "store"
    root.mkdir()
    with start_registry(base / "registry", env=full_env) as registry:
        run_dockyard(
            "login", "-u", "admin", "--password-stdin", registry.host,
            root=root, env=full_env, input=ADMIN_PASSWORD + "\n",
        )  # fmt: skip
        team = Team(registry, root, full_env)
        team.run("project", "create", "team")
        team.with_registry = with_registry
        yield team
