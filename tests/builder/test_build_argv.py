"""dockyard.builder._argv reads a plain ``dockyard build`` invocation exactly as click does, and
leaves every other one (help, errors, unusual spellings) to click."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from dockyard.builder import _argv
from dockyard.cli._cmd_build import build_cmd
from dockyard.cli._main import cli

READ = [
    ["."],
    ["-t", "app:1", "ctx"],
    ["ctx", "-t", "a:1", "--tag", "b:2", "--tag=c:3"],
    ["-f", "Dockerfile.dev", "--file=other", "-q", "ctx"],
    ["--build-arg", "A=1", "--build-arg=B", "--target", "final", "."],
    ["--no-cache", "--pull", "--push", "--debug-shell", "--quiet", "."],
    ["--platform", "linux/arm64", "--network", "none", "--progress=json", "."],
    ["--network=default", "--progress", "quiet", "--runtime", "runc", "."],
    ["--secret", "id=s,src=f", "--label", "k=v", "--label", "x=y", "."],
    ["-o", "type=oci,dest=out.tar", "--output=type=local,dest=d", "."],
    ["--cache-from", "reg/cache", "--cache-to=type=local,dest=c", "."],
    ["--iidfile", "id.txt", "-"],
    ["-f", "-", "ctx"],
    ["-t", "x", "-t", "x", "ctx", "--target", "a", "--target", "b"],
    ["--tag", "", "ctx"],
]

LEFT_TO_CLICK = [
    [],
    ["--help"],
    ["-h", "."],
    [".", "other"],
    ["--no-such-option", "."],
    ["--network", "bridge", "."],
    ["--progress=fancy", "."],
    ["--runtime", "youki", "."],
    ["--no-cache=yes", "."],
    ["-t"],
    ["-t", "--quiet", "."],
    ["-qt", "app", "."],
    ["-tapp", "."],
    ["--", "."],
    ["--iidfile", "DIRECTORY", "."],
]


def click_params(args: list[str]) -> dict[str, Any]:
    ctx = build_cmd.make_context("build", list(args))
    params = dict(ctx.params)
    if params["iidfile"] is not None:
        params["iidfile"] = str(params["iidfile"])
    return params


@pytest.mark.parametrize("args", READ, ids=" ".join)
def test_plain_invocations_give_what_click_gives(args: list[str]) -> None:
    parsed = _argv.parse(["build", *args], {})
    assert parsed is not None
    root, params = parsed
    assert root is None
    assert params == click_params(args)


@pytest.mark.parametrize("args", LEFT_TO_CLICK, ids=" ".join)
def test_everything_else_is_left_to_click(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "DIRECTORY").mkdir()
    assert _argv.parse(["build", *args], {}) is None


def test_every_click_option_is_known_to_the_fast_reader() -> None:
    spellings = {o for p in build_cmd.params for o in p.opts if o.startswith("-")}
    assert spellings == set(_argv.OPTIONS)
    for p in build_cmd.params:
        if isinstance(p.type, click.Choice):
            assert tuple(p.type.choices) == _argv.CHOICES[p.name or ""]


def test_the_store_root_comes_from_root_or_the_environment(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert _argv.parse(["--root", "/r", "build", "."], {})[0] == "/r"  # type: ignore[index]
    assert _argv.parse(["--root=/r", "build", "."], {"DOCKYARD_ROOT": "/e"})[0] == "/r"  # type: ignore[index]
    assert _argv.parse(["build", "."], {"DOCKYARD_ROOT": "/e"})[0] == "/e"  # type: ignore[index]
    assert _argv.parse(["build", "."], {"DOCKYARD_ROOT": ""})[0] is None  # type: ignore[index]
    # what click refuses or answers itself
    assert _argv.parse(["--root", str(a_file), "build", "."], {}) is None
    assert _argv.parse(["--version", "build", "."], {}) is None
    assert _argv.parse(["images"], {}) is None
    # click agrees on the root
    ctx = cli.make_context("dockyard", ["--root", "/r", "build", "."])
    assert ctx.params["root"] == Path("/r")
