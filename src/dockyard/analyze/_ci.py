"""dive's CI rules (``lowestEfficiency``, ``highestWastedBytes``, ``highestUserWastedPercent``),
their ``.dive-ci`` file, and go-humanize's byte sizes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from dockyard.analyze._analysis import Analysis
from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_RULES",
    "CiResult",
    "CiRules",
    "RuleResult",
    "evaluate",
    "load_ci_config",
    "parse_bytes",
]

_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mi": 1024**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "ti": 1024**4, "tib": 1024**4,
    "p": 1000**5, "pb": 1000**5, "pi": 1024**5, "pib": 1024**5,
    "e": 1000**6, "eb": 1000**6, "ei": 1024**6, "eib": 1024**6,
}  # fmt: skip

_KEYS = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")


def parse_bytes(text: str) -> int:
    """go-humanize ParseBytes: ``"20MB"`` = 20·10⁶, ``"20MiB"`` = 20·2²⁰, ``"1,024"``, ``"5 kb"``."""
    s = text.strip()
    last = 0
    while last < len(s) and (s[last].isdigit() or s[last] in ".,"):
        last += 1
    number = s[:last].replace(",", "")
    unit = s[last:].strip().lower()
    try:
        value = float(number)
    except ValueError:
        raise InvalidArgument(f"{text!r} is not a size: write bytes like 20MB or 5MiB") from None
    if unit not in _UNITS:
        raise InvalidArgument(
            f"unknown size unit {s[last:].strip()!r} in {text!r}: use kB, MB, MiB…"
        )
    result = value * _UNITS[unit]
    if result >= 2**64:
        raise InvalidArgument(f"{text!r} is too large")
    return int(result)


def _disabled(value: str) -> bool:
    return value.strip().lower() in ("", "disabled", "off", "false")


@dataclass(frozen=True)
class CiRules:
    """Rule settings as dive spells them: a number, or "disabled"/"off"/"false"/""."""

    lowest_efficiency: str = "0.9"
    highest_wasted_bytes: str = "disabled"
    highest_user_wasted_percent: str = "0.1"

    def merged(self, **overrides: str | None) -> CiRules:
        values = {k: v for k, v in overrides.items() if v is not None}
        return CiRules(**{**self.__dict__, **values})

    def check(self) -> None:
        """Raise InvalidArgument for a value dive would reject."""
        for key, value in self._pairs():
            if _disabled(value):
                continue
            if key == "highestWastedBytes":
                parse_bytes(value)
                continue
            try:
                number = float(value)
            except ValueError:
                raise InvalidArgument(f"invalid {key} value {value!r}: give a ratio 0-1") from None
            if not 0 <= number <= 1:
                raise InvalidArgument(
                    f"{key} value {value} is outside the allowed range (0-1): give a ratio"
                )

    def _pairs(self) -> list[tuple[str, str]]:
        return list(
            zip(
                _KEYS,
                (
                    self.lowest_efficiency,
                    self.highest_wasted_bytes,
                    self.highest_user_wasted_percent,
                ),
                strict=True,
            )
        )


DEFAULT_RULES = CiRules()


def load_ci_config(path: Path, base: CiRules = DEFAULT_RULES) -> CiRules:
    """Rules from a ``.dive-ci`` file (``rules: {lowestEfficiency: …, …}``) over ``base``."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidArgument(f"cannot read CI config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"CI config {path} is not valid YAML: {exc}") from None
    if data is None:
        return base
    rules = data.get("rules") if isinstance(data, dict) else None
    if rules is None:
        return base
    if not isinstance(rules, dict):
        raise InvalidArgument(f"CI config {path}: 'rules' must be a mapping of rule: value")
    values: dict[str, str | None] = {}
    for key, attr in zip(_KEYS, (f.name for f in fields(CiRules)), strict=True):
        if key in rules:
            raw = rules[key]
            values[attr] = "false" if raw is False else str(raw if raw is not None else "")
    unknown = set(rules) - set(_KEYS)
    if unknown:
        raise InvalidArgument(
            f"CI config {path}: unknown rule(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(_KEYS)}"
        )
    return base.merged(**values)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    status: str  # "PASS", "FAIL", "SKIP"
    message: str


@dataclass(frozen=True)
class CiResult:
    results: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.status != "FAIL" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "pass": self.passed,
            "rules": [
                {"rule": r.rule, "status": r.status, "message": r.message} for r in self.results
            ],
        }


def _go(value: float) -> str:
    """A float as Go's ``%v`` prints it (shortest form, no trailing ``.0``)."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def evaluate(analysis: Analysis, rules: CiRules) -> CiResult:
    """dive's verdicts, in its order and with its messages."""
    rules.check()
    out: list[RuleResult] = []
    for key, value in sorted(rules._pairs()):
        if _disabled(value):
            out.append(RuleResult(key, "SKIP", "rule disabled"))
            continue
        failed = False
        message = ""
        if key == "lowestEfficiency":
            threshold = float(value)
            if threshold > analysis.efficiency:
                failed = True
                message = (
                    f"image efficiency is too low (efficiency={_go(analysis.efficiency)} < "
                    f"threshold={_go(threshold)})"
                )
        elif key == "highestWastedBytes":
            limit = parse_bytes(value)
            if analysis.wasted_bytes > limit:
                failed = True
                message = (
                    f"too many bytes wasted (wasted-bytes={analysis.wasted_bytes} > "
                    f"threshold={limit})"
                )
        else:
            threshold = float(value)
            percent = analysis.user_wasted_percent
            if percent > threshold:
                failed = True
                message = (
                    "too many bytes wasted, relative to the user bytes added "
                    f"(%-user-wasted-bytes={_go(percent)} > threshold={_go(threshold)})"
                )
        out.append(RuleResult(key, "FAIL" if failed else "PASS", message if failed else ""))
    return CiResult(out)
