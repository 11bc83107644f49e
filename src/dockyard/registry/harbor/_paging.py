"""Paging as Harbor does it: ``page`` (from 1), ``page_size`` (1..100, default 10), the total
in ``X-Total-Count`` and RFC 5988 ``Link`` headers to the previous and next pages.

A value outside those bounds, or one that is not an int64, is refused as Harbor's go-swagger
layer refuses a parameter that breaks its declared ``type``/``maximum``/``minimum``: ``422
UNPROCESSABLE_ENTITY`` with go-swagger's message (``validation failure list:`` then one line
per parameter, e.g. ``page_size in query should be less than or equal to 100``). Harbor's
swagger declares no minimum, so Harbor serves ``page=0`` as the first page and ``page_size=0``
as every row at once; dockyard's own description (``/swagger.json``) declares ``minimum: 1``
for both and enforces it the same way, so no request asks for an unbounded listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from dockyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Page",
    "ValidationFailed",
    "link_header",
    "parse_page",
]

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
#: page numbers are int64 in Harbor's API
MAX_PAGE = 2**63 - 1
_INT64 = (-(2**63), 2**63 - 1)


class ValidationFailed(InvalidArgument):
    """Query parameters that break their declared type or bounds: 422 UNPROCESSABLE_ENTITY,
    go-swagger's composite validation error."""

    http_status = 422

    def __init__(self, problems: list[str]) -> None:
        # no hint: the message is Harbor's body word for word (each line names the bound)
        super().__init__("\n".join(["validation failure list:", *problems]))
        self.problems = tuple(problems)


def _integer(name: str, text: str | None, default: int, low: int, high: int) -> int | str:
    """The value, or go-swagger's message for why it is refused."""
    if text is None or text == "":
        return default
    digits = text[1:] if text[:1] in "+-" else text
    valid = digits.isascii() and digits.isdigit() and len(digits) <= 19
    if not valid or not _INT64[0] <= int(text) <= _INT64[1]:
        return f"{name} in query must be of type int64: {json.dumps(text, ensure_ascii=False)}"
    value = int(text)
    if value > high:
        return f"{name} in query should be less than or equal to {high}"
    if value < low:
        return f"{name} in query should be greater than or equal to {low}"
    return value


@dataclass(frozen=True, slots=True)
class Page:
    number: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def parse_page(page: str | None, page_size: str | None) -> Page:
    """The page a request asks for; :class:`ValidationFailed` (422) for a page below 1, a size
    outside 1..100, or a value that is no int64."""
    number = _integer("page", page, 1, 1, MAX_PAGE)
    size = _integer("page_size", page_size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    problems = [v for v in (number, size) if isinstance(v, str)]
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(number, int) and isinstance(size, int)
    return Page(number, size)


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
