"""The instruction model: one frozen record per Dockerfile instruction.

Values are as written (not yet expanded); :mod:`dockyard.build.frontend.stages` expands the
words BuildKit expands, with the variables in scope at that step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.build.frontend.parser import Heredoc

__all__ = [
    "AddInstruction",
    "ArgInstruction",
    "ArgSpec",
    "CmdInstruction",
    "CopyInstruction",
    "EntrypointInstruction",
    "EnvInstruction",
    "ExposeInstruction",
    "FromInstruction",
    "Healthcheck",
    "HealthcheckInstruction",
    "Instruction",
    "KeyValue",
    "LabelInstruction",
    "Location",
    "MaintainerInstruction",
    "OnbuildInstruction",
    "RunInstruction",
    "ShellInstruction",
    "SourceContent",
    "StopsignalInstruction",
    "UserInstruction",
    "VolumeInstruction",
    "WorkdirInstruction",
]


@dataclass(frozen=True)
class Location:
    file: str = "Dockerfile"
    start_line: int = 0
    end_line: int = 0


@dataclass(frozen=True)
class Instruction:
    """Common to all: the keyword (upper case), the logical line, where it was written."""

    original: str = field(default="", kw_only=True)
    location: Location = field(default_factory=Location, kw_only=True)

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Instruction").upper()


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    no_delim: bool = False

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True)
class ArgSpec:
    key: str
    value: str | None = None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass(frozen=True)
class SourceContent:
    """A heredoc used as a COPY/ADD source: file ``path`` with ``data``."""

    path: str
    data: str
    expand: bool


@dataclass(frozen=True)
class FromInstruction(Instruction):
    base_name: str
    stage_name: str = ""
    platform: str = ""


@dataclass(frozen=True)
class _ShellDependent(Instruction):
    """RUN/CMD/ENTRYPOINT: ``cmd`` is the JSON array, or one string for the shell form."""

    cmd: tuple[str, ...] = ()
    prepend_shell: bool = False
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True)
class RunInstruction(_ShellDependent):
    mounts: tuple[str, ...] = ()
    network: str = ""
    security: str = ""


@dataclass(frozen=True)
class CmdInstruction(_ShellDependent):
    pass


@dataclass(frozen=True)
class EntrypointInstruction(_ShellDependent):
    pass


@dataclass(frozen=True)
class ShellInstruction(Instruction):
    shell: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvInstruction(Instruction):
    pairs: tuple[KeyValue, ...] = ()


@dataclass(frozen=True)
class LabelInstruction(Instruction):
    pairs: tuple[KeyValue, ...] = ()


@dataclass(frozen=True)
class ArgInstruction(Instruction):
    args: tuple[ArgSpec, ...] = ()


@dataclass(frozen=True)
class ExposeInstruction(Instruction):
    ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class VolumeInstruction(Instruction):
    volumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserInstruction(Instruction):
    user: str = ""


@dataclass(frozen=True)
class WorkdirInstruction(Instruction):
    path: str = ""


@dataclass(frozen=True)
class MaintainerInstruction(Instruction):
    maintainer: str = ""


@dataclass(frozen=True)
class StopsignalInstruction(Instruction):
    signal: str = ""


@dataclass(frozen=True)
class Healthcheck:
    """Docker's HealthConfig; durations in nanoseconds, 0 meaning "not set"."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"Test": list(self.test)}
        for key, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class HealthcheckInstruction(Instruction):
    health: Healthcheck = field(default_factory=lambda: Healthcheck(("NONE",)))


@dataclass(frozen=True)
class CopyInstruction(Instruction):
    """COPY (and, via :class:`AddInstruction`, ADD): sources, heredoc contents, destination."""

    sources: tuple[str, ...] = ()
    contents: tuple[SourceContent, ...] = ()
    dest: str = ""
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddInstruction(CopyInstruction):
    checksum: str = ""
    keep_git_dir: bool = False
    unpack: bool | None = None


@dataclass(frozen=True)
class OnbuildInstruction(Instruction):
    """``expression`` is what goes into the image's OnBuild list."""

    expression: str = ""
    trigger: Instruction | None = None
