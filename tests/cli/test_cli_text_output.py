"""What ``dockyard info`` and ``dockyard diff`` print for people: docker's spellings, never a
Python repr (``{'runc': …}``, ``['/bin/sh']``) and never a raw byte count."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import run_in_process

# what a Python repr of a list, dict, tuple or path looks like in text
_REPR = re.compile(r"\['|\{'|\('|PosixPath\(|': ")


def _build(root: Path, context: Path, tag: str, dockerfile: str, files: dict[str, str]) -> None:
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for name, data in files.items():
        (context / name).write_text(data)
    run_dockyard("build", "-q", "-t", tag, context, root=root)


@pytest.fixture
def two_images(dockyard_root: Path, tmp_path: Path) -> tuple[str, str]:
    """Two small images (FROM scratch: no daemon, no runtime) whose configs differ in every
    kind of value a config holds: lists, maps of empty objects, plain strings."""
    _build(
        dockyard_root,
        tmp_path / "old",
        "textout/old:1",
        'FROM scratch\nCOPY f /f\nCMD ["/bin/sh"]\n',
        {"f": "old\n"},
    )
    _build(
        dockyard_root,
        tmp_path / "new",
        "textout/new:1",
        "FROM scratch\nCOPY f /f\nENV GREETING=hello\n"
        'ENTRYPOINT ["/bin/sh", "-c"]\nCMD ["echo hi", "x"]\n'
        "LABEL version=2\nEXPOSE 8080/tcp\nVOLUME /data\n",
        {"f": "a new file\n"},
    )
    return "textout/old:1", "textout/new:1"


def _config_rows(text: str) -> dict[str, list[str]]:
    """``KEY -> [STATUS, OLD, NEW]`` from the Config table (columns split at the header)."""
    lines = text.splitlines()
    start = lines.index("Config:") + 1
    header = lines[start]
    cols = [header.index(name) for name in ("STATUS", "KEY", "OLD", "NEW")]
    rows: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(cols, [*cols[1:], None], strict=True)]
        rows[cells[1]] = [cells[0], cells[2], cells[3]]
    return rows


@pytest.mark.slow
def test_diff_shows_config_values_as_json_not_python(
    dockyard_root: Path, two_images: tuple[str, str]
) -> None:
    old, new = two_images
    text = run_in_process("diff", old, new, root=dockyard_root).stdout
    assert not _REPR.search(text), text
    rows = _config_rows(text)
    # lists as a Dockerfile's exec form writes them (JSON): an argument with a space stays one
    assert rows["config.Cmd"] == ["changed", '["/bin/sh"]', '["echo hi", "x"]'], text
    assert rows["config.Entrypoint"] == ["added", "", '["/bin/sh", "-c"]'], text
    # plain strings stay plain
    assert rows["config.Env.GREETING"] == ["added", "", "hello"], text
    assert rows["config.Labels.version"] == ["added", "", "2"], text
    # EXPOSE and VOLUME (maps of empty objects) are differences too, shown as their keys
    assert rows["config.ExposedPorts"] == ["added", "", '["8080/tcp"]'], text
    assert rows["config.Volumes"] == ["added", "", '["/data"]'], text
    # and the JSON output carries the same values as JSON values
    data = json.loads(
        run_in_process("diff", old, new, "--format", "json", root=dockyard_root).stdout
    )
    by_key = {c["key"]: c for c in data["config"]}
    assert by_key["config.Cmd"]["new"] == ["echo hi", "x"]
    assert by_key["config.ExposedPorts"]["new"] == ["8080/tcp"]


def _info_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(": ")
        assert sep, f"not a 'Key: value' line: {line!r}"
        fields[key] = value
    return fields


def test_info_reads_like_docker_info(dockyard_root: Path) -> None:
    text = run_in_process("info", root=dockyard_root).stdout
    assert not _REPR.search(text), text
    fields = _info_fields(text)
    runtimes = [name for name in ("crun", "runc") if shutil.which(name)]
    # docker: "Runtimes: io.containerd.runc.v2 runc", "Default Runtime: runc"
    assert fields["Runtimes"] == " ".join(runtimes), text
    assert fields["Default Runtime"] == (runtimes[0] if runtimes else ""), text
    assert fields["Dockyard Root Dir"] == str(dockyard_root), text
    # docker: "Total Memory: 15.52GiB" (binary units, 4 significant digits)
    assert re.fullmatch(r"\d{1,4}(\.\d{1,3})?(B|KiB|MiB|GiB|TiB|PiB)", fields["Disk Free"]), text
    # the machine-readable forms keep the raw values
    raw = json.loads(run_in_process("info", "--format", "json", root=dockyard_root).stdout)
    assert isinstance(raw["DiskFree"], int)
    assert list(raw["Runtimes"]) == runtimes
