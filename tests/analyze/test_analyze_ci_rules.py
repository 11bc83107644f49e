"""``dockyard analyze --ci``: the same verdicts as ``dive --ci`` for the same rules, and dive's
``.dive-ci`` file accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.analyze_helpers import SavedImage, analyze_json, load_into, run_dive

pytestmark = pytest.mark.docker

# (dive's flag values, the same as dockyard flags); the wasteful image has efficiency ≈ 0.61,
# ≈ 4.14 MB wasted and a user-wasted ratio ≈ 0.57
CASES = [
    {},
    {"lowestEfficiency": "0.5", "highestUserWastedPercent": "0.6"},
    {"lowestEfficiency": "0.5", "highestUserWastedPercent": "0.6", "highestWastedBytes": "4MB"},
    {"lowestEfficiency": "0.5", "highestUserWastedPercent": "0.6", "highestWastedBytes": "4MiB"},
    {"lowestEfficiency": "0.7", "highestUserWastedPercent": "disabled"},
    {"lowestEfficiency": "disabled", "highestUserWastedPercent": "0.5"},
]
_FLAG = {
    "lowestEfficiency": "--lowest-efficiency",
    "highestWastedBytes": "--highest-wasted-bytes",
    "highestUserWastedPercent": "--highest-user-wasted-percent",
}


def test_ci_verdicts_match_dive(
    wasteful_image: SavedImage, dockyard_root: Path, tmp_path: Path
) -> None:
    load_into(dockyard_root, wasteful_image.archive)
    for case in CASES:
        dive_flags = [f"--{k}={v}" for k, v in case.items()]
        ours_flags = [f"{_FLAG[k]}={v}" for k, v in case.items()]
        dive_exit, _, dive_out = run_dive(wasteful_image.archive, None, *dive_flags)
        ours = analyze_json(dockyard_root, wasteful_image.ref, "--ci", *ours_flags, check=False)
        assert ours["_exit"] == dive_exit, (case, dive_out, ours["ci"])
        verdicts = {r["rule"]: r["status"] for r in ours["ci"]["rules"]}
        for rule, status in verdicts.items():
            assert f"{status}: {rule}" in _plain(dive_out), (case, rule, dive_out)


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_dive_ci_file_is_honoured(
    wasteful_image: SavedImage, dockyard_root: Path, tmp_path: Path
) -> None:
    load_into(dockyard_root, wasteful_image.archive)
    (tmp_path / ".dive-ci").write_text(
        "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1MB\n"
        "  highestUserWastedPercent: disabled\n"
    )
    failed = run_dockyard(
        "analyze", wasteful_image.ref, "--ci", root=dockyard_root, cwd=tmp_path, check=False
    )
    assert failed.returncode == 1, failed.stdout
    assert "FAIL: highestWastedBytes: too many bytes wasted" in failed.stdout
    assert "PASS: lowestEfficiency" in failed.stdout
    assert "SKIP: highestUserWastedPercent" in failed.stdout
    # a flag given on the command line wins over the file
    passed = run_dockyard(
        "analyze", wasteful_image.ref, "--ci", "--highest-wasted-bytes", "5MB",
        root=dockyard_root, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert passed.returncode == 0, passed.stdout
    assert "Result:PASS" in passed.stdout
    # without --ci the thresholds only inform: exit 0
    plain = run_dockyard("analyze", wasteful_image.ref, root=dockyard_root, cwd=tmp_path)
    assert "Results:" not in plain.stdout


def test_bad_ci_settings_are_refused_clearly(
    clean_image: SavedImage, dockyard_root: Path, tmp_path: Path
) -> None:
    load_into(dockyard_root, clean_image.archive)
    out = run_dockyard(
        "analyze", clean_image.ref, "--ci", "--lowest-efficiency", "2",
        root=dockyard_root, check=False,
    )  # fmt: skip
    assert out.returncode != 0
    assert "lowestEfficiency value 2 is outside the allowed range (0-1)" in out.stderr
    (tmp_path / "bad.yaml").write_text("rules:\n  lowestEfficency: 0.5\n")
    out = run_dockyard(
        "analyze", clean_image.ref, "--ci", "--ci-config", tmp_path / "bad.yaml",
        root=dockyard_root, check=False,
    )  # fmt: skip
    assert out.returncode != 0
    assert "unknown rule(s) lowestEfficency" in out.stderr
    out = run_dockyard(
        "analyze", clean_image.ref, "--ci", "--highest-wasted-bytes", "12 parsecs",
        root=dockyard_root, check=False,
    )  # fmt: skip
    assert "unknown size unit 'parsecs'" in out.stderr


def test_missing_image_is_a_clear_error(dockyard_root: Path) -> None:
    out = run_dockyard("analyze", "nothing/here:1", root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "No such image: nothing/here:1" in out.stderr
