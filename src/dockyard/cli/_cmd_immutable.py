"""``dockyard project immutable``: a project's immutable tag rules (Harbor's
``/projects/{project}/immutabletagrules``) — tags that, once pushed, never move nor go."""

from __future__ import annotations

import click

from dockyard.cli._cmd_project import project_group
from dockyard.cli._teams import Connector, api_options, emit_list, emit_one
from dockyard.client.harbor.immutable import (
    ImmutableTagRule,
    add_immutable_rule,
    immutable_rule_json,
    list_immutable_rules,
    remove_immutable_rule,
    set_immutable_rule_disabled,
)

_HEADERS = ["ID", "TAGS", "REPOSITORIES", "DISABLED"]


def _row(rule: ImmutableTagRule) -> list[str]:
    return [str(rule.id), rule.tags, rule.repositories, "true" if rule.disabled else "false"]


@project_group.group("immutable")
def immutable_group() -> None:
    """Immutable tag rules: protected tags never move to another image nor go.

    Patterns use Harbor's doublestar syntax: * (not /), ** (anything), ?, [a-z], {a,b}.
    A push that would move a protected tag, or a delete of one, is refused; pushing the
    same image again, or a new tag, is allowed.

    \b
    dockyard project immutable add team 'v*.*.*'
    """


@immutable_group.command("ls")
@click.argument("project")
@api_options
def ls_cmd(project: str, harbor: Connector, fmt: str) -> None:
    """List PROJECT's immutable tag rules."""
    emit_list(fmt, _HEADERS, list_immutable_rules(harbor(), project), _row)


@immutable_group.command("add")
@click.argument("project")
@click.argument("tags", metavar="TAG_PATTERN")
@click.option(
    "--repositories",
    metavar="PATTERN",
    default="**",
    show_default=True,
    help="Repositories (their names inside the project) the rule covers.",
)
@click.option("--exclude-tags", is_flag=True, help="Protect the tags NOT matching TAG_PATTERN.")
@click.option(
    "--exclude-repositories",
    is_flag=True,
    help="Cover the repositories NOT matching --repositories.",
)
@click.option("--disabled", is_flag=True, help="Add the rule switched off.")
@api_options
def add_cmd(
    project: str,
    tags: str,
    repositories: str,
    exclude_tags: bool,
    exclude_repositories: bool,
    disabled: bool,
    harbor: Connector,
    fmt: str,
) -> None:
    """Protect the tags matching TAG_PATTERN in PROJECT; prints the new rule's id.

    \b
    dockyard project immutable add team 'v*.*.*'
    dockyard project immutable add team 'dev-*' --exclude-tags --repositories 'web/**'
    """
    body = immutable_rule_json(
        tags,
        repositories,
        exclude_tags=exclude_tags,
        exclude_repositories=exclude_repositories,
        disabled=disabled,
    )
    rule = add_immutable_rule(harbor(), project, body)
    emit_one(fmt, rule, str(rule.id))


@immutable_group.command("rm")
@click.argument("project")
@click.argument("rule_id", type=int)
@api_options
def rm_cmd(project: str, rule_id: int, harbor: Connector, fmt: str) -> None:
    """Remove immutable tag rule RULE_ID of PROJECT."""
    remove_immutable_rule(harbor(), project, rule_id)
    emit_one(fmt, {"id": rule_id, "deleted": True}, str(rule_id))


@immutable_group.command("disable")
@click.argument("project")
@click.argument("rule_id", type=int)
@api_options
def disable_cmd(project: str, rule_id: int, harbor: Connector, fmt: str) -> None:
    """Switch rule RULE_ID off (its tags may move and go until it is enabled)."""
    rule = set_immutable_rule_disabled(harbor(), project, rule_id, True)
    emit_one(fmt, rule, str(rule.id))


@immutable_group.command("enable")
@click.argument("project")
@click.argument("rule_id", type=int)
@api_options
def enable_cmd(project: str, rule_id: int, harbor: Connector, fmt: str) -> None:
    """Switch rule RULE_ID on again."""
    rule = set_immutable_rule_disabled(harbor(), project, rule_id, False)
    emit_one(fmt, rule, str(rule.id))
