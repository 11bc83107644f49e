"""The artifact page's additions (HTML): the file browser of a layer or of the filesystem
the layers build, the SBOM download links and its packages as a table, and the referrers with
their signatures and whether each verifies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from dockyard.registry.console._html import e, href, page, repo_name, table
from dockyard.registry.console._paging import Paging, pager
from dockyard.registry.console._views import size_text
from dockyard.registry.contents import (
    NO_KEY,
    SBOM_FORMATS,
    VERIFIED,
    Listing,
    PackageRow,
    Referrer,
    Verdict,
)

__all__ = [
    "SBOM_NAMES",
    "FilesLink",
    "extras_section",
    "files_page",
    "files_path",
    "files_section",
    "packages_page",
    "verdict_text",
]

#: how the downloads are labelled, by SBOM format
SBOM_NAMES = {"spdx": "SPDX 2.3 (JSON)", "cyclonedx": "CycloneDX 1.5 (JSON)"}


def files_path(project: str, name: str, digest: str, layer: int, *, merged: bool,
               path: str = "") -> str:  # fmt: skip
    """The file browser's link (escaped for an attribute)."""
    query = {"repo": name, "digest": digest, "layer": str(layer + 1)}
    if merged:
        query["view"] = "merged"
    if path:
        query["path"] = path
    return e(f"/projects/{project}/files?{urlencode(query)}")


def extras_section(
    project: str, name: str, digest: str, referrers: Sequence[Referrer], *, image: bool
) -> str:
    out = ""
    if image:
        links = " · ".join(
            f'<a href="{href(f"/projects/{project}/sbom", repo=name, digest=digest, format=key)}"'
            f" download>{e(SBOM_NAMES[key])}</a>"
            for key in SBOM_FORMATS
        )
        browse = href(f"/projects/{project}/packages", repo=name, digest=digest)
        out += (
            f'<h2>SBOM</h2><p id="sbom">Download the packages it holds: {links}</p>'
            f'<p id="packages"><a href="{browse}">Browse the packages as a table</a></p>'
        )
    rows = []
    for r in referrers:
        signatures = "".join(f"<li><code>{e(s)}</code></li>" for s in r.signatures)
        verdicts = "".join(f"<li>{e(verdict_text(v))}</li>" for v in r.verdicts)
        kinds = "".join(f"<li>{e(k)}</li>" for k in r.kinds)
        rows.append(
            [
                f"<code>{e(r.digest)}</code>",
                e(r.artifact_type or r.media_type),
                e(r.how),
                e(size_text(r.size)),
                f"<ul>{signatures}</ul>" if signatures else "none",
                f"<ul>{verdicts}</ul>" if verdicts else "",
                f"<ul>{kinds}</ul>" if kinds else "",
            ]
        )
    out += table("Signatures and other referrers",
                 ["Digest", "Type", "Found by", "Size", "Signatures", "Verified", "What each is"],
                 rows)  # fmt: skip
    if any(v.state == NO_KEY for r in referrers for v in r.verdicts):
        out += (
            '<p class="muted">Signatures are listed, not verified here: the registry trusts no '
            "key for this repository (its signature policy, <code>policies.signatures</code>, "
            "names the keys). Verify them with "
            "<code>dockyard verify --key &lt;public key&gt; &lt;the image&gt;</code>.</p>"
        )
    return out


def verdict_text(verdict: Verdict) -> str:
    """How the page says whether a signature verifies (plain text)."""
    if verdict.state == VERIFIED:
        return f"verified (key {verdict.detail})"
    if verdict.state == NO_KEY:
        return NO_KEY
    return f"{verdict.state}: {verdict.detail}" if verdict.detail else verdict.state


def _matches(row: PackageRow, needle: str) -> bool:
    return any(needle in text.lower() for text in (row.name, row.version, row.type, *row.licences))


def packages_page(project: str, name: str, digest: str, rows: Sequence[PackageRow], *,
                  search: str, at: Paging, user: str, csrf: str) -> bytes:  # fmt: skip
    """The SBOM's packages as a table, filtered by ``search`` (name, version, type or licence
    containing it, any case) and paged, beside the downloads."""
    needle = search.strip().lower()
    chosen = [r for r in rows if _matches(r, needle)] if needle else list(rows)
    start = (at.number - 1) * at.size
    shown = chosen[start : start + at.size]
    back = href(f"/projects/{project}/artifact", repo=name, digest=digest)
    links = " · ".join(
        f'<a href="{href(f"/projects/{project}/sbom", repo=name, digest=digest, format=key)}"'
        f" download>{e(SBOM_NAMES[key])}</a>"
        for key in SBOM_FORMATS
    )
    action = href(f"/projects/{project}/packages")
    body = (
        f'<p><a href="{back}">Back to the artifact</a> · Download: {links}</p>'
        f'<form class="card" method="get" action="{action}">'
        f'<input type="hidden" name="repo" value="{e(name)}">'
        f'<input type="hidden" name="digest" value="{e(digest)}">'
        '<label for="q">Name, version, type or licence contains</label>'
        f'<input id="q" name="q" value="{e(search)}"> <button type="submit">Filter</button></form>'
    )
    body += table(
        f"Packages ({len(chosen):,} of {len(rows):,})",
        ["Name", "Version", "Type", "Licence"],
        [[e(r.name), e(r.version), e(r.type), e(", ".join(r.licences)) or "unknown"]
         for r in shown],
    )  # fmt: skip
    kept = {"repo": name, "digest": digest, **({"q": search} if search else {})}
    body += pager(f"/projects/{project}/packages", kept, at, len(chosen), "packages")
    return page(f"Packages of {repo_name(project, name)}", body, user=user, csrf=csrf)


#: a file browser's link: (layer, merged, path) → the URL, escaped for an attribute
FilesLink = Callable[[int, bool, str], str]


def files_page(
    project: str, name: str, digest: str, listing: Listing, *, user: str, csrf: str
) -> bytes:
    def link(layer: int, merged: bool, path: str) -> str:
        return files_path(project, name, digest, layer, merged=merged, path=path)

    back = href(f"/projects/{project}/artifact", repo=name, digest=digest)
    body = f'<p><a href="{back}">Back to the artifact</a></p>' + files_section(
        listing, link, action=f"/projects/{project}/files", hidden={"repo": name, "digest": digest}
    )
    return page(f"Files of {repo_name(project, name)}", body, user=user, csrf=csrf)


def files_section(listing: Listing, link: FilesLink, *, action: str, hidden: dict[str, str]) -> str:
    """The file browser (HTML) of ``listing``: which view it is and the other one, a layer
    picker (a GET form to ``action`` with ``hidden`` fields), the path bar, the waste, and the
    entries; ``link`` makes every URL, so the console and ``dockyard ui`` share it."""
    layer, merged = listing.layer, listing.merged
    switch = link(layer, not merged, listing.path)
    what = f"layers 1 to {layer + 1}" if merged else f"layer {layer + 1} alone"
    other = f"layer {layer + 1} alone" if merged else f"the filesystem of layers 1 to {layer + 1}"
    crumbs = [f'<a href="{link(layer, merged, "")}">(root)</a>']
    parts = [p for p in listing.path.split("/") if p]
    for i, part in enumerate(parts):
        crumbs.append(f'<a href="{link(layer, merged, "/".join(parts[: i + 1]))}">{e(part)}</a>')
    pick = "".join(
        f'<option value="{i + 1}"{" selected" if i == layer else ""}>layer {i + 1}</option>'
        for i in range(listing.layers)
    )
    fields = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in hidden.items()
    )
    body = (
        f'<p>Showing {e(what)}: <a href="{switch}">show {e(other)}</a></p>'
        f'<form class="card" method="get" action="{href(action)}">{fields}'
        + ('<input type="hidden" name="view" value="merged">' if merged else "")
        + f'<label for="layer">Layer</label><select id="layer" name="layer">{pick}</select> '
        '<button type="submit">Show</button></form>'
        f'<nav aria-label="path" class="pager">{" / ".join(crumbs)}</nav>'
    )
    if merged and listing.wasted_bytes:
        body += (
            f"<p>Files written by more than one layer waste {e(size_text(listing.wasted_bytes))}"
            " in all; they, and the directories holding them, are marked <strong>wasted</strong>."
            "</p>"
        )
    rows = []
    for row in listing.rows:
        full = f"{listing.path}/{row.name}" if listing.path else row.name
        label = e(row.name) + ("/" if row.is_dir else "")
        cell = (
            f'<a href="{link(layer, merged, full)}">{label}</a>'
            if row.is_dir
            else label + (f" → {e(row.link)}" if row.link else "")
        )
        rows.append(
            [
                cell,
                e(row.kind),
                "" if row.is_dir else e(size_text(row.size)),
                e(f"{row.mode:o}") if row.mode else "",
                e(row.layer + 1) if row.layer >= 0 else "",
                "<strong>wasted</strong>" if row.wasted else "",
            ]
        )
    body += table(f"Files in /{listing.path}",
                  ["Name", "Kind", "Size", "Mode", "Layer", "Waste"], rows)  # fmt: skip
    if listing.more:
        body += f"<p>{e(listing.more)} more entries are not shown.</p>"
    return body
