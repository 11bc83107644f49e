"""The instruction model: one frozen record per Dockerfile instruction.

Values are as written (not yet expanded); :mod:`dockyard.builder.frontend.stages` expands the
words BuildKit expands, with the variables in scope at that step.

One module per instruction family, loaded when first used: a build defines the record classes
of the instructions its Dockerfile has, not all of them (each ``@dataclass`` costs start-up
time). The names here load their module on first access; code on the build path compares
``Instruction.name`` (the keyword) and imports the class from its module where it needs it.
"""

from __future__ import annotations

from dockyard.dockerfile.instructions._base import Instruction, Location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.dockerfile.instructions._add import AddInstruction
    from dockyard.dockerfile.instructions._arg import ArgInstruction, ArgSpec
    from dockyard.dockerfile.instructions._cmd import CmdInstruction, EntrypointInstruction
    from dockyard.dockerfile.instructions._content import SourceContent
    from dockyard.dockerfile.instructions._copy import CopyInstruction
    from dockyard.dockerfile.instructions._env import EnvInstruction, KeyValue, LabelInstruction
    from dockyard.dockerfile.instructions._expose import ExposeInstruction
    from dockyard.dockerfile.instructions._from import FromInstruction
    from dockyard.dockerfile.instructions._healthcheck import (
        Healthcheck,
        HealthcheckInstruction,
    )
    from dockyard.dockerfile.instructions._maintainer import MaintainerInstruction
    from dockyard.dockerfile.instructions._onbuild import OnbuildInstruction
    from dockyard.dockerfile.instructions._run import RunInstruction
    from dockyard.dockerfile.instructions._shell import ShellInstruction
    from dockyard.dockerfile.instructions._stopsignal import StopsignalInstruction
    from dockyard.dockerfile.instructions._user import UserInstruction
    from dockyard.dockerfile.instructions._volume import VolumeInstruction
    from dockyard.dockerfile.instructions._workdir import WorkdirInstruction

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

#: where each name lives (a module of this package)
_WHERE = {
    "AddInstruction": "_add",
    "ArgInstruction": "_arg",
    "ArgSpec": "_arg",
    "CmdInstruction": "_cmd",
    "CopyInstruction": "_copy",
    "EntrypointInstruction": "_cmd",
    "EnvInstruction": "_env",
    "ExposeInstruction": "_expose",
    "FromInstruction": "_from",
    "Healthcheck": "_healthcheck",
    "HealthcheckInstruction": "_healthcheck",
    "KeyValue": "_env",
    "LabelInstruction": "_env",
    "MaintainerInstruction": "_maintainer",
    "OnbuildInstruction": "_onbuild",
    "RunInstruction": "_run",
    "ShellInstruction": "_shell",
    "SourceContent": "_content",
    "StopsignalInstruction": "_stopsignal",
    "UserInstruction": "_user",
    "VolumeInstruction": "_volume",
    "WorkdirInstruction": "_workdir",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
