"""The builder's frontend: parsed Dockerfile → stage graph → steps. No I/O.

The language itself (parser, instructions, shell words, ``.dockerignore``) is
:mod:`dockyard.dockerfile`; ``parse_dockerfile`` is re-exported here for the solver.
``BuildGraph.create`` resolves bases, platforms, build args and dependencies for a target;
``dispatch_stage`` expands each instruction and applies its image-config effect, yielding the
steps (RUN, COPY/ADD, WORKDIR mkdir, metadata) the solver runs, with BuildKit's history lines.
"""

from dockyard.builder.frontend.dispatch import Dispatcher, StagePlan, dest_path, dispatch_stage
from dockyard.builder.frontend.stages import PROXY_ARGS, BuildGraph, Stage, platform_args
from dockyard.builder.frontend.steps import CopyStep, MetaStep, MkdirStep, RunStep, StageState, Step
from dockyard.dockerfile.document import Dockerfile, StageDef, parse_dockerfile
from dockyard.dockerfile.errors import DockerfileError

__all__ = [
    "PROXY_ARGS",
    "BuildGraph",
    "CopyStep",
    "Dispatcher",
    "Dockerfile",
    "DockerfileError",
    "MetaStep",
    "MkdirStep",
    "RunStep",
    "Stage",
    "StageDef",
    "StagePlan",
    "StageState",
    "Step",
    "dest_path",
    "dispatch_stage",
    "parse_dockerfile",
    "platform_args",
]
