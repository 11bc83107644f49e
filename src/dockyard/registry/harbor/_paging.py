"""Paging as Harbor does it: ``page`` (from 1), ``page_size`` (1..100, default 10), the total
in ``X-Total-Count`` and RFC 5988 ``Link`` headers to the previous and next pages."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from dockyard.registry.harbor._errors import BadRequest

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "Page", "link_header", "parse_page"]

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
#: page numbers are int64 in Harbor's API
MAX_PAGE = 2**63 - 1


def _integer(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 19:
        raise BadRequest(f"{name} must be an integer, not {text[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True, slots=True)
class Page:
    number: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def parse_page(page: str | None, page_size: str | None) -> Page:
    """The page a request asks for; BadRequest for a page below 1 or a size outside 1..100."""
    return Page(
        _integer("page", page, 1, 1, MAX_PAGE),
        _integer("page_size", page_size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def _url(path: str, query: str, number: int, size: int) -> str:
    """The request's URL for page ``number``, written as Harbor writes it: parameters sorted
    by name, ``page`` and ``page_size`` set, and the query unescaped again."""
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    params["page"] = [str(number)]
    params["page_size"] = [str(size)]
    pairs = [f"{key}={value}" for key in sorted(params) for value in params[key]]
    return f"{path}?{'&'.join(pairs)}"


def link_header(path: str, query: str, total: int, page: Page) -> str | None:
    """``<url>; rel="prev" , <url>; rel="next"`` (either may be missing), or None."""
    links = []
    if page.number > 1 and (page.number - 1) * page.size < total:
        links.append(f'<{_url(path, query, page.number - 1, page.size)}>; rel="prev"')
    if page.size * page.number < total:
        links.append(f'<{_url(path, query, page.number + 1, page.size)}>; rel="next"')
    return " , ".join(links) if links else None
