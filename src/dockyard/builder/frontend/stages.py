"""The stage graph: base names and platforms resolved, dependencies, what a target needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from dockyard.dockerfile.document import Dockerfile, StageDef
from dockyard.dockerfile.instructions import Instruction, Location
from dockyard.dockerfile.shell import Lex, ShellError
from dockyard.errors import DockyardError, NotFound
from dockyard.oci.platform import Platform

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.copy import CopyInstruction
    from dockyard.dockerfile.instructions.run import RunInstruction

__all__ = ["PROXY_ARGS", "BuildGraph", "Stage", "platform_args"]

SCRATCH = "scratch"
#: Build args every RUN sees without an ARG (and that never reach the history).
PROXY_ARGS = tuple(
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
    for name in (base, base.lower())
)


def platform_args(build: Platform, target: Platform, target_stage: str = "") -> dict[str, str]:
    """BuildKit's automatic platform ARGs (available to FROM and to ``ARG NAME`` in stages)."""
    return {
        "BUILDPLATFORM": str(build),
        "BUILDOS": build.os,
        "BUILDOSVERSION": build.os_version or "",
        "BUILDARCH": build.architecture,
        "BUILDVARIANT": build.variant or "",
        "TARGETPLATFORM": str(target),
        "TARGETOS": target.os,
        "TARGETOSVERSION": target.os_version or "",
        "TARGETARCH": target.architecture,
        "TARGETVARIANT": target.variant or "",
        "TARGETSTAGE": target_stage,
    }


@dataclass
class Stage:
    """A stage with its base resolved: another stage (``base_stage``), an image, or scratch."""

    index: int
    name: str
    base_name: str
    base_stage: int | None
    platform: Platform | None
    instructions: list[Instruction]
    location: Location
    #: stages this one reads from (base, COPY --from, RUN --mount from=), by index
    deps: set[int] = field(default_factory=set)
    #: images this one reads from by reference (COPY --from=image, mount from=image)
    image_deps: set[str] = field(default_factory=set)

    @property
    def display_name(self) -> str:
        return self.name or f"stage-{self.index}"

    @property
    def is_scratch(self) -> bool:
        return self.base_stage is None and self.base_name == SCRATCH


@dataclass
class BuildGraph:
    """Stages of a Dockerfile for one target platform and one set of build args."""

    dockerfile: Dockerfile
    build_args: dict[str, str]
    build_platform: Platform
    target_platform: Platform
    global_args: dict[str, str]
    stages: list[Stage]
    target: Stage
    lex: Lex

    @classmethod
    def create(
        cls,
        dockerfile: Dockerfile,
        *,
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
        platform: Platform | None = None,
        build_platform: Platform | None = None,
    ) -> BuildGraph:
        args = dict(build_args or {})
        bp = build_platform or Platform.current()
        tp = platform or bp
        lex = Lex(escape=dockerfile.directives.escape)
        target_name = target or dockerfile.stages[-1].name
        global_args = platform_args(bp, tp, target_name)
        for key in list(global_args):
            if key in args:
                global_args[key] = args[key]
        for ins in dockerfile.meta_args:
            for spec in ins.args:
                if spec.key in args:
                    global_args[spec.key] = args[spec.key]
                elif spec.value is not None:
                    try:
                        global_args[spec.key] = lex.process_word(spec.value, global_args)
                    except ShellError as e:
                        raise dockerfile.error(str(e), ins.location) from None
        stages: list[Stage] = []
        by_name: dict[str, int] = {}
        for sd in dockerfile.stages:
            stages.append(_resolve_stage(dockerfile, sd, lex, global_args, by_name))
            if sd.name:
                by_name[sd.name] = sd.index
        graph = cls(dockerfile, args, bp, tp, global_args, stages, stages[-1], lex)
        if target:
            found = dockerfile.stage(target)
            if found is None:
                raise NotFound(f'target stage "{target}" could not be found')
            graph.target = stages[found.index]
        for st in stages:
            for step_ins in st.instructions:
                graph._add_deps(st, step_ins)
        return graph

    def stage_ref(self, ref: str) -> int | None:
        """The stage index ``ref`` (a name or a number) names, or ``None`` for an image."""
        if ref.isdigit() or (ref.startswith("-") and ref[1:].isdigit()):
            index = int(ref)
            if not 0 <= index < len(self.stages):
                raise DockyardError(f"invalid stage index {index}")
            return index
        found = self.dockerfile.stage(ref)
        return found.index if found else None

    def _add_deps(self, st: Stage, ins: Instruction) -> None:
        # by keyword, not isinstance: only the instruction kinds a Dockerfile uses are loaded
        kind = ins.name
        if kind == "ONBUILD":
            return
        refs: list[tuple[str, str]] = []
        if kind in ("COPY", "ADD") and cast("CopyInstruction", ins).from_:
            refs.append((cast("CopyInstruction", ins).from_, "copy"))
        if kind == "RUN" and cast("RunInstruction", ins).mounts:
            from dockyard.dockerfile.mounts import parse_mount

            for raw in cast("RunInstruction", ins).mounts:
                try:
                    m = parse_mount(raw)
                except ValueError as e:
                    raise self.dockerfile.error(str(e), ins.location) from None
                if m.from_:
                    if "$" in m.from_[:-1]:
                        raise self.dockerfile.error(
                            "'from' doesn't support variable expansion, define alias stage instead",
                            ins.location,
                        )
                    refs.append((m.from_, "mount"))
        for ref, _kind in refs:
            try:
                index = self.stage_ref(ref)
            except DockyardError as e:
                raise self.dockerfile.error(e.message, ins.location) from None
            if index is None:
                st.image_deps.add(ref)
                continue
            if index == st.index:
                raise self.dockerfile.error(
                    f"circular dependency detected on stage: {st.display_name}", ins.location
                )
            if index > st.index:
                raise self.dockerfile.error(
                    f'cannot copy from stage "{ref}", it needs to be defined before current '
                    f'stage "{st.display_name}"',
                    ins.location,
                )
            st.deps.add(index)

    def add_trigger_deps(self, st: Stage, triggers: list[Instruction]) -> None:
        """Record the dependencies of ONBUILD triggers inherited from a base image."""
        for ins in triggers:
            self._add_deps(st, ins)

    def needed(self, target: Stage | None = None) -> list[Stage]:
        """The stages ``target`` needs, dependencies first (only these are built)."""
        goal = target or self.target
        order: list[Stage] = []
        seen: set[int] = set()

        def visit(index: int) -> None:
            if index in seen:
                return
            seen.add(index)
            for dep in sorted(self.stages[index].deps):
                visit(dep)
            order.append(self.stages[index])

        visit(goal.index)
        return order

    def images(self, target: Stage | None = None) -> set[str]:
        """Image references the needed stages use (bases and COPY --from images)."""
        out: set[str] = set()
        for st in self.needed(target):
            if st.base_stage is None and not st.is_scratch:
                out.add(st.base_name)
            out |= st.image_deps
        return out

    def args_for_run(self) -> dict[str, str]:
        """Proxy build args (given to RUN without an ARG)."""
        return {k: v for k, v in self.build_args.items() if k in PROXY_ARGS}


def _resolve_stage(
    df: Dockerfile, sd: StageDef, lex: Lex, global_args: dict[str, str], by_name: dict[str, int]
) -> Stage:
    ins = sd.from_
    try:
        base = lex.process_word(ins.base_name, global_args)
    except ShellError as e:
        raise df.error(str(e), ins.location) from None
    if not base:
        raise df.error(f"base name ({ins.base_name}) should not be blank", ins.location)
    platform = None
    if ins.platform:
        try:
            text = lex.process_word(ins.platform, global_args)
        except ShellError as e:
            raise df.error(f"failed to process arguments for platform: {e}", ins.location) from None
        if not text:
            raise df.error(f"empty platform value from expression {ins.platform}", ins.location)
        try:
            platform = Platform.parse(text).normalized()
        except DockyardError as e:
            raise df.error(f"failed to parse platform {ins.platform}: {e}", ins.location) from None
    base_stage = by_name.get(base.lower())
    stage = Stage(
        index=sd.index,
        name=sd.name,
        base_name=base,
        base_stage=base_stage,
        platform=platform,
        instructions=sd.instructions,
        location=ins.location,
    )
    if base_stage is not None:
        stage.deps.add(base_stage)
    return stage
