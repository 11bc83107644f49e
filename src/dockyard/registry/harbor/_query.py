"""Harbor's ``q=`` query language and ``sort=``, parsed as Harbor's ``lib/q`` does, bounded.

``q=k=v,k2=~v,k3=[min~max],k4={a b c},k5=(a b)``: exact match, fuzzy (substring) match, an
inclusive range, an or-list and an and-list; a value is a time (``2006-01-02T15:04:05``), an
integer or a string (quotes trimmed). ``sort=k1,-k2``: ascending k1, then descending k2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote

from dockyard.registry.harbor._errors import BadRequest

__all__ = [
    "MAX_QUERY",
    "AndList",
    "Exact",
    "Fuzzy",
    "OrList",
    "Range",
    "Term",
    "Value",
    "parse_bool",
    "parse_query",
    "parse_sort",
]

#: Longest ``q`` accepted, how many keys and list values: fail early, bounded everywhere.
MAX_QUERY = 1024
MAX_KEYS = 16
MAX_VALUES = 100
MAX_SORT_KEYS = 8

Value = str | int | datetime


@dataclass(frozen=True, slots=True)
class Exact:
    value: str


@dataclass(frozen=True, slots=True)
class Fuzzy:
    value: str


@dataclass(frozen=True, slots=True)
class Range:
    min: Value | None
    max: Value | None


@dataclass(frozen=True, slots=True)
class OrList:
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class AndList:
    values: tuple[Value, ...]


Term = Exact | Fuzzy | Range | OrList | AndList

_HINT = "e.g. q=name=~app, q=tags={v1 v2}, q=push_time=[2024-01-01T00:00:00~2024-02-01T00:00:00]"


def _value(text: str) -> Value:
    text = text.strip()
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    body = text[1:] if text[:1] in "+-" else text
    if body.isdigit() and body.isascii():
        number = int(text)
        if -(2**63) <= number < 2**63:
            return number
    return text.strip("\"'")


def _list(value: str, close: str, what: str) -> tuple[Value, ...]:
    if value[-1] != close:
        raise BadRequest(f"invalid query value {value!r}: {what} must end with {close!r}")
    values = tuple(v for v in (_value(s) for s in value[1:-1].split(" ")) if v != "")
    if len(values) > MAX_VALUES:
        raise BadRequest(f"invalid query value: more than {MAX_VALUES} values in one list")
    return values


def _term(value: str) -> Term:
    first = value[0]
    if first == "~":
        if len(value) < 2:
            raise BadRequest('invalid query value: a fuzzy match "~" needs at least 1 character')
        return Fuzzy(value[1:])
    if first == "[":
        if value[-1] != "]" or value.count("~") != 1:
            raise BadRequest(
                f'invalid query value {value!r}: a range is "[min~max]" with exactly one "~"'
            )
        low, _, high = value[1:-1].partition("~")
        if not low.strip() and not high.strip():
            raise BadRequest(f"invalid query value {value!r}: a range needs a min or a max")
        return Range(_value(low) if low.strip() else None, _value(high) if high.strip() else None)
    if first == "{":
        return OrList(_list(value, "}", "an or-list"))
    if first == "(":
        return AndList(_list(value, ")", "an and-list"))
    return Exact(value[1:] if first == "\\" else value)


def parse_query(q: str | None) -> dict[str, Term]:
    """Every ``key=term`` of ``q``; BadRequest saying what is wrong otherwise."""
    if not q:
        return {}
    if len(q) > MAX_QUERY:
        raise BadRequest(f"the query q is longer than {MAX_QUERY} characters")
    q = unquote(q)  # Harbor unescapes once more (q=tags%3Dnil)
    params = q.split(",")
    if len(params) > MAX_KEYS:
        raise BadRequest(f"the query q has more than {MAX_KEYS} keys")
    terms: dict[str, Term] = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep or not key or not value:
            raise BadRequest(
                'the query string must contain "=" and the key/value cannot be empty', hint=_HINT
            )
        terms[key] = _term(value)
    return terms


def parse_sort(sort: str | None, allowed: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """``sort=k1,-k2`` as ((k1, False), (k2, True)); only keys in ``allowed``."""
    if not sort:
        return ()
    keys = sort.split(",")
    if len(keys) > MAX_SORT_KEYS:
        raise BadRequest(f"sort has more than {MAX_SORT_KEYS} keys")
    out: list[tuple[str, bool]] = []
    for key in keys:
        name = key[1:] if key.startswith("-") else key
        if name not in allowed:
            raise BadRequest(
                f"cannot sort by {name!r}", hint=f"sort by one of {', '.join(allowed)}"
            )
        out.append((name, key.startswith("-")))
    return tuple(out)


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_bool(name: str, text: str | None, default: bool) -> bool:
    """A boolean query parameter, spelled as Go's ``strconv.ParseBool`` accepts."""
    if text is None:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, not {text!r}")
