"""docker's ``--filter`` for images and prune: dangling, reference, label, before, since, until."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.errors import InvalidArgument, NotFound
from dockyard.imageservice._lookup import find_image
from dockyard.imageservice._summary import ImageSummary, parse_time

__all__ = ["ImageFilter", "parse_duration", "parse_filters"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> timedelta:
    """Go's time.ParseDuration: ``24h``, ``1h30m``, ``90s``."""
    pos = 0
    total = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise InvalidArgument(f'invalid duration "{text}": use Go durations like 24h, 90m, 1h30m')
    return timedelta(seconds=total)


def _timestamp(value: str, now: datetime) -> datetime:
    """``until=`` accepts a duration, a Unix timestamp or an RFC 3339 date, like docker."""
    try:
        return now - parse_duration(value)
    except InvalidArgument:
        pass
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    parsed = parse_time(value)
    if parsed is None:
        raise InvalidArgument(
            f"invalid timestamp {value!r}: use a duration (24h), a Unix time or an RFC 3339 date"
        )
    return parsed


@dataclass
class ImageFilter:
    """A conjunction of docker-style filters; values of one key are alternatives."""

    tests: list[Callable[[ImageSummary], bool]]
    dangling: bool | None = None

    def __call__(self, image: ImageSummary) -> bool:
        return all(test(image) for test in self.tests)


def _label_test(values: list[str], negate: bool = False) -> Callable[[ImageSummary], bool]:
    def test(image: ImageSummary) -> bool:
        labels = image.labels
        hit = False
        for value in values:
            key, eq, want = value.partition("=")
            if key in labels and (not eq or labels[key] == want):
                hit = True
        return hit != negate

    return test


def _dangling_test(want: bool) -> Callable[[ImageSummary], bool]:
    return lambda image: image.dangling == want


def _time_test(pivot: datetime, *, older: bool) -> Callable[[ImageSummary], bool]:
    def test(image: ImageSummary) -> bool:
        created = image.created or pivot
        return created < pivot if older else created > pivot

    return test


def _path_match(pattern: str, text: str) -> bool:
    """Go's path.Match: ``*`` and ``?`` never cross a ``/``."""
    regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text) is not None


def _reference_test(patterns: list[str]) -> Callable[[ImageSummary], bool]:
    """docker's FamiliarMatch: the pattern against ``name:tag``, then against ``name``."""

    def test(image: ImageSummary) -> bool:
        return any(
            _path_match(p, ref.familiar) or _path_match(p, ref.familiar_name)
            for ref in image.tags
            for p in patterns
        )

    return test


def parse_filters(
    specs: Iterable[str],
    images: list[ImageSummary],
    *,
    allowed: frozenset[str] = frozenset({"dangling", "reference", "label", "before", "since"}),
    now: datetime | None = None,
) -> ImageFilter:
    """Parse ``key=value`` filter specs against the images they will be applied to."""
    now = now or datetime.now(UTC)
    grouped: dict[str, list[str]] = {}
    for spec in specs:
        key, eq, value = spec.partition("=")
        if not eq:
            raise InvalidArgument(f'bad format of filter (expected name=value): "{spec}"')
        if key not in allowed:
            raise InvalidArgument(f"invalid filter '{key}'")
        grouped.setdefault(key, []).append(value)
    tests: list[Callable[[ImageSummary], bool]] = []
    dangling: bool | None = None
    for key, values in grouped.items():
        if key == "dangling":
            wants = {v.lower() for v in values}
            if not wants <= {"true", "false", "1", "0"}:
                raise InvalidArgument(f"invalid filter 'dangling={values[0]}'")
            if len({w in {"true", "1"} for w in wants}) > 1:
                raise InvalidArgument("invalid filter 'dangling': true and false at once")
            dangling = next(iter(wants)) in {"true", "1"}
            tests.append(_dangling_test(dangling))
        elif key == "label":
            tests.append(_label_test(values))
        elif key == "label!":
            tests.append(_label_test(values, negate=True))
        elif key == "reference":
            tests.append(_reference_test(values))
        elif key in ("before", "since"):
            pivot = _find(values[-1], images)
            when = pivot.created or datetime.fromtimestamp(0, UTC)
            tests.append(_time_test(when, older=key == "before"))
        elif key == "until":
            limit = _timestamp(values[-1], now)
            tests.append(_time_test(limit, older=True))
    return ImageFilter(tests, dangling)


def _find(text: str, images: list[ImageSummary]) -> ImageSummary:
    try:
        return find_image(text, images)
    except NotFound as exc:
        raise InvalidArgument(f"{exc.message} (in a before/since filter)") from exc
