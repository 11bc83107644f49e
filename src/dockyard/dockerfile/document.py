"""A whole Dockerfile: directives, global ARGs, and stages of instructions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from dockyard.dockerfile._convert import convert
from dockyard.dockerfile.errors import DockerfileError
from dockyard.dockerfile.instructions import Instruction, Location
from dockyard.dockerfile.parser import Directives, Node, parse
from dockyard.dockerfile.shell import ShellError

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.arg import ArgInstruction
    from dockyard.dockerfile.instructions.from_ import FromInstruction

__all__ = ["Dockerfile", "StageDef", "parse_dockerfile"]


@dataclass
class StageDef:
    """One ``FROM`` and the instructions after it, as written."""

    index: int
    from_: FromInstruction
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.from_.stage_name


@dataclass
class Dockerfile:
    name: str
    source: str
    directives: Directives
    meta_args: list[ArgInstruction]
    stages: list[StageDef]
    warnings: list[str]
    nodes: list[Node]

    def error(self, message: str, location: Location | None = None) -> DockerfileError:
        """An error pointing at ``location`` in this file."""
        loc = location or Location(self.name)
        return DockerfileError(
            message,
            file=self.name,
            start_line=loc.start_line,
            end_line=loc.end_line,
            source=self.source,
        )

    def stage(self, name: str) -> StageDef | None:
        for st in self.stages:
            if st.name and st.name == name.lower():
                return st
        return None


def parse_dockerfile(source: str | bytes, name: str = "Dockerfile") -> Dockerfile:
    """Parse and check a Dockerfile; every error is a :class:`DockerfileError` with its line."""
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    if not text.strip():
        raise DockerfileError("the Dockerfile cannot be empty", file=name)
    result = parse(text, name)
    df = Dockerfile(
        name=name,
        source=result.source,
        directives=result.directives,
        meta_args=[],
        stages=[],
        warnings=result.warnings,
        nodes=result.nodes,
    )
    for node in result.nodes:
        loc = Location(name, node.start_line, node.end_line)
        try:
            ins = convert(node, name)
        except (ValueError, ShellError) as e:
            raise df.error(f"dockerfile parse error on line {node.start_line}: {e}", loc) from None
        if ins.name == "FROM":
            df.stages.append(StageDef(len(df.stages), cast("FromInstruction", ins)))
        elif not df.stages:
            if ins.name == "ARG":
                df.meta_args.append(cast("ArgInstruction", ins))
            else:
                raise df.error(
                    f"dockerfile parse error on line {node.start_line}: "
                    "no build stage in current context",
                    loc,
                )
        else:
            df.stages[-1].instructions.append(ins)
    if not df.stages:
        raise df.error("dockerfile contains no stages to build")
    return df
