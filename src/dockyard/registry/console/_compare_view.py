"""The compare page: how tag ``b`` differs from tag ``a`` (layers, files, packages,
vulnerabilities), and the form that picks the two tags (on the repository page too)."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.registry.console._html import e, href, page, repo_name, table
from dockyard.registry.console._views import size_text
from dockyard.registry.contents import Comparison

__all__ = ["MAX_ROWS", "compare_form", "compare_page", "comparison_section"]

#: rows shown of each list (the page stays small); the rest are counted
MAX_ROWS = 300


def compare_form(project: str, name: str, tags: Sequence[str], a: str = "", b: str = "") -> str:
    """Two tag pickers (a text field when the repository has no tags listed)."""

    def picker(ident: str, label: str, chosen: str) -> str:
        if not tags:
            return (
                f'<label for="{ident}">{e(label)}</label>'
                f'<input id="{ident}" name="{ident}" value="{e(chosen)}" required>'
            )
        options = "".join(
            f'<option value="{e(t)}"{" selected" if t == chosen else ""}>{e(t)}</option>'
            for t in tags
        )
        return (
            f'<label for="{ident}">{e(label)}</label>'
            f'<select id="{ident}" name="{ident}">{options}</select>'
        )

    first = a or (tags[1] if len(tags) > 1 else tags[0] if tags else "")
    second = b or (tags[0] if tags else "")
    return (
        f'<form class="card" method="get" action="{href(f"/projects/{project}/compare")}">'
        "<h2>Compare two tags</h2>"
        f'<input type="hidden" name="repo" value="{e(name)}">'
        + picker("a", "From tag", first)
        + " "
        + picker("b", "To tag", second)
        + ' <button type="submit">Compare</button></form>'
    )


def _capped(rows: list[list[str]], what: str) -> tuple[list[list[str]], str]:
    if len(rows) <= MAX_ROWS:
        return rows, ""
    more = f'<p class="muted">{len(rows) - MAX_ROWS:,} more {e(what)} not shown.</p>'
    return rows[:MAX_ROWS], more


def _size(value: int | None) -> str:
    return "" if value is None else e(size_text(value))


def compare_page(
    project: str,
    name: str,
    a: str,
    b: str,
    result: Comparison,
    tags: Sequence[str],
    *,
    user: str,
    csrf: str,
) -> bytes:
    back = href(f"/projects/{project}/repository", name=name)
    body = (
        f'<p><a href="{back}">Back to repository {e(repo_name(project, name))}</a></p>'
        + compare_form(project, name, tags, a, b)
        + comparison_section(a, b, result)
    )
    return page(f"Compare {repo_name(project, name)}", body, user=user, csrf=csrf)


def comparison_section(a: str, b: str, result: Comparison) -> str:
    """The tables of a comparison (HTML): the summary, layers, files, packages and, when
    known, vulnerabilities; the console and ``dockyard ui`` share it."""
    counts = {s: sum(1 for x in result.layers if x.status == s) for s in ("shared", "removed",
                                                                        "added")}  # fmt: skip
    totals = result.diff.totals()
    summary = [
        ["Layers", e(f"{counts['added']} added, {counts['removed']} removed, "
                     f"{counts['shared']} shared")],
        ["Files", e(", ".join(f"{totals[s]['count']} {s} ({size_text(totals[s]['bytes'])})"
                              for s in ("added", "removed", "changed")))],
        ["Packages", e(", ".join(
            f"{sum(1 for p in result.packages if p.status == s)} {s}"
            for s in ("added", "removed", "changed")))],
    ]  # fmt: skip
    if result.vulnerabilities is not None:
        fixed = sum(1 for v in result.vulnerabilities if v.status == "fixed")
        summary.append(["Vulnerabilities",
                        e(f"{fixed} fixed, {len(result.vulnerabilities) - fixed} introduced")])  # fmt: skip
    layer_rows = [
        [e(x.status), f"<code>{e(x.command)}</code>", e(size_text(x.size)),
         f"<code>{e(x.digest[:19])}</code>"]
        for x in result.layers
    ]  # fmt: skip
    file_rows, more_files = _capped(
        [[e(f.status), f"<code>{e(f.path)}</code>", e(f.kind), _size(f.old_size),
          _size(f.new_size), e(f.what)] for f in result.diff.files],
        "files",
    )  # fmt: skip
    package_rows, more_packages = _capped(
        [[e(p.status), e(p.name), e(p.type), e(p.old), e(p.new)] for p in result.packages],
        "packages",
    )
    body = (
        table(f"From {a} to {b}", ["Of", "Changes"], summary)
        + table("Layers", ["Status", "Made by", "Size", "Digest"], layer_rows)
        + table(
            "Files", ["Status", "Path", "Kind", f"Size in {a}", f"Size in {b}", "What"], file_rows
        )
        + more_files
        + table("Packages", ["Status", "Name", "Type", f"In {a}", f"In {b}"], package_rows)
        + more_packages
    )
    if result.vulnerabilities is None:
        body += '<p class="muted">Vulnerabilities: both images need a finished scan report.</p>'
    else:
        rows, more = _capped(
            [[e(v.status), e(v.id), e(v.severity), e(v.package), e(v.version)]
             for v in result.vulnerabilities],
            "vulnerabilities",
        )  # fmt: skip
        body += (
            table(
                "Vulnerabilities fixed and introduced",
                ["Status", "ID", "Severity", "Package", "Version"],
                rows,
            )
            + more
        )
    return body
