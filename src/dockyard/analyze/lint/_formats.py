"""Lint reports: hadolint's tty and JSON shapes, Checkstyle XML and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

from dockyard import __version__
from dockyard.analyze.lint._lint import ALL_RULES
from dockyard.analyze.lint._model import Finding

__all__ = ["FORMATS", "render"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note", "style": "note"}


def _tty(findings: list[Finding]) -> str:
    return "\n".join(f"{f.file}:{f.line} {f.code} {f.severity}: {f.message}" for f in findings)


def _json(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings])


def _checkstyle(findings: list[Finding]) -> str:
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    out = ["<?xml version='1.0' encoding='UTF-8'?>", "<checkstyle version='4.3'>"]
    for name, items in by_file.items():
        out.append(f"<file name={quoteattr(name)}>")
        for f in items:
            out.append(
                f"<error line='{f.line}' column='{f.column}' severity={quoteattr(f.severity)} "
                f"message={quoteattr(f.message)} source={quoteattr(f.code)}/>"
            )
        out.append("</file>")
    out.append("</checkstyle>")
    return "\n".join(out)


def sarif_log(findings: list[Finding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: the rules that fired and one result per finding."""
    codes = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = ALL_RULES[code]
        entry: dict[str, Any] = {
            "id": code,
            "shortDescription": {"text": rule.message},
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(rule.severity, "note")},
        }
        if rule.help_url:
            entry["helpUri"] = rule.help_url
        rules.append(entry)
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVEL.get(f.severity, "note"),
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line or f.line,
                        },
                    }
                }
            ],
        }
        for f in findings
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dockyard-lint",
                        "version": __version__,
                        "informationUri": "https://github.com/hadolint/hadolint",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif(findings: list[Finding]) -> str:
    return json.dumps(sarif_log(findings), indent=2)


FORMATS = {"tty": _tty, "json": _json, "sarif": _sarif, "checkstyle": _checkstyle}


def render(findings: list[Finding], fmt: str) -> str:
    return FORMATS[fmt](findings)
