"""Version ordering tables, from each specification's own examples."""

from __future__ import annotations

import subprocess

import pytest

from dockyard.scan._cvss import base_score, rating
from dockyard.scan.versions import (
    compare_apk,
    compare_dpkg,
    compare_maven,
    compare_pep440,
    compare_rpm,
    compare_semver,
)

# (smaller, larger) pairs
DPKG = [
    ("1:1.2~rc1-1", "1:1.2-1"),  # the example: ~ sorts before everything
    ("1.0~~", "1.0~"),  # deb-version(7)
    ("1.0~", "1.0"),
    ("1.0", "1.0a"),
    ("1.0a", "1.0+"),  # letters sort before non-letters
    ("2.0", "1:0.1"),  # epoch wins
    ("1.2-1", "1.2-1.1"),
    ("1.2-9", "1.2-10"),  # digits compare numerically
    ("5.8.0-1", "5.8.0-1+deb12u1"),
    ("98.0.4758.80-1~deb11u1", "98.0.4758.80-1"),
    ("2.36-9", "2.36-9+deb12u4"),
]
APK = [
    ("1.2.3_alpha", "1.2.3_beta"),
    ("1.2.3_rc1", "1.2.3"),
    ("1.2.3", "1.2.3_p1"),
    ("1.2.3-r0", "1.2.3-r1"),
    ("1.2.3a", "1.2.3b"),
    ("1.2.3", "1.2.4_alpha"),
    ("1.2.9", "1.2.10"),
    ("5.2.5-r0", "5.2.5-r1"),
]
RPM = [
    ("1.0~rc1", "1.0"),  # tilde: before the release
    ("1.0", "1.0^git1"),  # caret: after the release, before the next
    ("1.0^git1", "1.0.1"),
    ("1.0-1", "1.0-2"),
    ("1.9", "1.10"),
    ("1:1.0", "2:0.1"),
    ("1.0a", "1.0.1"),  # letters sort before numbers
]
PEP440 = [  # PEP 440's summary ordering
    ("1.0.dev456", "1.0a1"),
    ("1.0a1", "1.0a2.dev456"),
    ("1.0a2.dev456", "1.0a12.dev456"),
    ("1.0a12", "1.0b1.dev456"),
    ("1.0b2", "1.0b2.post345.dev456"),
    ("1.0b2.post345", "1.0c1.dev456"),
    ("1.0rc1", "1.0"),
    ("1.0", "1.0+abc.5"),
    ("1.0+abc.7", "1.0.post456.dev34"),
    ("1.0.post456.dev34", "1.0.post456"),
    ("1.0.post456", "1.1.dev1"),
]
SEMVER = [  # semver.org §11
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
    ("1.0.0-alpha.beta", "1.0.0-beta"),
    ("1.0.0-beta", "1.0.0-beta.2"),
    ("1.0.0-beta.2", "1.0.0-beta.11"),
    ("1.0.0-beta.11", "1.0.0-rc.1"),
    ("1.0.0-rc.1", "1.0.0"),
    ("1.9.0", "1.10.0"),
    ("2.0.0", "2.1.1"),
]
GO = [  # golang.org/ref/mod#pseudo-versions
    ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-aaaaaaaaaaaa"),
    ("v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5"),  # vX.Y.(Z+1)-0.… follows vX.Y.Z
    ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"),
    ("v1.2.3-pre", "v1.2.3-pre.0.20191109021931-daa7c04131f5"),
    ("v0.4.0", "v0.17.0"),
]
MAVEN = [  # ComparableVersion's documented order
    ("1.0-alpha-1", "1.0-beta-1"),
    ("1.0-beta-1", "1.0-milestone-1"),
    ("1.0-milestone-1", "1.0-rc-1"),
    ("1.0-rc-1", "1.0-SNAPSHOT"),
    ("1.0-SNAPSHOT", "1.0"),
    ("1.0", "1.0-sp-1"),
    ("1.0-a1", "1.0-b1"),
    ("1.0.9", "1.0.10"),
    ("2.13.4", "2.13.4.1"),
]
SAME = [
    (compare_semver, "1.0.0+build.1", "1.0.0+build.2"),  # build metadata is ignored
    (compare_semver, "v2.0.0+incompatible", "v2.0.0"),
    (compare_dpkg, "1.0", "0:1.0"),
    (compare_dpkg, "1.01", "1.1"),
    (compare_maven, "1.0", "1.0.0"),
    (compare_maven, "1.0", "1.0-ga"),
    (compare_maven, "1.0-RC1", "1.0-cr1"),
    (compare_pep440, "1.0", "1.0.0"),
    (compare_rpm, "1.0", "1.0"),
    (compare_apk, "1.2.3-r0", "1.2.3"),
]


@pytest.mark.parametrize(
    ("cmp", "small", "large"),
    [(compare_dpkg, a, b) for a, b in DPKG]
    + [(compare_apk, a, b) for a, b in APK]
    + [(compare_rpm, a, b) for a, b in RPM]
    + [(compare_pep440, a, b) for a, b in PEP440]
    + [(compare_semver, a, b) for a, b in SEMVER + GO]
    + [(compare_maven, a, b) for a, b in MAVEN],
)
def test_order(cmp, small: str, large: str) -> None:  # type: ignore[no-untyped-def]
    assert cmp(small, large) < 0
    assert cmp(large, small) > 0
    assert cmp(small, small) == 0


@pytest.mark.parametrize(("cmp", "a", "b"), SAME)
def test_equal(cmp, a: str, b: str) -> None:  # type: ignore[no-untyped-def]
    assert cmp(a, b) == 0


def test_dpkg_agrees_with_dpkg_itself() -> None:
    """Every pair (and its reverse) checked with `dpkg --compare-versions`."""
    for small, large in DPKG:
        assert subprocess.run(["dpkg", "--compare-versions", small, "lt", large]).returncode == 0
        assert compare_dpkg(small, large) < 0


@pytest.mark.parametrize(
    ("vector", "score"),
    [  # scores from the FIRST calculators
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1),
        ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
    ],
)
def test_cvss_base_scores(vector: str, score: float) -> None:
    assert base_score(vector) == score


def test_cvss_v3_agrees_with_reference_library(vulndb) -> None:  # type: ignore[no-untyped-def]
    """Every CVSS v3 vector in the test data scores as the `cvss` library scores it."""
    import json

    from cvss import CVSS3  # type: ignore[import-untyped]

    vectors = set()
    for path in vulndb.glob("osv/*/*.json"):
        for sev in json.loads(path.read_text()).get("severity") or []:
            if sev["type"] == "CVSS_V3":
                vectors.add(sev["score"])
    assert len(vectors) >= 10
    for vector in vectors:
        assert base_score(vector) == float(CVSS3(vector).base_score), vector
    assert rating(9.8) == "CRITICAL" and rating(7.0) == "HIGH" and rating(0.1) == "LOW"
