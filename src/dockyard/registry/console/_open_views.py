"""The console of an open registry (no auth: everyone may do everything, as its API allows
everyone): no sign-in, no projects of the access model. Its home lists every repository and
says how to push and pull; a namespace (``team`` of ``team/app``) lists its repositories.
Repositories without a namespace are the API's project ``_``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dockyard.registry.console._html import NO_PROJECT, e, href, page, table

__all__ = ["namespace_page", "open_home_page", "repository_link"]


def repository_link(name: str) -> str:
    """The console's page of repository ``name`` (``team/app``, or ``busybox``)."""
    project, sep, rest = name.partition("/")
    if not sep:
        project, rest = NO_PROJECT, name
    return href(f"/projects/{project}/repository", name=rest)


def _rows(repositories: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            f'<a href="{repository_link(str(r.get("name", "")))}">{e(r.get("name", ""))}</a>',
            e(r.get("artifact_count", 0)),
            e(r.get("pull_count", 0)),
            e(r.get("update_time", "")),
        ]
        for r in repositories
    ]


_HEADERS = ["Name", "Artifacts", "Pulls", "Updated"]


def open_home_page(
    repositories: Sequence[dict[str, Any]], *, about: str, push_help: str, pager: str, csrf: str
) -> bytes:
    """``about``, ``push_help``: the registry's own home page text (HTML, escaped already)."""
    body = (
        about
        + "<p>This registry is open: nobody signs in, and everyone may read, push and delete, "
        "here as through its API. For projects, users and permissions serve it with "
        "<code>REGISTRY_AUTH=projects</code> (from a dockyard checkout: "
        "<code>make serve AUTH=projects</code>).</p>"
        + table("Repositories", _HEADERS, _rows(repositories))
        + pager
        + f'<div class="card" id="push-help">{push_help}</div>'
    )
    return page("Repositories", body, user="", csrf=csrf)


def namespace_page(
    namespace: str, repositories: Sequence[dict[str, Any]], *, pager: str, csrf: str
) -> bytes:
    body = (
        '<p><a href="/">Back to all repositories</a></p>'
        + table(f"Repositories in {namespace}", _HEADERS, _rows(repositories))
        + pager
    )
    return page(f"Repositories in {namespace}", body, user="", csrf=csrf)
