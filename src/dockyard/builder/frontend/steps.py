"""What a stage does, step by step, after expansion: the solver's input."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockyard.dockerfile.instructions import Instruction
from dockyard.oci.config import HistoryEntry

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.content import SourceContent
    from dockyard.dockerfile.mounts import Mount

__all__ = ["CopyStep", "MetaStep", "MkdirStep", "RunStep", "StageState", "Step"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One instruction of a stage, expanded, with its history line; ``layer`` if it changes
    the filesystem. ``on_build`` marks a trigger inherited from the base image."""

    instruction: Instruction
    history: HistoryEntry
    on_build: bool = False

    @property
    def layer(self) -> bool:
        return not self.history.empty_layer


@dataclass(frozen=True, kw_only=True)
class MetaStep(Step):
    """Changes only the image config (ENV, LABEL, CMD, ARG …)."""


@dataclass(frozen=True, kw_only=True)
class RunStep(Step):
    argv: tuple[str, ...]
    env: tuple[str, ...]
    user: str
    workdir: str
    mounts: tuple[Mount, ...] = ()
    network: str = ""
    security: str = ""
    #: files to provide read-only at ``path`` (heredoc scripts with a shebang): (path, data, mode)
    inline_files: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True, kw_only=True)
class CopyStep(Step):
    """COPY or ADD (``add``): sources from the context, a stage, or an image."""

    add: bool
    sources: tuple[str, ...]
    contents: tuple[SourceContent, ...]
    dest: str
    from_stage: int | None = None
    from_image: str | None = None
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()
    checksum: str = ""
    keep_git_dir: bool = False
    unpack: bool | None = None
    workdir: str = "/"
    user: str = ""


@dataclass(frozen=True, kw_only=True)
class MkdirStep(Step):
    """WORKDIR: create ``path`` (with parents, 0755, owned by ``user`` when set)."""

    path: str
    user: str = ""


@dataclass
class StageState:
    """The image a stage is building, as far as dispatched: config, env in scope, args."""

    config: dict[str, Any] = field(default_factory=dict)
    author: str | None = None
    os: str = "linux"
    #: variables in scope (image Env, then ARG values); what expansion and RUN see
    env: dict[str, str] = field(default_factory=dict)
    #: ARGs declared in this stage (and its base stages), for RUN history lines
    build_args: list[tuple[str, str | None]] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    cmd_set: bool = False
    workdir: str = "/"
    #: OnBuild triggers of the base image, run before the stage's own instructions
    onbuild: list[str] = field(default_factory=list)

    @classmethod
    def from_image(cls, data: dict[str, Any] | None, os: str = "linux") -> StageState:
        """Start from a base image config (``None`` = scratch), as BuildKit does."""
        scratch = data is None
        data = copy.deepcopy(data or {})
        cfg = dict(data.get("config") or {})
        if scratch:  # BuildKit's empty image: WorkingDir "/" and the default PATH
            cfg["WorkingDir"] = "/"
        env = list(cfg.get("Env") or [])
        if not any(e.split("=", 1)[0] == "PATH" for e in env):
            env.append("PATH=" + DEFAULT_PATH)
        cfg["Env"] = env
        onbuild = list(cfg.pop("OnBuild", None) or [])
        state = cls(config=cfg, author=data.get("author"), os=data.get("os") or os)
        state.onbuild = onbuild
        for entry in env:
            key, _, value = entry.partition("=")
            state.env[key] = value
        state.history = [HistoryEntry.from_json(h) for h in data.get("history") or []]
        if cfg.get("WorkingDir"):
            state.workdir = cfg["WorkingDir"]
        return state

    def clone(self) -> StageState:
        return copy.deepcopy(self)

    def set_env(self, key: str, value: str) -> None:
        self.env.pop(key, None)
        self.env[key] = value
        env = list(self.config.get("Env") or [])
        for i, entry in enumerate(env):
            if entry.split("=", 1)[0] == key:
                env[i] = f"{key}={value}"
                break
        else:
            env.append(f"{key}={value}")
        self.config["Env"] = env

    def shell(self) -> list[str]:
        given = self.config.get("Shell")
        if given:
            return list(given)
        return ["cmd", "/S", "/C"] if self.os == "windows" else ["/bin/sh", "-c"]

    def with_shell(self, args: list[str]) -> list[str]:
        return [*self.shell(), " ".join(args)]

    def env_list(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.env.items()]
