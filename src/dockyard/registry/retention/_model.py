"""A retention policy as Harbor writes one (``RetentionPolicy``): rules, each a template with
its parameter, tag selectors and repository selectors; a trigger (a 6-field cron schedule, or
none); a scope (one project). Parsed from and written back to Harbor's JSON unchanged in
meaning; what Harbor refuses is refused here with the same words."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from dockyard.errors import InvalidArgument
from dockyard.registry.jobs import valid_cron
from dockyard.registry.retention._match import check_pattern

__all__ = [
    "ALWAYS",
    "LATEST_ACTIVE_K",
    "LATEST_PULLED_N",
    "LATEST_PUSHED_K",
    "MAX_RULES",
    "METADATA",
    "N_DAYS_SINCE_LAST_PULL",
    "N_DAYS_SINCE_LAST_PUSH",
    "TEMPLATES",
    "Policy",
    "Rule",
    "Selector",
    "parse_policy",
    "policy_json",
]

LATEST_PUSHED_K: Final = "latestPushedK"
LATEST_PULLED_N: Final = "latestPulledN"
LATEST_ACTIVE_K: Final = "latestActiveK"
N_DAYS_SINCE_LAST_PUSH: Final = "nDaysSinceLastPush"
N_DAYS_SINCE_LAST_PULL: Final = "nDaysSinceLastPull"
LAST_X_DAYS: Final = "lastXDays"
ALWAYS: Final = "always"

#: template → (unit, upper bound of its parameter); ``always`` takes none.
TEMPLATES: Final[dict[str, tuple[str, int] | None]] = {
    LATEST_PUSHED_K: ("COUNT", 32767),
    LATEST_PULLED_N: ("COUNT", 32767),
    LATEST_ACTIVE_K: ("COUNT", 32767),
    N_DAYS_SINCE_LAST_PUSH: ("DAYS", 20190904),
    N_DAYS_SINCE_LAST_PULL: ("DAYS", 20190904),
    LAST_X_DAYS: ("DAYS", 20190904),
    ALWAYS: None,
}
#: Harbor allows at most this many rules in one policy.
MAX_RULES: Final = 15

_TAG_DECORATIONS = ("matches", "excludes")
_REPO_DECORATIONS = ("repoMatches", "repoExcludes")
_LABEL_DECORATIONS = ("withLabels", "withoutLabels")


def _template(rule_template: str, text: str, unit: str | None) -> dict[str, Any]:
    params = [] if unit is None else [{"type": "int", "unit": unit, "required": True}]
    return {"rule_template": rule_template, "display_text": text, "action": "retain",
            "params": params}  # fmt: skip


#: ``GET /retentions/metadatas``: what Harbor lists, in Harbor's words.
METADATA: Final[dict[str, Any]] = {
    "templates": [
        _template(LATEST_PUSHED_K, "the most recently pushed # artifacts", "COUNT"),
        _template(LATEST_PULLED_N, "the most recently pulled # artifacts", "COUNT"),
        _template(N_DAYS_SINCE_LAST_PUSH, "pushed within the last # days", "DAYS"),
        _template(N_DAYS_SINCE_LAST_PULL, "pulled within the last # days", "DAYS"),
        _template(ALWAYS, "always", None),
    ],
    "scope_selectors": [
        {"display_text": "Repositories", "kind": "doublestar",
         "decorations": list(_REPO_DECORATIONS)},
    ],
    "tag_selectors": [
        {"display_text": "Tags", "kind": "doublestar", "decorations": list(_TAG_DECORATIONS)},
    ],
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Selector:
    """``kind`` doublestar (``matches``/``excludes`` a tag, ``repoMatches``/``repoExcludes``
    a repository) or label (``withLabels``/``withoutLabels``, ``pattern`` a comma list).
    ``extras`` is Harbor's JSON text, e.g. ``{"untagged":true}``."""

    kind: str
    decoration: str
    pattern: str
    extras: str = ""

    @property
    def untagged(self) -> bool:
        """Whether untagged artifacts are selected by this tag selector (Harbor's default:
        yes for ``matches``, no for ``excludes``; ``extras`` decides when it says)."""
        if self.extras:
            try:
                value = json.loads(self.extras)
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict) and isinstance(value.get("untagged"), bool):
                return bool(value["untagged"])
        return self.decoration != "excludes"


@dataclass(frozen=True, slots=True)
class Rule:
    template: str
    #: the template's count or days (None for ``always``)
    value: int | None = None
    tag_selectors: tuple[Selector, ...] = ()
    #: repository selectors (Harbor's ``scope_selectors["repository"]``)
    repo_selectors: tuple[Selector, ...] = ()
    priority: int = 0
    disabled: bool = False
    action: str = "retain"
    id: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    project_id: int
    rules: tuple[Rule, ...] = ()
    #: the trigger's cron (Harbor's 6 fields); empty: manual runs only
    cron: str = ""
    algorithm: str = "or"

    @property
    def reads_labels(self) -> bool:
        """Whether an enabled rule selects by label (the candidates' labels must be read)."""
        return any(s.kind == "label" for r in self.rules if not r.disabled for s in r.tag_selectors)

    trigger_kind: str = "Schedule"
    id: int = 0
    references: Mapping[str, Any] = field(default_factory=dict)


def _obj(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{what} must be a JSON object")
    return value


def _str(value: object, what: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string")
    return value


def _selector(raw: object, what: str, decorations: tuple[str, ...]) -> Selector:
    d = _obj(raw, what)
    kind = _str(d.get("kind"), f"{what}.kind", "doublestar")
    decoration = _str(d.get("decoration"), f"{what}.decoration")
    pattern = _str(d.get("pattern"), f"{what}.pattern")
    allowed = _LABEL_DECORATIONS if kind == "label" else decorations
    if kind not in ("doublestar", "label"):
        raise InvalidArgument(f"{what}: selector kind {kind[:32]!r} is not supported",
                              hint="use doublestar (or label for tag selectors)")  # fmt: skip
    if decoration not in allowed:
        raise InvalidArgument(
            f"{what}: decoration {decoration[:32]!r} is not one of {', '.join(allowed)}"
        )
    if kind == "doublestar":
        check_pattern(pattern)
    return Selector(kind, decoration, pattern, _str(d.get("extras"), f"{what}.extras"))


def _value(template: str, params: dict[str, Any], n: int) -> int | None:
    spec = TEMPLATES[template]
    if spec is None:
        return None
    raw = params.get(template)
    if raw is None:
        raise InvalidArgument(f"missing required parameter {template} for rule {template}",
                              hint=f'rule {n}: "params": {{"{template}": 10}}')  # fmt: skip
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidArgument(f"{template} type error")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{template} type error") from None
    if value < 0:
        raise InvalidArgument(f"{template} is less than zero")
    if value >= spec[1]:
        raise InvalidArgument(f"{template} is too large")
    return value


def _rule(raw: object, n: int) -> Rule:
    d = _obj(raw, f"rule {n}")
    template = _str(d.get("template"), f"rule {n}.template")
    if template not in TEMPLATES:
        raise InvalidArgument(
            f"rule evaluator {template[:64]!r} is not registered",
            hint=f"use one of {', '.join(TEMPLATES)} (GET /api/v2.0/retentions/metadatas)",
        )
    action = _str(d.get("action"), f"rule {n}.action", "retain")
    if action != "retain":
        raise InvalidArgument(f"rule {n}: action {action[:32]!r} is not supported; use retain")
    tags_raw = d.get("tag_selectors") or []
    scopes = _obj(d.get("scope_selectors"), f"rule {n}.scope_selectors")
    repos_raw = scopes.get("repository") or []
    if not isinstance(tags_raw, list) or not isinstance(repos_raw, list):
        raise InvalidArgument(f"rule {n}: selectors must be JSON arrays")
    unknown = set(scopes) - {"repository"}
    if unknown:
        raise InvalidArgument(f"rule {n}: scope selectors of {sorted(unknown)} are not "
                              "supported; use repository")  # fmt: skip
    disabled = d.get("disabled", False)
    priority = d.get("priority", 0)
    if not isinstance(disabled, bool) or not isinstance(priority, int):
        raise InvalidArgument(f"rule {n}: disabled must be a boolean, priority an integer")
    rid = d.get("id", 0)
    return Rule(
        template=template,
        value=_value(template, _obj(d.get("params"), f"rule {n}.params"), n),
        tag_selectors=tuple(
            _selector(s, f"rule {n} tag selector", _TAG_DECORATIONS) for s in tags_raw
        ),
        repo_selectors=tuple(
            _selector(s, f"rule {n} repository selector", _REPO_DECORATIONS) for s in repos_raw
        ),
        priority=priority,
        disabled=disabled,
        action=action,
        id=rid if isinstance(rid, int) else 0,
    )


def _check_cron(cron: str) -> None:
    if not valid_cron(cron):
        raise InvalidArgument(
            f"the schedule {cron[:64]!r} is not a 6-field cron",
            hint='seconds minutes hours day month weekday, e.g. "0 0 0 * * *" (daily)',
        )


def parse_policy(body: Mapping[str, Any], *, policy_id: int = 0) -> Policy:
    """The policy in Harbor's JSON ``body``; InvalidArgument saying what is wrong."""
    algorithm = _str(body.get("algorithm"), "algorithm", "or")
    if algorithm != "or":
        raise InvalidArgument(f"algorithm {algorithm[:32]!r} is not supported; use or")
    rules_raw = body.get("rules") or []
    if not isinstance(rules_raw, list):
        raise InvalidArgument("rules must be a JSON array")
    if len(rules_raw) > MAX_RULES:
        raise InvalidArgument(f"only {MAX_RULES} rules are allowed at most")
    rules = tuple(_rule(r, n) for n, r in enumerate(rules_raw))
    seen: dict[Rule, int] = {}
    for n, rule in enumerate(rules):
        key = Rule(**{**_fields(rule), "id": 0})
        if key in seen:
            raise InvalidArgument(f"rule {n} is conflict with rule {seen[key]}")
        seen[key] = n
    trigger = _obj(body.get("trigger"), "trigger")
    settings = _obj(trigger.get("settings"), "trigger.settings")
    cron = _str(settings.get("cron"), "trigger.settings.cron").strip()
    if cron:
        _check_cron(cron)
    scope = _obj(body.get("scope"), "scope")
    level = _str(scope.get("level"), "scope.level", "project")
    if level != "project":
        raise InvalidArgument(f"scope {level[:32]} is not support", hint='use "project"')
    ref = scope.get("ref")
    if not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0:
        raise InvalidArgument(f"invalid Project id {ref}", hint='"scope": {"level": "project", '
                              '"ref": <the project id>}')  # fmt: skip
    return Policy(
        project_id=ref,
        rules=rules,
        cron=cron,
        algorithm=algorithm,
        trigger_kind=_str(trigger.get("kind"), "trigger.kind", "Schedule") or "Schedule",
        id=policy_id,
        references=_obj(trigger.get("references"), "trigger.references"),
    )


def _fields(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in Rule.__slots__}


def _selector_json(s: Selector) -> dict[str, str]:
    return {"kind": s.kind, "decoration": s.decoration, "pattern": s.pattern,
            "extras": s.extras}  # fmt: skip


def policy_json(policy: Policy) -> dict[str, Any]:
    """Harbor's ``RetentionPolicy`` for ``policy``."""
    return {
        "id": policy.id,
        "algorithm": policy.algorithm,
        "rules": [
            {
                "id": n,
                "priority": r.priority,
                "disabled": r.disabled,
                "action": r.action,
                "template": r.template,
                "params": {} if r.value is None else {r.template: r.value},
                "tag_selectors": [_selector_json(s) for s in r.tag_selectors],
                "scope_selectors": {"repository": [_selector_json(s) for s in r.repo_selectors]},
            }
            for n, r in enumerate(policy.rules)
        ],
        "trigger": {
            "kind": policy.trigger_kind,
            "settings": {"cron": policy.cron},
            "references": dict(policy.references),
        },
        "scope": {"level": "project", "ref": policy.project_id},
    }
