"""CVSS base scores from vectors: v3.0/v3.1 computed here (spec §7.1), v4.0 via ``cvss``."""

from __future__ import annotations

import math

from dockyard.errors import InvalidArgument

__all__ = ["base_score", "rating"]

_V3 = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _roundup(value: float) -> float:
    """CVSS v3.1 Roundup (Appendix A): the smallest one-decimal number >= value."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def _v3(vector: str) -> float:
    parts = dict(p.split(":", 1) for p in vector.split("/")[1:] if ":" in p)
    try:
        scope = parts["S"]
        iss = 1 - (1 - _V3["C"][parts["C"]]) * (1 - _V3["I"][parts["I"]]) * (
            1 - _V3["A"][parts["A"]]
        )
        impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
        exploit = 8.22 * _V3["AV"][parts["AV"]] * _V3["AC"][parts["AC"]] * _PR[scope][parts["PR"]]
        exploit *= _V3["UI"][parts["UI"]]
    except KeyError as exc:
        raise InvalidArgument(f"incomplete or invalid CVSS v3 vector {vector!r}: {exc}") from exc
    if impact <= 0:
        return 0.0
    if scope == "U":
        return _roundup(min(impact + exploit, 10))
    return _roundup(min(1.08 * (impact + exploit), 10))


def base_score(vector: str) -> float:
    if vector.startswith("CVSS:3."):
        return _v3(vector)
    if vector.startswith("CVSS:4.0/"):
        from cvss import CVSS4  # type: ignore[import-untyped]
        from cvss.exceptions import CVSS4Error  # type: ignore[import-untyped]

        try:
            return float(CVSS4(vector).base_score)
        except CVSS4Error as exc:
            raise InvalidArgument(f"invalid CVSS v4 vector {vector!r}: {exc}") from exc
    raise InvalidArgument(f"unsupported CVSS vector {vector!r} (v3.0, v3.1 and v4.0 are read)")


def rating(score: float) -> str:
    """The qualitative severity of a base score (same bands in v3 and v4)."""
    if score == 0:
        return "NONE"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    if score < 9:
        return "HIGH"
    return "CRITICAL"
