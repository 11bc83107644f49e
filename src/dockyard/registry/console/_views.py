"""The console's pages, rendered from what the API answered (JSON as Harbor shapes it).
Every value is escaped; nothing here fetches anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.registry.console._badges import Badges
from dockyard.registry.console._html import e, href, page, repo_name, table
from dockyard.registry.console._paging import Paging, pager, paging

__all__ = [
    "Findings",
    "Layer",
    "artifact_page",
    "audit_page",
    "copy_field",
    "error_page",
    "login_page",
    "project_page",
    "projects_page",
    "repository_page",
]

ROLES = ((3, "Guest"), (5, "Limited guest"), (2, "Developer"), (4, "Maintainer"),
         (1, "Project admin"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    size: int
    command: str


def size_text(size: object) -> str:
    if not isinstance(size, int):
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def _message(error: str | None) -> str:
    return f'<p class="error" role="alert">{e(error)}</p>' if error else ""


def login_page(token: str, error: str | None = None) -> bytes:
    body = (
        f"{_message(error)}"
        '<form class="card" method="post" action="/login">'
        f"{_csrf(token)}"
        '<label for="username">User name</label>'
        '<input id="username" name="username" autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password"'
        " required>"
        '<p><button type="submit">Sign in</button></p></form>'
    )
    return page("Sign in", body)


def error_page(status: int, message: str, *, user: str | None, csrf: str | None) -> bytes:
    return page(f"Error {status}", _message(message), user=user, csrf=csrf)


def projects_page(
    projects: Sequence[dict[str, Any]],
    *,
    user: str,
    csrf: str,
    error: str | None = None,
    pager: str = "",
) -> bytes:
    """``pager``: the previous/next links (HTML) under the table."""
    rows = [
        [
            f'<a href="{href("/projects/" + str(p["name"]))}">{e(p["name"])}</a>',
            "public" if str(p.get("metadata", {}).get("public")) == "true" else "private",
            e(p.get("repo_count", 0)),
            e(p.get("creation_time", "")),
        ]
        for p in projects
    ]
    body = (
        _message(error)
        + table("Projects you can see", ["Name", "Access", "Repositories", "Created"], rows)
        + pager
        + '<form class="card" method="post" action="/projects"><h2>New project</h2>'
        + _csrf(csrf)
        + '<label for="project_name">Name</label>'
        '<input id="project_name" name="project_name" required pattern="[a-z0-9][a-z0-9._\\-]*">'
        '<label><input type="checkbox" name="public" value="true"> Public (anyone may pull)'
        "</label>"
        '<p><button type="submit">Create project</button></p></form>'
    )
    return page("Projects", body, user=user, csrf=csrf)


def _remove(project: str, member: dict[str, Any]) -> str:
    return href(f"/projects/{project}/members/{member.get('id')}/delete")


def project_page(
    project: str,
    repositories: Sequence[dict[str, Any]],
    members: Sequence[dict[str, Any]] | None,
    *,
    user: str,
    csrf: str,
    error: str | None = None,
    notice: str = "",
    extra: str = "",
    pager: str = "",
) -> bytes:
    """``notice`` and ``extra``: HTML already escaped, shown first and after the members;
    ``pager``: the repositories' previous/next links (HTML)."""
    prefix = project + "/"
    repo_rows = []
    for r in repositories:
        full = str(r["name"])
        inside = full[len(prefix) :] if full.startswith(prefix) else full
        repo_rows.append(
            [
                f'<a href="{href("/projects/" + project + "/repository", name=inside)}">'
                f"{e(full)}</a>",
                e(r.get("artifact_count", 0)),
                e(r.get("update_time", "")),
            ]
        )
    body = (
        _message(error)
        + notice
        + table("Repositories", ["Name", "Artifacts", "Updated"], repo_rows)
        + pager
    )
    if members is not None:
        member_rows = [
            [
                e(m.get("entity_name", "")),
                e((m.get("entity_type", "") == "g" and "group") or "user"),
                e(m.get("role_name", "")),
                f'<form method="post" class="inline" action="{_remove(project, m)}">{_csrf(csrf)}'
                f'<button type="submit" aria-label="Remove {e(m.get("entity_name", ""))}">'
                "Remove</button></form>",
            ]
            for m in members
        ]
        options = "".join(f'<option value="{i}">{e(n)}</option>' for i, n in ROLES)
        body += (
            table("Members", ["Name", "Kind", "Role", ""], member_rows)
            + f'<form class="card" method="post" action="{href(f"/projects/{project}/members")}">'
            + "<h2>Add a member</h2>"
            + _csrf(csrf)
            + '<label for="member">User name</label><input id="member" name="username" required>'
            + f'<label for="role">Role</label><select id="role" name="role_id">{options}</select>'
            + '<p><button type="submit">Add member</button></p></form>'
        )
    return page(f"Project {project}", body + extra, user=user, csrf=csrf)


def repository_page(
    project: str,
    name: str,
    artifacts: Sequence[dict[str, Any]],
    *,
    search: str,
    sort: str,
    user: str,
    csrf: str,
    extra: str = "",
    badges: Mapping[str, Badges] | None = None,
) -> bytes:
    """``extra``: HTML already escaped, after the artifacts (the compare form); ``badges``:
    each artifact's platforms, signature and scan, by digest."""
    rows = []
    for a in artifacts:
        tags = ", ".join(str(t.get("name", "")) for t in a.get("tags") or ())
        digest = str(a.get("digest", ""))
        link = href(f"/projects/{project}/artifact", repo=name, digest=digest)
        badge = (badges or {}).get(digest)
        pulled = str(a.get("pull_time") or "")
        rows.append(
            [
                e(tags or "(untagged)"),
                f'<a href="{link}"><code>{e(digest[:19])}</code></a>',
                e(badge.platforms if badge else ""),
                e(size_text(a.get("size"))),
                e(a.get("push_time", "")),
                e("never" if not pulled or pulled.startswith("0001-") else pulled),
                _signed_badge(badge),
                _scan_badge(badge),
            ]
        )
    sorts = (("-push_time", "Newest first"), ("push_time", "Oldest first"), ("digest", "Digest"))
    options = "".join(
        f'<option value="{v}"{" selected" if v == sort else ""}>{t}</option>' for v, t in sorts
    )
    body = (
        f'<p><a href="{href("/projects/" + project)}">Back to project {e(project)}</a></p>'
        f'<form class="card" method="get" action="{href(f"/projects/{project}/repository")}">'
        f'<input type="hidden" name="name" value="{e(name)}">'
        '<label for="q">Search tags or digests</label>'
        f'<input id="q" name="q" value="{e(search)}">'
        f'<label for="sort">Sort</label><select id="sort" name="sort">{options}</select>'
        ' <button type="submit">Show</button></form>'
        + table(
            "Artifacts",
            ["Tags", "Digest", "Platforms", "Size", "Pushed", "Pulled", "Signed", "Scanned"],
            rows,
        )
        + extra
    )
    return page(f"Repository {repo_name(project, name)}", body, user=user, csrf=csrf)


def _signed_badge(badge: Badges | None) -> str:
    if badge is None or not badge.signed:
        return "no"
    return '<span class="badge ok">signed</span>'


def _scan_badge(badge: Badges | None) -> str:
    if badge is None or badge.scan is None:
        return ""
    if badge.scan == "UNSCANNED":
        return "not yet"
    if badge.scan == "NONE":
        return '<span class="badge ok">no findings</span>'
    return f'<span class="badge">worst: {e(badge.scan)}</span>'


def copy_field(ident: str, label: str, command: str) -> str:
    """A read-only field holding ``command`` with a button that copies it."""
    return (
        f'<label for="{ident}">{e(label)}</label><div class="copy">'
        f'<input id="{ident}" readonly value="{e(command)}">'
        f'<button type="button" data-copy="{ident}">Copy</button></div>'
    )


def artifact_page(
    project: str,
    name: str,
    artifact: dict[str, Any],
    layers: Sequence[Layer],
    config: str,
    *,
    host: str,
    vulnerabilities: Sequence[dict[str, Any]] | None,
    chosen: Findings,
    user: str,
    csrf: str,
    extra: str = "",
    scanned: str = "",
) -> bytes:
    """``extra``: HTML already escaped (SBOM, referrers), shown before the config;
    ``scanned``: when the vulnerability report was made (empty: not yet)."""
    digest = str(artifact.get("digest", ""))
    tags = [str(t.get("name", "")) for t in artifact.get("tags") or ()]
    ref = f"{host}/{repo_name(project, name)}@{digest}"
    annotations = artifact.get("annotations") or {}
    facts = [
        ["Digest", f"<code>{e(digest)}</code>"],
        ["Tags", e(", ".join(tags) or "(untagged)")],
        ["Size", e(size_text(artifact.get("size")))],
        ["Pushed", e(artifact.get("push_time", ""))],
        ["Media type", e(artifact.get("manifest_media_type", ""))],
    ] + [[e(k), e(v)] for k, v in sorted(annotations.items())]
    files = href(f"/projects/{project}/files", repo=name, digest=digest)
    layer_rows = [
        [e(i + 1), f"<code>{e(layer.command)}</code>", e(size_text(layer.size)),
         f"<code>{e(layer.digest[:19])}</code>",
         f'<a href="{files}&amp;layer={i + 1}" aria-label="Files of layer {i + 1}">files</a>'
         f' · <a href="{files}&amp;layer={i + 1}&amp;view=merged" '
         f'aria-label="Filesystem up to layer {i + 1}">up to here</a>']
        for i, layer in enumerate(layers)
    ]  # fmt: skip
    back = href(f"/projects/{project}/repository", name=name)
    body = (
        f'<p><a href="{back}">Back to repository {e(repo_name(project, name))}</a></p>'
        + table("Artifact", ["Field", "Value"], facts)
        + '<div class="card"><h2>Pull it</h2>'
        + copy_field("pull-docker", "docker", f"docker pull {ref}")
        + copy_field("pull-dockyard", "dockyard", f"dockyard pull {ref}")
        + "</div>"
        + table("Layers", ["#", "Made by", "Size", "Digest", "Files"], layer_rows)
    )
    if vulnerabilities is not None:
        body += _vulnerabilities(project, name, digest, vulnerabilities, chosen, scanned)
    body += extra + f"<h2>Config</h2><pre>{e(config)}</pre>"
    return page(f"Artifact {repo_name(project, name)}", body, user=user, csrf=csrf)


@dataclass(frozen=True, slots=True)
class Findings:
    """The artifact page's vulnerability filters: a severity (empty: all), text in the ID,
    package or title (any case), only those with a fixed version, and the page of them."""

    severity: str = ""
    search: str = ""
    fixable: bool = False
    at: Paging = field(default_factory=lambda: paging(None, None))

    def keeps(self, v: dict[str, Any]) -> bool:
        if self.severity and str(v.get("severity", "")).upper() != self.severity:
            return False
        if self.fixable and not v.get("fix_version"):
            return False
        needle = self.search.lower()
        return not needle or any(
            needle in str(v.get(k, "")).lower() for k in ("id", "package", "title")
        )


def _link(url: str) -> str:
    """A web address as a link; anything else (``javascript:``, ``data:``…) stays text."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noreferrer noopener">{e(url)}</a>'
    return e(url)


def _vulnerabilities(
    project: str, name: str, digest: str, found: Sequence[dict[str, Any]], chosen: Findings,
    scanned: str,
) -> str:  # fmt: skip
    levels = ("", "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
    options = "".join(
        f'<option value="{v}"{" selected" if v == chosen.severity else ""}>{v or "All"}</option>'
        for v in levels
    )
    kept = [v for v in found if chosen.keeps(v)]
    start = (chosen.at.number - 1) * chosen.at.size
    rows = [
        [e(v.get("id", "")), e(v.get("severity", "")), e(v.get("package", "")),
         e(v.get("version", "")), e(v.get("fix_version", "")), e(v.get("title", "")),
         "<br>".join(_link(str(u)) for u in v.get("links") or ())]
        for v in kept[start : start + chosen.at.size]
    ]  # fmt: skip
    here = href(f"/projects/{project}/artifact")
    query = {"repo": name, "digest": digest, "severity": chosen.severity, "q": chosen.search}
    if chosen.fixable:
        query["fixable"] = "1"
    more = pager(f"/projects/{project}/artifact", query, chosen.at, len(kept), "findings")
    checked = " checked" if chosen.fixable else ""
    return (
        f'<form class="card" method="get" action="{here}" id="vuln-filter">'
        f'<input type="hidden" name="repo" value="{e(name)}">'
        f'<input type="hidden" name="digest" value="{e(digest)}">'
        f'<label for="severity">Severity</label><select id="severity" name="severity">'
        f"{options}</select> "
        f'<label for="vuln-q">ID, package or title</label>'
        f'<input id="vuln-q" name="q" value="{e(chosen.search)}" maxlength="200"> '
        f'<input type="checkbox" id="fixable" name="fixable" value="1"{checked}>'
        f'<label for="fixable">Only with a fix</label> '
        f'<button type="submit">Filter</button></form>'
        + (f'<p id="scan-time">Scanned at <time datetime="{e(scanned)}">{e(scanned)}</time>'
           "</p>" if scanned else '<p id="scan-time">No scan report yet.</p>')
        + f'<p id="vuln-count">{len(kept):,} of {len(found):,} findings</p>'
        + table("Vulnerabilities",
                ["ID", "Severity", "Package", "Version", "Fixed in", "Title", "Links"], rows)
        + more
    )  # fmt: skip


def audit_page(
    entries: Sequence[dict[str, Any]], *, user: str, csrf: str, extra: str = ""
) -> bytes:
    """``extra``: HTML already escaped, after the entries (the page links)."""
    rows = [
        [e(x.get("op_time", "")), e(x.get("username", "")), e(x.get("operation", "")),
         e(x.get("resource_type", "")), e(x.get("resource", ""))]
        for x in entries
    ]  # fmt: skip
    body = table("Recent entries you may read", ["Time", "User", "Operation", "Type",
                                                 "Resource"], rows)  # fmt: skip
    return page("Audit log", body + extra, user=user, csrf=csrf)
