"""Immutable tag rules (Harbor's ``/projects/{project}/immutabletagrules``): list, add, change,
remove."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.harbor._client import HarborClient
from dockyard.client.harbor._http import segment
from dockyard.errors import NotFound, Unavailable

__all__ = [
    "ImmutableTagRule",
    "add_immutable_rule",
    "immutable_rule_json",
    "list_immutable_rules",
    "remove_immutable_rule",
    "set_immutable_rule_disabled",
]

_BY_NAME = {"X-Is-Resource-Name": "true"}
_PAGE = 100


@dataclass(frozen=True, slots=True)
class ImmutableTagRule:
    """Harbor's ``ImmutableRule`` (its field names, for ``--format json``)."""

    id: int
    disabled: bool
    priority: int = 0
    action: str = "immutable"
    template: str = "immutable_template"
    tag_selectors: list[dict[str, Any]] = field(default_factory=list)
    scope_selectors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ImmutableTagRule:
        tags = obj.get("tag_selectors")
        scopes = obj.get("scope_selectors")
        return cls(
            id=int(obj.get("id") or 0),
            disabled=bool(obj.get("disabled")),
            priority=int(obj.get("priority") or 0),
            action=str(obj.get("action") or "immutable"),
            template=str(obj.get("template") or "immutable_template"),
            tag_selectors=[dict(s) for s in tags if isinstance(s, Mapping)]
            if isinstance(tags, list)
            else [],
            scope_selectors={
                str(k): [dict(s) for s in v if isinstance(s, Mapping)]
                for k, v in scopes.items()
                if isinstance(v, list)
            }
            if isinstance(scopes, Mapping)
            else {},
        )

    @staticmethod
    def _describe(selectors: list[dict[str, Any]]) -> str:
        if not selectors:
            return ""
        first = selectors[0]
        pattern = str(first.get("pattern", ""))
        return f"not {pattern}" if "xcludes" in str(first.get("decoration", "")) else pattern

    @property
    def tags(self) -> str:
        """``v*.*.*``, or ``not dev-*`` for an exclusion."""
        return self._describe(self.tag_selectors)

    @property
    def repositories(self) -> str:
        return self._describe(self.scope_selectors.get("repository", []))


def immutable_rule_json(
    tags: str,
    repositories: str = "**",
    *,
    exclude_tags: bool = False,
    exclude_repositories: bool = False,
    disabled: bool = False,
) -> dict[str, Any]:
    """The ``ImmutableRule`` body for tags matching (or, excluded, not matching) ``tags`` in
    repositories matching (or not) ``repositories``, doublestar patterns."""
    return {
        "action": "immutable",
        "template": "immutable_template",
        "priority": 0,
        "disabled": disabled,
        "tag_selectors": [
            {
                "kind": "doublestar",
                "decoration": "excludes" if exclude_tags else "matches",
                "pattern": tags,
            }
        ],
        "scope_selectors": {
            "repository": [
                {
                    "kind": "doublestar",
                    "decoration": "repoExcludes" if exclude_repositories else "repoMatches",
                    "pattern": repositories,
                }
            ]
        },
    }


def _path(project: str) -> str:
    return f"/projects/{segment(project)}/immutabletagrules"


def list_immutable_rules(client: HarborClient, project: str) -> list[ImmutableTagRule]:
    what = f"list the immutable tag rules of project {project}"
    items = client.api.pages(_path(project), what=what, page_size=_PAGE, headers=_BY_NAME)
    return [ImmutableTagRule.from_json(r) for r in items]


def _find(client: HarborClient, project: str, rule_id: int) -> ImmutableTagRule:
    for rule in list_immutable_rules(client, project):
        if rule.id == rule_id:
            return rule
    raise NotFound(
        f"project {project} has no immutable tag rule {rule_id}",
        hint=f"`dockyard project immutable ls {project}` lists its rules",
    )


def add_immutable_rule(
    client: HarborClient, project: str, body: Mapping[str, Any]
) -> ImmutableTagRule:
    """Create the rule; the rule as stored."""
    what = f"add an immutable tag rule to project {project}"
    resp = client.api.request(
        "POST", _path(project), what=what, body=dict(body), headers=_BY_NAME, ok=(201,)
    )
    rule_id = client.api.location_id(resp)
    if rule_id is None:
        raise Unavailable(f"{what}: the registry did not say the new rule's id (Location)")
    return _find(client, project, rule_id)


def set_immutable_rule_disabled(
    client: HarborClient, project: str, rule_id: int, disabled: bool
) -> ImmutableTagRule:
    rule = _find(client, project, rule_id)
    body = {**_rule_body(rule), "disabled": disabled}
    client.api.request(
        "PUT",
        f"{_path(project)}/{rule_id}",
        what=f"{'disable' if disabled else 'enable'} immutable tag rule {rule_id}",
        body=body,
        headers=_BY_NAME,
    )
    return _find(client, project, rule_id)


def remove_immutable_rule(client: HarborClient, project: str, rule_id: int) -> None:
    client.api.request(
        "DELETE",
        f"{_path(project)}/{rule_id}",
        what=f"remove immutable tag rule {rule_id} of project {project}",
        headers=_BY_NAME,
    )


def _rule_body(rule: ImmutableTagRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "priority": rule.priority,
        "disabled": rule.disabled,
        "action": rule.action,
        "template": rule.template,
        "tag_selectors": rule.tag_selectors,
        "scope_selectors": rule.scope_selectors,
    }
