"""HTML building blocks: every value goes through :func:`e` (``html.escape``), so names,
tags, labels and annotations are text, never markup. The page shell, the stylesheet (dark
mode from ``prefers-color-scheme``) and the one small script (copy to the clipboard)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from contextvars import ContextVar
from urllib.parse import urlencode

__all__ = [
    "ADMIN_NAV",
    "CSS",
    "JS",
    "NO_PROJECT",
    "OPEN_NAV",
    "SECURITY_HEADERS",
    "e",
    "href",
    "page",
    "repo_name",
    "table",
]

#: the headers of every console response: only the console's own script and stylesheet
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]

#: whether this request's user is a system administrator (the header links the admin pages)
ADMIN_NAV: ContextVar[bool] = ContextVar("ADMIN_NAV", default=False)
#: whether the console serves an open registry (no sign-in: the header says so)
OPEN_NAV: ContextVar[bool] = ContextVar("OPEN_NAV", default=False)
#: the API's project of the repositories without one (``busybox``), in an open registry
NO_PROJECT = "_"


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def repo_name(project: str, name: str) -> str:
    """A repository's full name from the API's project and repository names."""
    return name if project == NO_PROJECT else f"{project}/{name}"


def href(path: str, **query: str) -> str:
    """A link (escaped for an attribute), the query encoded."""
    return e(path + ("?" + urlencode(query) if query else ""))


def table(caption: str, headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """``rows`` hold HTML already escaped (cells are built with :func:`e`)."""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(list(headers)) or 1}">none</td></tr>'
    return (
        f'<div class="scroll"><table><caption>{e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def page(
    title: str,
    body: str,
    *,
    user: str | None = None,
    csrf: str | None = None,
    nav: str | None = None,
) -> bytes:
    """A whole page; ``nav``: the header's links (HTML), instead of the console's."""
    if nav is None and OPEN_NAV.get():
        nav = (
            '<nav aria-label="main"><a href="/">Repositories</a>'
            '<span class="who">open registry: no sign-in</span></nav>'
        )
    elif nav is None and user is None:
        nav = ""
    elif nav is None:
        nav = (
            '<nav aria-label="main"><a href="/">Projects</a> <a href="/dashboard">Dashboard</a>'
            ' <a href="/audit">Audit log</a>'
            + (
                ' <a href="/admin/gc">Garbage collection</a>'
                ' <a href="/admin/replication">Replication</a>'
                ' <a href="/admin/jobs">Jobs</a>'
                if ADMIN_NAV.get()
                else ""
            )
            + f'<form method="post" action="/logout" class="inline">'
            f'<input type="hidden" name="csrf" value="{e(csrf or "")}">'
            f'<span class="who">{e(user)}</span> <button type="submit">Sign out</button></form>'
            "</nav>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · dockyard</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<link rel="icon" href="data:,">'
        '<script src="/static/console.js" defer></script></head><body>'
        f'<header><a class="brand" href="/">dockyard</a>{nav}</header>'
        f"<main><h1>{e(title)}</h1>{body}</main></body></html>"
    ).encode()


CSS = b"""
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;
--accent:#0a58ca;--card:#f6f8fa;--bad:#b42318}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9da7b3;
--line:#30363d;--accent:#6cb6ff;--card:#161b22;--bad:#ff7b72}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,sans-serif}
header{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;padding:.6em 1em;
border-bottom:1px solid var(--line)}
header nav{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:center;flex:1}
header nav form,header nav>.who{margin-left:auto}
header nav>.who{color:var(--muted)}
a{color:var(--accent)}
.brand{font-weight:700;text-decoration:none}
main{max-width:72em;margin:0 auto;padding:1em}
h1{font-size:1.5em;overflow-wrap:anywhere}
h2{font-size:1.2em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border-bottom:1px solid var(--line);padding:.35em .5em;text-align:left;
vertical-align:top;overflow-wrap:anywhere}
th{white-space:nowrap;overflow-wrap:normal}
code,pre{font:14px/1.4 ui-monospace,monospace}
pre{background:var(--card);padding:.8em;overflow:auto;white-space:pre-wrap}
form.card,.card{background:var(--card);border:1px solid var(--line);border-radius:6px;
padding:1em;margin:1em 0}
label{display:block;margin:.4em 0}
input,select,button{font:inherit;color:inherit;background:var(--bg);
border:1px solid var(--line);border-radius:4px;padding:.3em .5em;max-width:100%}
button{background:var(--accent);color:var(--bg);border-color:var(--accent);cursor:pointer}
.inline{display:inline}
.error{color:var(--bad);font-weight:600}
.badge{border:1px solid var(--line);border-radius:.3em;padding:0 .3em;white-space:nowrap}
.muted{color:var(--muted)}
.copy{display:flex;gap:.5em;flex-wrap:wrap}.copy input{flex:1;min-width:12em}
fieldset{border:1px solid var(--line);border-radius:4px;margin:.6em 0}
meter{width:100%;height:1.2em}
figure{margin:1em 0}figcaption{font-weight:600}
svg.chart{display:block;max-width:48em;height:auto;margin:.5em 0}
svg.chart text{fill:var(--fg);font:13px system-ui,sans-serif}
svg.chart .axis{stroke:var(--line)}
svg.chart .bar{fill:var(--accent)}
svg.chart .pull{fill:var(--muted)}
svg.chart .rest{fill:var(--muted)}
svg.chart .critical{fill:#8b1a1a}svg.chart .high{fill:#d1242f}svg.chart .medium{fill:#bf8700}
svg.chart .low{fill:#2da44e}svg.chart .unknown,svg.chart .unscanned{fill:var(--muted)}
svg.chart .none{fill:var(--line)}
nav.pager{display:flex;flex-wrap:wrap;gap:.5em 1em;margin:.5em 0 1.5em}
"""

JS = b"""
document.addEventListener("click", function (ev) {
  var b = ev.target.closest ? ev.target.closest("button[data-copy]") : null;
  if (!b) return;
  var input = document.getElementById(b.getAttribute("data-copy"));
  if (!input) return;
  input.select();
  if (navigator.clipboard) { navigator.clipboard.writeText(input.value).catch(function () {}); }
  b.textContent = "Copied";
});
"""
