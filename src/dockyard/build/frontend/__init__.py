"""The builder's frontend: Dockerfile → instructions → stage graph → steps. No I/O.

``parse_dockerfile`` checks a Dockerfile and groups its instructions into stages;
``BuildGraph.create`` resolves bases, platforms, build args and dependencies for a target;
``dispatch_stage`` expands each instruction and applies its image-config effect, yielding the
steps (RUN, COPY/ADD, WORKDIR mkdir, metadata) the solver runs, with BuildKit's history lines.
``dockerignore`` matches context paths as Docker does.
"""

from dockyard.build.frontend.dispatch import Dispatcher, StagePlan, dest_path, dispatch_stage
from dockyard.build.frontend.dockerfile import Dockerfile, StageDef, parse_dockerfile
from dockyard.build.frontend.errors import DockerfileError
from dockyard.build.frontend.stages import PROXY_ARGS, BuildGraph, Stage, platform_args
from dockyard.build.frontend.steps import CopyStep, MetaStep, MkdirStep, RunStep, StageState, Step

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
