"""podman as root with its own storage (vfs), run root and auth file under a temp dir."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from _infra._process import run_command


@dataclass
class Podman:
    base: list[str]
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_command([*self.base, *args], env=self.env, check=check, timeout=300)
