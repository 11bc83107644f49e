"""The frontend loads the instruction modules a Dockerfile uses, and only those.

Each case parses and dispatches a Dockerfile in a fresh interpreter and reports which
``dockyard.builder.frontend`` modules were loaded and what the steps were; the converter's
table (keyword → module) names every instruction and the classes dispatch made.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_PLAN = """
import json, sys
from dockyard.builder.frontend import BuildGraph, StageState, dispatch_stage, parse_dockerfile
from dockyard.oci.platform import Platform

amd64 = Platform("linux", "amd64")
graph = BuildGraph.create(
    parse_dockerfile(sys.argv[1]), build_args={}, target=None, platform=amd64,
    build_platform=amd64,
)
steps, plans = [], {}
for stage in graph.needed():
    base = StageState.from_image(None)
    if stage.base_stage is not None:
        base = plans[stage.base_stage].state
    plan = plans[stage.index] = dispatch_stage(graph, stage, base)
    steps += [
        [step.instruction.name, type(step.instruction).__module__, step.history.created_by,
         [m.type + ":" + m.target for m in getattr(step, "mounts", ())]]
        for step in plan.steps
    ]
loaded = sorted(n for n in sys.modules if n.startswith(("dockyard.builder.frontend", "dockyard.dockerfile")))
print(json.dumps({"steps": steps, "loaded": loaded}))
"""

_INSTRUCTIONS = "dockyard.dockerfile.instructions."


def _plan(dockerfile: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", _PLAN, dockerfile], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def _instruction_modules(loaded: list[object]) -> set[str]:
    return {str(n).removeprefix(_INSTRUCTIONS) for n in loaded if str(n).startswith(_INSTRUCTIONS)}


def test_copy_only_dockerfile_loads_from_and_copy_only() -> None:
    out = _plan("FROM scratch\nCOPY a.txt /a.txt\n")
    assert _instruction_modules(out["loaded"]) == {"base", "copy", "from_"}
    assert "dockyard.dockerfile.mounts" not in out["loaded"]
    assert out["steps"] == [
        ["COPY", _INSTRUCTIONS + "copy", "COPY a.txt /a.txt # buildkit", []],
    ]


def test_run_with_mounts_loads_run_and_the_mount_parser() -> None:
    out = _plan(
        "FROM scratch\nWORKDIR /w\n"
        "RUN --mount=type=cache,target=c --mount=type=tmpfs,target=/t true\n"
    )
    assert _instruction_modules(out["loaded"]) == {
        "base",
        "from_",
        "run",
        "shell_form",
        "workdir",
    }
    assert "dockyard.dockerfile.mounts" in out["loaded"]
    run = out["steps"][-1]
    assert run == [
        "RUN",
        _INSTRUCTIONS + "run",
        "RUN /bin/sh -c true # buildkit",
        ["cache:/w/c", "tmpfs:/t"],
    ]


def test_every_kind_dispatches_with_the_public_classes() -> None:
    text = (
        "ARG V=1\nFROM scratch AS base\nONBUILD RUN true\n"
        "FROM base\nENV E=$V\nLABEL l=v\nMAINTAINER m\nUSER u\nWORKDIR /w\n"
        'CMD ["c"]\nENTRYPOINT ["e"]\nSHELL ["/bin/bash", "-c"]\n'
        "HEALTHCHECK --interval=5s CMD true\nEXPOSE 80\nVOLUME /v\nSTOPSIGNAL SIGTERM\n"
        "COPY <<EOF /f\nx\nEOF\nADD --checksum=sha256:"
        + "0" * 64
        + " https://example.invalid/a /a\nRUN echo hi\n"
    )
    out = _plan(text)
    names = [step[0] for step in out["steps"]]
    assert names == [
        "ONBUILD",
        "RUN",
        "ENV",
        "LABEL",
        "MAINTAINER",
        "USER",
        "WORKDIR",
        "CMD",
        "ENTRYPOINT",
        "SHELL",
        "HEALTHCHECK",
        "EXPOSE",
        "VOLUME",
        "STOPSIGNAL",
        "COPY",
        "ADD",
        "RUN",
    ]
    from dockyard.dockerfile._convert import INSTRUCTION_MODULES, instruction_class

    assert set(INSTRUCTION_MODULES) == {str(name).lower() for name in names} | {"arg", "from"}
    for name, module, _, _ in out["steps"]:
        cls = instruction_class(str(name).lower())
        assert cls.__module__ == module
        assert _INSTRUCTIONS + INSTRUCTION_MODULES[str(name).lower()] == module
