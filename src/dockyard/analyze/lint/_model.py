"""Findings, severities and the view of a Dockerfile the rules work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dockyard.analyze.lint._shell import Script, parse_script
from dockyard.dockerfile.parser import Node

__all__ = ["SEVERITIES", "Finding", "Instr", "Rule", "severity_rank"]

#: most to least severe, as hadolint orders them
SEVERITIES = ("error", "warning", "info", "style")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    message: str
    url: str = ""

    @property
    def help_url(self) -> str:
        if self.url:
            return self.url
        if self.code.startswith("DL"):
            return f"https://github.com/hadolint/hadolint/wiki/{self.code}"
        return ""


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    code: str
    severity: str
    message: str
    column: int = 1
    end_line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "column": self.column,
            "file": self.file,
            "level": self.severity,
            "line": self.line,
            "message": self.message,
        }


@dataclass
class Instr:
    """One instruction as the rules see it: the parser's node plus its stage."""

    node: Node
    stage: int
    comments_before: list[int] = field(default_factory=list)

    @property
    def keyword(self) -> str:
        return self.node.keyword

    @property
    def line(self) -> int:
        return self.node.start_line

    @cached_property
    def script(self) -> Script:
        """RUN's command as shell (exec form joined with spaces, heredoc bodies included)."""
        node = self.node
        text = " ".join(node.args)
        if node.heredocs:
            text = "\n".join(h.data for h in node.heredocs)
        return parse_script(text)
