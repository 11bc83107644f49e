"""The table of limits: parsing of the ``limits:`` section, and the README's copy of the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry import config
from dockyard.registry.limits import LIMIT_SPECS, Limits, limits_from_section, limits_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_limit_has_a_row_and_a_default() -> None:
    names = {spec.name for spec in LIMIT_SPECS}
    assert names == set(Limits.__dataclass_fields__)


def test_the_readme_shows_the_table_as_the_code_has_it() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- limits-table")
    start = text.index("\n", start) + 1
    end = text.index("<!-- /limits-table -->")
    assert text[start:end] == limits_table_markdown()


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("headerbytes", "1MiB", "header_bytes", 1 << 20),
        ("header-bytes", "65536", "header_bytes", 65536),
        ("headercount", "20", "header_count", 20),
        ("headertimeout", "5m", "header_timeout", 300.0),
        ("scanseconds", "1.5", "scan_seconds", 1.5),
        ("manifestbytes", "4MB", "manifest_bytes", 4_000_000),
    ],
)
def test_values_are_parsed_with_their_units(
    key: str, value: str, field: str, expected: float
) -> None:
    assert getattr(limits_from_section({key: value}), field) == expected


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"headerbyte": "1"}, "unknown configuration key 'limits.headerbyte'"),
        ({"headerbytes": "lots"}, "'limits.headerbytes' must be a size"),
        ({"headercount": "2MiB"}, "'limits.headercount' must be a whole number"),
        ({"headertimeout": "soon"}, "'limits.headertimeout' must be a duration"),
        ({"headerbytes": "0"}, "must be a positive value"),
    ],
)
def test_bad_limits_stop_start_up(section: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        limits_from_section(section)


def test_limits_come_from_the_environment_as_registry_variables() -> None:
    loaded = config.load(None, {"REGISTRY_LIMITS_HEADERBYTES": "128KiB"})
    assert loaded.limits.header_bytes == 128 << 10
    with pytest.raises(InvalidArgument, match=r"limits\.headerbyte"):
        config.load(None, {"REGISTRY_LIMITS_HEADERBYTE": "128KiB"})
