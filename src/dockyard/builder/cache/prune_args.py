"""``docker builder prune``'s ``--filter`` and ``--keep-storage`` values, parsed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from dockyard.errors import InvalidArgument
from dockyard.imageservice import parse_duration, parse_time

__all__ = ["parse_prune_filters", "parse_storage_size"]

#: docker's ``units.RAMInBytes``: ``512``, ``100k``, ``1.5GB``, ``2 GiB`` (binary multiples)
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULTIPLE = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_storage_size(text: str) -> int:
    """Bytes from ``--keep-storage``'s value, as docker reads it (``10GB`` is 10 GiB)."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise InvalidArgument(
            f"invalid size {text!r}: use a number of bytes with an optional unit "
            "(b, k, m, g, t, p; e.g. 512MB, 10GB)"
        )
    try:
        number = float(match.group(1))
    except ValueError:
        raise InvalidArgument(f"invalid size {text!r}: {match.group(1)} is not a number") from None
    return int(number * _MULTIPLE[(match.group(2) or "").lower()])


def parse_prune_filters(filters: Iterable[str], now: datetime | None = None) -> datetime | None:
    """The cut-off time of ``until=DURATION|TIMESTAMP`` (or ``unused-for=DURATION``, its older
    spelling): cache last used before it may go. None without such a filter."""
    now = now or datetime.now(UTC)
    cutoff: datetime | None = None
    for text in filters:
        key, eq, value = text.partition("=")
        key = key.strip().lower()
        if not eq or not value:
            raise InvalidArgument(f"bad format of filter {text!r}: expected key=value")
        if key not in ("until", "unused-for"):
            raise InvalidArgument(
                f"invalid filter {key!r}: builder prune takes until=DURATION (e.g. until=24h) "
                "or an RFC 3339 or Unix time"
            )
        if cutoff is not None:
            raise InvalidArgument("give at most one until filter")
        try:
            cutoff = now - parse_duration(value)
            continue
        except InvalidArgument:
            if key == "unused-for":
                raise
        try:
            cutoff = datetime.fromtimestamp(float(value), UTC)
            continue
        except (ValueError, OverflowError):
            pass
        cutoff = parse_time(value)
        if cutoff is None:
            raise InvalidArgument(
                f"invalid until value {value!r}: use a duration (24h, 90m), a Unix time or an "
                "RFC 3339 date"
            )
    return cutoff
