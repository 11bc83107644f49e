"""Paging for the console's long lists: Harbor's ``page``/``page_size`` read from the page's
query (at most 100 rows a page), and the previous/next links under the table (``rel`` as in
a ``Link`` header)."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.registry.console._html import e, href

__all__ = ["MAX_PAGE_SIZE", "Paging", "pager", "paging"]

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Paging:
    number: int
    size: int

    def query(self) -> dict[str, str]:
        """The API's query parameters for this page."""
        return {"page": str(self.number), "page_size": str(self.size)}


def _int(text: str | None, default: int, most: int) -> int:
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 9:
        return default
    return min(max(int(text), 1), most)


def paging(page: str | None, page_size: str | None) -> Paging:
    """The page asked for (1 and 100 when missing or not a number; the size at most 100)."""
    return Paging(_int(page, 1, 10**9), _int(page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE))


def pager(path: str, query: dict[str, str], at: Paging, total: int | None, what: str) -> str:
    """``Page n of m`` with previous/next links keeping ``query``; empty on a single page."""
    if total is None or (at.number == 1 and total <= at.size):
        return ""
    pages = max((total + at.size - 1) // at.size, 1)
    links = []
    if at.number > 1:
        prev = href(path, **query, page=str(min(at.number - 1, pages)), page_size=str(at.size))
        links.append(f'<a rel="prev" href="{prev}">Previous page</a>')
    if at.number < pages:
        nxt = href(path, **query, page=str(at.number + 1), page_size=str(at.size))
        links.append(f'<a rel="next" href="{nxt}">Next page</a>')
    return (
        f'<nav class="pager" aria-label="{e(what)} pages"><span>Page {at.number} of {pages} '
        f"({total:,} {e(what)})</span> " + " ".join(links) + "</nav>"
    )
