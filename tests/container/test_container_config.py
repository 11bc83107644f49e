"""docker's rules for the container's command, environment and flags (no runtime needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.container import command_line, merge_env, parse_env, parse_volume, read_env_file
from dockyard.container._image import check_platform
from dockyard.errors import FailedPrecondition, InvalidArgument

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["default", "args"]}


@pytest.mark.parametrize(
    ("config", "entrypoint", "command", "expected"),
    [
        (IMAGE, None, [], (("/entry",), ("default", "args"))),
        (IMAGE, None, ["mine"], (("/entry",), ("mine",))),
        (IMAGE, "/other", [], (("/other",), ())),  # --entrypoint resets Cmd
        (IMAGE, "/other", ["x"], (("/other",), ("x",))),
        (IMAGE, "", ["sh"], ((), ("sh",))),
        ({"Cmd": ["/bin/sh"]}, None, [], ((), ("/bin/sh",))),
    ],
)
def test_command_line(
    config: dict[str, list[str]],
    entrypoint: str | None,
    command: list[str],
    expected: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    assert command_line(config, entrypoint, command) == expected


@pytest.mark.parametrize(("config", "entrypoint"), [({}, None), (IMAGE, "")])
def test_no_command_is_an_error(config: dict[str, list[str]], entrypoint: str | None) -> None:
    with pytest.raises(InvalidArgument, match="no command specified"):
        command_line(config, entrypoint, [])


def test_env_merge_puts_the_user_first_and_keeps_unnamed_image_entries() -> None:
    image = ["PATH=/img", "A=image", "B=image"]
    assert merge_env(image, []) == image
    assert merge_env(image, ["B=user", "C=user"]) == ["B=user", "C=user", "PATH=/img", "A=image"]


def test_bare_env_names_come_from_the_environment(tmp_path: Path) -> None:
    environ = {"SET": "from-host"}
    assert parse_env(["K=V", "SET", "UNSET"], environ) == ["K=V", "SET=from-host"]
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nA=1\n  SET\nB=two words\n")
    assert read_env_file(env_file, environ) == ["A=1", "SET=from-host", "B=two words"]
    with pytest.raises(InvalidArgument):
        parse_env(["=x"], environ)


@pytest.mark.parametrize(
    ("spec", "target", "read_only"),
    [("/h:/c", "/c", False), ("/h:/c/:ro", "/c", True), ("/h:/c:rw", "/c", False)],
)
def test_volumes(spec: str, target: str, read_only: bool) -> None:
    volume = parse_volume(spec)
    assert (volume.source, volume.target, volume.read_only) == (Path("/h"), target, read_only)


@pytest.mark.parametrize("spec", ["/h", "name:/c", "/h:c", "/h:/c:rx", "/h:/", ":/c", "a:b:c:d"])
def test_bad_volumes(spec: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid volume specification"):
        parse_volume(spec)


def test_a_foreign_platform_needs_an_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockyard.oci import Platform

    assert check_platform(None) is None
    assert check_platform(str(Platform.current())) == Platform.current().normalized()
    (tmp_path / "register").touch()  # binfmt_misc mounted, no handler registered
    monkeypatch.setenv("DOCKYARD_BINFMT_MISC", str(tmp_path))
    with pytest.raises(FailedPrecondition, match="linux/s390x: no qemu-s390x binfmt_misc handler"):
        check_platform("linux/s390x")
