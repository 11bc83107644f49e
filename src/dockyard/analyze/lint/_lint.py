"""Lint a Dockerfile: parse it with the builder's parser, run every rule, honour hadolint's
inline pragmas, ``.hadolint.yaml`` and BuildKit's ``# check=`` directive."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dockyard.analyze.lint._buildkit import (
    BUILDKIT_RULES,
    DOCKYARD_RULES,
    buildkit_findings,
    dockyard_findings,
)
from dockyard.analyze.lint._hadolint import HADOLINT_RULES, hadolint_findings
from dockyard.analyze.lint._model import SEVERITIES, Finding, Instr, Rule, severity_rank
from dockyard.dockerfile.errors import DockerfileError
from dockyard.dockerfile.parser import parse
from dockyard.errors import InvalidArgument

__all__ = ["ALL_RULES", "LintConfig", "lint_file", "lint_source", "load_config"]

ALL_RULES: dict[str, Rule] = {**HADOLINT_RULES, **BUILDKIT_RULES, **DOCKYARD_RULES}
PARSE_ERROR = Rule("DL1000", "error", "Dockerfile parse error")
ALL_RULES[PARSE_ERROR.code] = PARSE_ERROR

_IGNORE = re.compile(r"^\s*#\s*hadolint\s+(global\s+)?ignore=([A-Za-z0-9_,\s]+?)\s*$")
_THRESHOLDS = (*SEVERITIES, "none")


@dataclass
class LintConfig:
    """``.hadolint.yaml``'s settings that dockyard understands, plus the command line's."""

    ignored: set[str] = field(default_factory=set)
    overrides: dict[str, str] = field(default_factory=dict)  # rule → severity ("ignore": off)
    failure_threshold: str = "info"
    no_fail: bool = False

    def severity(self, code: str) -> str:
        return self.overrides.get(code, ALL_RULES[code].severity)


def load_config(path: Path, base: LintConfig | None = None) -> LintConfig:
    """hadolint's YAML config: ``ignored``, ``override``, ``failure-threshold``, ``no-fail``."""
    config = base or LintConfig()
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InvalidArgument(f"cannot read lint config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"lint config {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"lint config {path} must be a mapping (ignored:, override:, …)")
    for code in data.get("ignored") or []:
        config.ignored.add(str(code))
    override = data.get("override") or {}
    if not isinstance(override, dict):
        raise InvalidArgument(f"lint config {path}: 'override' maps a severity to rule IDs")
    for severity, codes in override.items():
        if severity not in (*SEVERITIES, "ignore"):
            raise InvalidArgument(
                f"lint config {path}: unknown severity {severity!r} in override; "
                f"use one of {', '.join((*SEVERITIES, 'ignore'))}"
            )
        for code in codes or []:
            config.overrides[str(code)] = severity
    threshold = data.get("failure-threshold")
    if threshold is not None:
        if threshold not in _THRESHOLDS:
            raise InvalidArgument(
                f"lint config {path}: failure-threshold must be one of {', '.join(_THRESHOLDS)}"
            )
        config.failure_threshold = threshold
    if data.get("no-fail"):
        config.no_fail = True
    return config


def _pragmas(source: str) -> tuple[dict[int, set[str]], set[str]]:
    per_line: dict[int, set[str]] = {}
    everywhere: set[str] = set()
    for number, text in enumerate(source.splitlines(), start=1):
        match = _IGNORE.match(text)
        if not match:
            continue
        codes = {c.strip() for c in match.group(2).split(",") if c.strip()}
        if match.group(1):
            everywhere |= codes
        else:
            per_line.setdefault(number + 1, set()).update(codes)
    return per_line, everywhere


def _check_directive(value: str | None) -> set[str]:
    """BuildKit's ``# check=skip=A,B;error=true``: the build checks to skip."""
    skipped: set[str] = set()
    for part in (value or "").split(";"):
        key, _, rest = part.strip().partition("=")
        if key == "skip":
            items = {s.strip() for s in rest.split(",") if s.strip()}
            skipped |= set(BUILDKIT_RULES) if "all" in items else items
    return skipped


def lint_source(
    source: str,
    name: str = "Dockerfile",
    config: LintConfig | None = None,
    has_dockerignore: bool | None = None,
) -> list[Finding]:
    """Every finding for one Dockerfile's text, sorted by line; ignored rules left out."""
    config = config or LintConfig()
    try:
        result = parse(source, name)
    except DockerfileError as exc:
        return [Finding(name, exc.start_line or 1, "DL1000", "error", str(exc))]
    instrs: list[Instr] = []
    meta_args: set[str] = set()
    stage = -1
    for node in result.nodes:
        if node.keyword == "from":
            stage += 1
        elif stage < 0 and node.keyword == "arg":
            meta_args |= {a.split("=", 1)[0] for a in node.args}
        instrs.append(Instr(node, max(stage, 0)))
    raw: list[tuple[int, str]] = hadolint_findings(instrs)
    raw += list(buildkit_findings(instrs, meta_args))
    raw += list(dockyard_findings(instrs, has_dockerignore))
    per_line, everywhere = _pragmas(result.source)
    skipped = _check_directive(result.directives.check)
    findings: set[Finding] = set()
    for line, code in raw:
        severity = config.severity(code)
        if (
            severity == "ignore"
            or code in config.ignored
            or code in everywhere
            or code in per_line.get(line, ())
            or code in skipped
        ):
            continue
        findings.add(Finding(name, line, code, severity, ALL_RULES[code].message))
    return sorted(findings, key=lambda f: (f.line, f.code))


def lint_file(
    path: Path, config: LintConfig | None = None, name: str | None = None
) -> list[Finding]:
    """Lint the Dockerfile at ``path`` (a missing .dockerignore beside it is a finding)."""
    try:
        source = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InvalidArgument(f"cannot read Dockerfile {path}: {exc.strerror}") from None
    ignore = path.parent / ".dockerignore"
    own_ignore = path.parent / f"{path.name}.dockerignore"
    return lint_source(source, name or str(path), config, ignore.exists() or own_ignore.exists())


def fails(findings: list[Finding], threshold: str) -> bool:
    """Whether any finding is at least as severe as ``threshold`` ("none": any finding, as in
    hadolint; ``no-fail`` is the way never to fail)."""
    return any(severity_rank(f.severity) <= severity_rank(threshold) for f in findings)
