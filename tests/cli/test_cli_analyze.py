"""``dockyard analyze``, ``diff`` and ``lint``: ``--format json`` keys, the CI and lint exit
codes, not-found and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, import_image, run_in_process


def test_analyze_json_and_ci_exit_codes(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "cli/an:1")
    doc = json.loads(
        run_in_process("analyze", "cli/an:1", "--format", "json", root=dockyard_root).stdout
    )
    for key in ("image", "sizeBytes", "efficiency", "wastedBytes", "layers", "advice"):
        assert key in doc, doc.keys()
    assert len(doc["layers"]) == 1
    # --ci: exit 0 when dive's rules pass; a bad rule value is an error (exit 1) saying so
    run_in_process("analyze", "cli/an:1", "--ci", "--lowest-efficiency", "0.5", root=dockyard_root)
    bad = run_dockyard(  # the console script: the status as a CI job's shell sees it
        "analyze",
        "cli/an:1",
        "--ci",
        "--highest-wasted-bytes",
        "lots",
        root=dockyard_root,
        check=False,
    )
    assert bad.returncode == 1, bad.stderr
    assert "Error: 'lots' is not a size" in bad.stderr


def test_diff_json(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "cli/an:1")
    import_image(dockyard_root, tmp_path, "cli/an:2", {"etc/motd": b"changed\n", "etc/new": b"x"})
    doc = json.loads(
        run_in_process(
            "diff", "cli/an:1", "cli/an:2", "--format", "json", root=dockyard_root
        ).stdout
    )
    assert {"image1", "image2", "layers", "config", "files", "totals"} <= set(doc)
    assert doc["totals"]["added"]["count"] >= 1
    assert doc["totals"]["removed"]["count"] >= 1  # /bin/hello is not in the second


def test_lint_json_and_exit_codes(dockyard_root: Path, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian\nRUN apt-get install -y curl\n")
    out = run_in_process("lint", dockerfile, "--format", "json", root=dockyard_root, check=False)
    assert out.returncode == 1  # warnings fail at the default threshold, as hadolint
    findings = json.loads(out.stdout)
    assert {"code", "level", "line", "column", "message", "file"} <= set(findings[0])
    assert "DL3006" in {f["code"] for f in findings}
    run_in_process("lint", "--no-fail", dockerfile, root=dockyard_root)
    run_in_process("lint", "--failure-threshold", "error", dockerfile, root=dockyard_root)
    clean = tmp_path / "Clean.Dockerfile"
    clean.write_text("FROM scratch\nCOPY a /a\n")
    assert (
        json.loads(
            run_in_process(
                "lint",
                clean,
                "--format",
                "json",
                "--ignore",
                "DY001",
                "--ignore",
                "DY003",
                root=dockyard_root,
            ).stdout
        )
        == []
    )


def test_not_found_and_usage_errors(dockyard_root: Path) -> None:
    out = run_in_process("analyze", "nosuch", root=dockyard_root, check=False)
    assert out.returncode == 1 and "nosuch" in out.stderr, out.stderr
    assert_usage_error(
        run_in_process("analyze", "--format", "xml", "x", root=dockyard_root, check=False),
        "Invalid value for '--format'",
    )
    assert_usage_error(
        run_in_process("diff", "only-one", root=dockyard_root, check=False), "Missing argument"
    )
    for command in ("analyze", "diff", "lint"):
        assert_help(dockyard_root, command)
