"""``dockyard info``, ``system info`` and ``system df``: docker's fields, ``--format json`` and
templates, usage errors."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from _infra import run_dockyard
from _infra.cli_contract import (
    assert_help,
    assert_usage_error,
    import_image,
    json_lines,
    run_in_process,
)


def _fields(text: str) -> dict[str, str]:
    return dict(line.strip().partition(": ")[::2] for line in text.splitlines())


def test_info_names_the_operating_system_as_docker_does(dockyard_root: Path) -> None:
    """docker info: "Operating System: Debian GNU/Linux 12 (bookworm)" (os-release's
    PRETTY_NAME) and "OSType: linux"."""
    try:
        expected = platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        expected = "Linux"
    fields = _fields(run_dockyard("info", root=dockyard_root).stdout)
    assert fields["Operating System"] == expected
    assert fields["OSType"] == "linux"
    raw = json.loads(run_dockyard("info", "--format", "json", root=dockyard_root).stdout)
    assert raw["OperatingSystem"] == expected
    assert raw["OSType"] == "linux"


def test_info_json_and_template(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "sys/one:1")
    raw = json.loads(run_in_process("info", "--format", "json", root=dockyard_root).stdout)
    for key in ("ServerVersion", "Images", "Driver", "DockyardRootDir", "Architecture"):
        assert key in raw, raw
    assert raw["Images"] == 1 and raw["DockyardRootDir"] == str(dockyard_root)
    out = run_in_process("system", "info", "-f", "{{.Images}} {{.Driver}}", root=dockyard_root)
    assert out.stdout == "1 oci-layout\n"


def test_system_df_json_keys(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "sys/one:1")
    rows = json_lines(run_in_process("system", "df", "--format", "json", root=dockyard_root).stdout)
    assert [r["Type"] for r in rows] == ["Images"]
    assert {"TotalCount", "Active", "Size", "Reclaimable"} <= set(rows[0])
    assert rows[0]["TotalCount"] == "1"
    text = run_in_process("system", "df", "-v", root=dockyard_root).stdout
    assert text.startswith("TYPE") and "Images space usage:" in text


def test_system_usage_errors(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("system", "df", "--bogus", root=dockyard_root, check=False),
        "No such option '--bogus'",
    )
    assert_usage_error(
        run_in_process("info", "extra", root=dockyard_root, check=False),
        "Got unexpected extra argument (extra)",
    )
    assert "df" in assert_help(dockyard_root, "system")
    assert_help(dockyard_root, "info")
