"""Harbor's ``ImmutableRule``: which tags of which repositories of a project may never move
or be deleted once pushed, read from and written as Harbor's JSON.

A rule has one repository selector (``scope_selectors["repository"][0]``: ``repoMatches`` or
``repoExcludes`` a doublestar pattern over the repository's name inside its project, ``app``
for ``team/app``) and one tag selector (``tag_selectors[0]``: ``matches`` or ``excludes``);
a tag is protected when an enabled rule's two selectors both select it (as Harbor's matcher
reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry.immutability._doublestar import BadPattern, compile_pattern

__all__ = [
    "ACTION",
    "TEMPLATE",
    "ImmutableRule",
    "InvalidRule",
    "Selector",
    "protecting_rule",
    "rule_from_json",
]


class InvalidRule(InvalidArgument):
    """A rule the API cannot store (400 BAD_REQUEST)."""


ACTION = "immutable"
TEMPLATE = "immutable_template"
KIND = "doublestar"
TAG_DECORATIONS = ("matches", "excludes")
REPOSITORY_DECORATIONS = ("repoMatches", "repoExcludes")
#: Longest pattern accepted (characters).
MAX_PATTERN = 1024


@dataclass(frozen=True, slots=True)
class Selector:
    decoration: str
    pattern: str
    kind: str = KIND

    def selects(self, value: str) -> bool:
        matched = compile_pattern(self.pattern).fullmatch(value) is not None
        return not matched if self.decoration in ("excludes", "repoExcludes") else matched

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "decoration": self.decoration, "pattern": self.pattern}

    def describe(self) -> str:
        verb = "not matching" if self.decoration in ("excludes", "repoExcludes") else "matching"
        return f"{verb} {self.pattern!r}"


@dataclass(frozen=True, slots=True)
class ImmutableRule:
    """One rule of a project (``id`` 0 before it is stored)."""

    repository: Selector
    tag: Selector
    id: int = 0
    project_id: int = 0
    priority: int = 0
    disabled: bool = False

    def protects(self, repository: str, tag: str) -> bool:
        """Whether this rule (enabled or not) selects ``tag`` of ``repository`` (its name
        inside the project)."""
        return self.repository.selects(repository) and self.tag.selects(tag)

    def filter_json(self) -> dict[str, Any]:
        """What identifies the rule in its project (two rules never share it)."""
        return {
            "tag_selectors": [self.tag.json()],
            "scope_selectors": {"repository": [self.repository.json()]},
        }

    def json(self) -> dict[str, Any]:
        """Harbor's ``ImmutableRule``."""
        return {
            "id": self.id,
            "priority": self.priority,
            "disabled": self.disabled,
            "action": ACTION,
            "template": TEMPLATE,
            **self.filter_json(),
        }

    def describe(self) -> str:
        return (
            f"immutable tag rule {self.id} (repositories {self.repository.describe()}, "
            f"tags {self.tag.describe()})"
        )


def protecting_rule(
    rules: Iterable[ImmutableRule], repository: str, tag: str
) -> ImmutableRule | None:
    """The first enabled rule that protects ``tag`` of ``repository`` (its name inside the
    project), or None."""
    for rule in rules:
        if not rule.disabled and rule.protects(repository, tag):
            return rule
    return None


def _selector(raw: object, where: str, decorations: tuple[str, ...]) -> Selector:
    if not isinstance(raw, Mapping):
        raise InvalidRule(f"{where} must be an object with kind, decoration and pattern")
    kind = raw.get("kind", KIND)
    if kind != KIND:
        raise InvalidRule(f"{where}.kind must be {KIND!r}, not {kind!r}")
    decoration = raw.get("decoration")
    if decoration not in decorations:
        raise InvalidRule(
            f"{where}.decoration must be one of {', '.join(decorations)}, not {decoration!r}"
        )
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidRule(f"{where}.pattern is required (a doublestar pattern such as '**')")
    if len(pattern) > MAX_PATTERN:
        raise InvalidRule(f"{where}.pattern is longer than {MAX_PATTERN} characters")
    try:
        compile_pattern(pattern)
    except BadPattern as exc:
        raise InvalidRule(f"{where}.pattern: {exc.message}", hint=exc.hint) from None
    return Selector(str(decoration), pattern)


def _one(raw: object, where: str) -> object:
    if not isinstance(raw, list) or len(raw) != 1:
        raise InvalidRule(f"{where} must be a list of exactly one selector")
    return raw[0]


def rule_from_json(
    body: Mapping[str, Any], *, rule_id: int = 0, project_id: int = 0
) -> ImmutableRule:
    """A rule from Harbor's ``ImmutableRule`` JSON; InvalidRule saying what is wrong."""
    action = body.get("action") or ACTION
    if action != ACTION:
        raise InvalidRule(f"action must be {ACTION!r}, not {action!r}")
    template = body.get("template") or TEMPLATE
    if template != TEMPLATE:
        raise InvalidRule(f"template must be {TEMPLATE!r}, not {template!r}")
    priority = body.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority < 2**31:
        raise InvalidRule("priority must be a non-negative integer")
    disabled = body.get("disabled", False)
    if disabled is None:
        disabled = False
    if not isinstance(disabled, bool):
        raise InvalidRule("disabled must be true or false")
    tag = _selector(_one(body.get("tag_selectors"), "tag_selectors"), "tag_selectors[0]",
                    TAG_DECORATIONS)  # fmt: skip
    scopes = body.get("scope_selectors")
    if not isinstance(scopes, Mapping) or set(scopes) != {"repository"}:
        raise InvalidRule(
            'scope_selectors must be {"repository": [one selector]}',
            hint='e.g. {"repository": [{"kind": "doublestar", "decoration": "repoMatches", '
            '"pattern": "**"}]}',
        )
    repository = _selector(
        _one(scopes["repository"], "scope_selectors.repository"),
        "scope_selectors.repository[0]",
        REPOSITORY_DECORATIONS,
    )
    return ImmutableRule(
        repository, tag, id=rule_id, project_id=project_id, priority=priority, disabled=disabled
    )
