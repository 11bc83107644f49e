"""Dockerfile linting on the builder's parser: hadolint's rules (same IDs and meaning),
BuildKit's build checks, and dockyard's image-size rules."""

from dockyard.analyze.lint._formats import FORMATS, render, sarif_log
from dockyard.analyze.lint._lint import (
    ALL_RULES,
    LintConfig,
    fails,
    lint_file,
    lint_source,
    load_config,
)
from dockyard.analyze.lint._model import SEVERITIES, Finding, Rule
from dockyard.analyze.lint._shell import Command, Script, parse_script

__all__ = [
    "ALL_RULES",
    "FORMATS",
    "SEVERITIES",
    "Command",
    "Finding",
    "LintConfig",
    "Rule",
    "Script",
    "fails",
    "lint_file",
    "lint_source",
    "load_config",
    "parse_script",
    "render",
    "sarif_log",
]
