"""``dockyard ui``'s pages (pure: data in, HTML out), in the console's shell and stylesheet.
Every value goes through the console's escaping, so image names, labels and layer commands
are text, never markup."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from dockyard.registry.console.shared import (
    SBOM_FORMATS,
    SBOM_NAMES,
    Comparison,
    Listing,
    PackageRow,
    comparison_section,
    copy_field,
    e,
    files_section,
    href,
    page,
    size_text,
    table,
)
from dockyard.ui._store import SORTS, ImageDetail, ImageRow, Vulnerability

__all__ = [
    "compare_page",
    "error_page",
    "files_page",
    "image_page",
    "images_page",
    "packages_page",
    "vulnerabilities_page",
]

#: the address ``make serve`` (``dockyard registry serve``) listens on by default
LOCAL_REGISTRY = "localhost:5000"

_NAV = (
    '<nav aria-label="main"><a href="/">Images</a> <a href="/compare">Compare</a>'
    ' <span class="muted">local store</span></nav>'
)


def _page(title: str, body: str) -> bytes:
    return page(title, body, nav=_NAV)


def _created(row: ImageRow) -> str:
    return row.created.strftime("%Y-%m-%d %H:%M UTC") if row.created else ""


def _image_link(row: ImageRow) -> str:
    return f'<a href="{href("/image", id=row.id)}">{e(row.name)}</a>'


def images_page(
    rows: Sequence[ImageRow], *, search: str, sort: str, descending: bool, deleted: str = ""
) -> bytes:
    sorts = "".join(
        f'<option value="{e(k)}"{" selected" if k == sort else ""}>{e(v)}</option>'
        for k, v in SORTS.items()
    )
    orders = "".join(
        f'<option value="{v}"{" selected" if (v == "desc") == descending else ""}>{label}</option>'
        for v, label in (("desc", "descending"), ("asc", "ascending"))
    )
    form = (
        '<form class="card" method="get" action="/" role="search">'
        f'<label for="q">Search names, IDs and labels</label>'
        f'<input id="q" name="q" type="search" value="{e(search)}"> '
        f'<label for="sort">Sort by</label><select id="sort" name="sort">{sorts}</select> '
        f'<label for="order">Order</label><select id="order" name="order">{orders}</select> '
        '<button type="submit">Show</button></form>'
    )
    table_rows = [
        [
            _image_link(row) + "".join(f"<br>{e(n)}" for n in row.names[1:]),
            f"<code>{e(row.short_id)}</code>",
            e(_created(row)),
            e(size_text(row.size)),
        ]
        for row in rows
    ]
    total = sum(r.size for r in rows)
    done = f'<p role="status">Deleted image <code>{e(deleted)}</code>.</p>' if deleted else ""
    body = (
        done + form + f"<p>{len(rows)} image{'s' if len(rows) != 1 else ''}, "
        f"{e(size_text(total))} of layers listed (shared layers counted for each).</p>"
        + table("Images", ["Name", "Image ID", "Created", "Size"], table_rows)
    )
    return _page("Images", body)


def _compare_form(rows: Sequence[ImageRow], a: str, b: str) -> str:
    def picker(ident: str, label: str, chosen: str) -> str:
        options = "".join(
            f'<option value="{e(r.id)}"{" selected" if r.id == chosen else ""}>'
            f"{e(r.name)} ({e(r.short_id)})</option>"
            for r in rows
        )
        return f'<label for="{ident}">{e(label)}</label><select id="{ident}" name="{ident}">{options}</select>'

    return (
        '<form class="card" method="get" action="/compare"><h2>Compare two images</h2>'
        + picker("a", "From image", a)
        + " "
        + picker("b", "To image", b)
        + ' <button type="submit">Compare</button></form>'
    )


def _files_link(ident: str, layer: int, merged: bool = False, path: str = "") -> str:
    query = {"id": ident, "layer": str(layer + 1)}
    if merged:
        query["view"] = "merged"
    if path:
        query["path"] = path
    return e("/files?" + urlencode(query))


def image_page(detail: ImageDetail, rows: Sequence[ImageRow], *, vulndb: bool, csrf: str) -> bytes:
    row = detail.row
    facts = [
        ["Image ID", f"<code>{e(row.id)}</code>"],
        ["Manifest", f"<code>{e(detail.manifest_digest)}</code>"],
        ["Tags", "<br>".join(e(n) for n in row.names) or "none (dangling)"],
        ["Created", e(_created(row))],
        ["Size", e(size_text(row.size)) + f" in {detail.layers} layers"],
        ["Platform", e(detail.platform)],
        *([e(k), f"<code>{e(v)}</code>"] for k, v in detail.settings),
    ]
    steps = []
    for number, step in enumerate(detail.steps, start=1):
        files = (
            f'<a href="{_files_link(row.id, step.layer)}">layer {step.layer + 1}</a>'
            f' · <a href="{_files_link(row.id, step.layer, True)}">filesystem</a>'
            if step.layer is not None
            else "no layer"
        )
        steps.append(
            [
                e(number),
                f"<code>{e(step.command)}</code>" if step.command else "<em>not recorded</em>",
                e(size_text(step.size)) if step.layer is not None else "",
                files,
            ]
        )
    labels = [[e(k), e(v)] for k, v in row.labels]
    others = [r for r in rows if r.id != row.id]
    body = (
        table("Image", ["", "Value"], facts)
        + _use_it(detail)
        + table(
            "Layers: each step, the command that made it and its size",
            ["Step", "Command", "Size", "Files"],
            steps,
        )
        + table("Labels", ["Label", "Value"], labels)
        + "<h2>Packages and SBOM</h2>"
        + f'<p id="sbom"><a href="{href("/packages", id=row.id)}">The packages it holds</a> '
        "(as <code>dockyard sbom</code> lists them) · Download the SBOM: "
        + _sbom_links(row.id)
        + "</p>"
        + '<p class="muted">Signatures and attestations live in registries, beside the image '
        "they sign: push it, sign it there (<code>dockyard sign</code>), and a registry's web "
        "console shows them.</p>"
        + "<h2>Vulnerabilities</h2>"
        + (
            f'<p><a href="{href("/vulnerabilities", id=row.id)}">Scan this image</a> against '
            "the store's vulnerability database (as <code>dockyard scan</code>, no network).</p>"
            if vulndb
            else '<p class="muted">This store has no vulnerability database: run '
            "<code>dockyard db update</code> (or <code>dockyard db import DIR</code>) to "
            "see the image's vulnerabilities here.</p>"
        )
        + (_compare_form([row, *others], row.id, others[0].id) if others else "")
        + '<form class="card" method="post" action="/delete"><h2>Delete this image</h2>'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="id" value="{e(row.id)}">'
        "<p>As <code>dockyard rmi</code> with its ID: every tag goes, and the layers no other "
        "image uses. Refused while images are built on it.</p>"
        '<button type="submit">Delete image</button></form>'
    )
    return _page(f"Image {row.name}", body)


def _sbom_links(ident: str) -> str:
    return " · ".join(
        f'<a href="{href("/sbom", id=ident, format=key)}" download>{e(SBOM_NAMES[key])}</a>'
        for key in SBOM_FORMATS
    )


def _use_it(detail: ImageDetail) -> str:
    """The commands to run the image, reference it by digest and push it to a local
    registry, each with a copy button."""
    row = detail.row
    name = row.name if row.names else row.short_id
    repository = name.rsplit(":", 1)[0] if row.names and "@" not in name else ""
    fields = copy_field("use-run", "Run it", f"dockyard run --rm {name}")
    if repository:
        fields += copy_field("use-digest", "This image, by digest",
                             f"{repository}@{detail.manifest_digest}")  # fmt: skip
        target = f"{LOCAL_REGISTRY}/{repository.rsplit('/', 1)[-1]}:{_tag(name)}"
        fields += copy_field(
            "use-push",
            "Push it to the registry make serve runs",
            f"dockyard tag {name} {target} && dockyard push {target}",
        )
    return f'<div class="card"><h2>Use it</h2>{fields}</div>'


def _tag(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def packages_page(ident: str, name: str, rows: Sequence[PackageRow], search: str) -> bytes:
    """The SBOM's packages, filtered by ``search`` (name, version, type or licence containing
    it, any case), beside the downloads."""
    needle = search.strip().lower()
    chosen = [
        r
        for r in rows
        if not needle or any(needle in t.lower() for t in (r.name, r.version, r.type, *r.licences))
    ]
    cells = [
        [e(r.name), e(r.version), e(r.type), e(", ".join(r.licences)) or "unknown"] for r in chosen
    ]
    body = (
        f'<p><a href="{href("/image", id=ident)}">Back to image {e(name)}</a> · Download: '
        + _sbom_links(ident)
        + "</p>"
        + '<form class="card" method="get" action="/packages">'
        f'<input type="hidden" name="id" value="{e(ident)}">'
        '<label for="q">Name, version, type or licence contains</label>'
        f'<input id="q" name="q" value="{e(search)}" maxlength="200"> '
        '<button type="submit">Filter</button></form>'
        + table(
            f"Packages ({len(chosen):,} of {len(rows):,})",
            ["Name", "Version", "Type", "Licence"],
            cells,
        )
    )
    return _page(f"Packages of {name}", body)


def files_page(ident: str, name: str, listing: Listing) -> bytes:
    def link(layer: int, merged: bool, path: str) -> str:
        return _files_link(ident, layer, merged, path)

    body = f'<p><a href="{href("/image", id=ident)}">Back to image {e(name)}</a></p>'
    body += files_section(listing, link, action="/files", hidden={"id": ident})
    return _page(f"Files of {name}", body)


def compare_page(
    rows: Sequence[ImageRow], a: str, b: str, result: Comparison | None, names: tuple[str, str]
) -> bytes:
    body = _compare_form(rows, a, b) if rows else "<p>The store holds no images.</p>"
    if result is not None:
        body += comparison_section(names[0], names[1], result)
    return _page("Compare images", body)


def error_page(status: int, message: str) -> bytes:
    body = (
        f'<p class="error" role="alert">{e(message)}</p><p><a href="/">Back to the images</a></p>'
    )
    return _page(f"Error {status}", body)


_SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN")


def _reference(url: str) -> str:
    """A link for web addresses; anything else (``javascript:``…) stays text."""
    if url.startswith(("https://", "http://")):
        return f'<a href="{e(url)}" rel="noreferrer">{e(url)}</a>'
    return e(url)


def vulnerabilities_page(
    ident: str, name: str, found: Sequence[Vulnerability], severity: str
) -> bytes:
    counts = {level: sum(1 for v in found if v.severity == level) for level in _SEVERITY_ORDER}
    chosen = [v for v in found if not severity or v.severity == severity]

    def option(value: str, label: str) -> str:
        selected = " selected" if value == severity else ""
        return f'<option value="{e(value)}"{selected}>{e(label)}</option>'

    options = option("", f"all ({len(found)})") + "".join(
        option(level, f"{level.lower()} ({counts[level]})")
        for level in _SEVERITY_ORDER
        if counts[level]
    )
    form = (
        '<form class="card" method="get" action="/vulnerabilities">'
        f'<input type="hidden" name="id" value="{e(ident)}">'
        f'<label for="severity">Severity</label><select id="severity" name="severity">{options}'
        '</select> <button type="submit">Filter</button></form>'
    )
    rows = [
        [
            e(v.severity),
            f"<code>{e(v.id)}</code>",
            e(v.package),
            e(v.installed),
            e(v.fixed) or "not fixed",
            e(v.title)
            + ("<br>" + "<br>".join(_reference(u) for u in v.links[:3]) if v.links else ""),
        ]
        for v in chosen
    ]
    summary = ", ".join(
        f"{counts[level]} {level.lower()}" for level in _SEVERITY_ORDER if counts[level]
    )
    body = (
        f'<p><a href="{href("/image", id=ident)}">Back to image {e(name)}</a></p>'
        f"<p>{len(found)} found{': ' + e(summary) if summary else ''}.</p>"
        + form
        + table(
            "Vulnerabilities",
            ["Severity", "ID", "Package", "Installed", "Fixed in", "About"],
            rows,
        )
    )
    return _page(f"Vulnerabilities of {name}", body)
