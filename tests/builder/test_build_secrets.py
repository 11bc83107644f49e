"""``--secret`` as buildx spells it: id/src/source/env/type, an ID alone (a variable, else a
file), clear errors; a secret from the environment reaches RUN and stays out of the image."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from _infra import run_dockyard
from dockyard.builder.solver import parse_secret
from dockyard.errors import InvalidArgument, NotFound


def _value(path: Path) -> bytes:
    return path.read_bytes()


def test_files_by_src_source_type_and_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "npmrc"
    secret.write_text("token=1")
    assert parse_secret(f"id=npm,src={secret}", {}) == ("npm", secret)
    assert parse_secret(f"id=npm,source={secret}", {}) == ("npm", secret)
    assert parse_secret(f"type=file,src={secret}", {}) == ("npmrc", secret)  # ID: base name
    assert parse_secret(f'"id=npm","src={secret}"', {}) == ("npm", secret)  # CSV, as buildx
    monkeypatch.chdir(tmp_path)
    assert parse_secret("id=npmrc", {}) == ("npmrc", Path("npmrc"))  # no such variable: a file
    assert parse_secret("type=file,id=npmrc", {"npmrc": "x"}) == ("npmrc", Path("npmrc"))


def test_environment_variables_by_env_type_and_id() -> None:
    env = {"TOKEN": "s3cret", "API_KEY": "k€y", "EMPTY": ""}
    ident, path = parse_secret("id=tok,env=TOKEN", env)
    assert (ident, _value(path)) == ("tok", b"s3cret")
    ident, path = parse_secret("env=TOKEN", env)  # ID: the variable's name
    assert (ident, _value(path)) == ("TOKEN", b"s3cret")
    ident, path = parse_secret("type=env,src=API_KEY", env)  # with type=env, src names it
    assert (ident, _value(path)) == ("API_KEY", "k€y".encode())
    ident, path = parse_secret("id=API_KEY", env)  # an ID alone: the variable, when set
    assert (ident, _value(path)) == ("API_KEY", "k€y".encode())
    ident, path = parse_secret("type=env,id=EMPTY", env)
    assert (ident, _value(path)) == ("EMPTY", b"")
    assert _value(path) == b""  # read again from the start


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    cases: list[tuple[str, type[Exception], str]] = [
        ("id=tok,env=NOPE", NotFound, "environment variable NOPE is not set"),
        ("type=env,id=NOPE", NotFound, "environment variable NOPE is not set"),
        (f"id=f,src={tmp_path}/missing", NotFound, f"failed to stat {tmp_path}/missing"),
        (f"id=d,src={tmp_path}", InvalidArgument, "is not a regular file"),
        ("id=nothing-here", NotFound, "no environment variable nothing-here and no file"),
        ("tok", InvalidArgument, "'tok': must be a key=value pair"),
        ("id=a,bogus=1", InvalidArgument, "unexpected key 'bogus' in 'bogus=1'"),
        ("id=a,type=vault", InvalidArgument, "unsupported secret type 'vault'"),
        ("type=env", InvalidArgument, "secret missing ID"),
        ("id=a,src=f,env=V", InvalidArgument, "not both"),
    ]
    for text, kind, words in cases:
        with pytest.raises(kind) as info:
            parse_secret(text, {"V": "v"})
        assert words in str(info.value), (text, str(info.value))
    big = tmp_path / "big"
    big.write_bytes(b"x" * (500 * 1024 + 1))
    with pytest.raises(InvalidArgument, match=r"too big\. max size 500KB"):
        parse_secret(f"id=big,src={big}", {})
    with pytest.raises(InvalidArgument, match=r"too big\. max size 500KB"):
        parse_secret("id=big,env=BIG", {"BIG": "x" * (500 * 1024 + 1)})


DOCKERFILE = """\
FROM busybox:test
RUN --mount=type=secret,id=api,required \\
    --mount=type=secret,id=SECOND_TOKEN,required \\
    sha256sum /run/secrets/api /run/secrets/SECOND_TOKEN | cut -d' ' -f1 > /hashes
"""


@pytest.mark.slow
def test_secrets_from_the_environment_reach_run_and_stay_out_of_the_image(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    values = {"API_TOKEN": "value-of-the-api-token-7f3a", "SECOND_TOKEN": "second-secret-9c1e"}
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    out = tmp_path / "fs"
    run_dockyard(
        "build", "--progress", "plain", "-t", "secret:1",
        "--secret", "id=api,env=API_TOKEN", "--secret", "id=SECOND_TOKEN",
        "-o", "type=store", "-o", f"type=local,dest={out}", ctx,
        root=dockyard_root, env=values,
    )  # fmt: skip
    expected = [hashlib.sha256(v.encode()).hexdigest() for v in values.values()]
    assert (out / "hashes").read_text().split() == expected
    assert not (out / "run" / "secrets" / "api").exists()

    # not in any blob of the store (layers decompressed), nor in the history or the config
    for blob in (dockyard_root / "blobs" / "sha256").iterdir():
        data = blob.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for value in values.values():
            assert value.encode() not in data, blob.name
    history = run_dockyard("history", "--no-trunc", "secret:1", root=dockyard_root).stdout
    inspect = run_dockyard("inspect", "secret:1", root=dockyard_root).stdout
    assert "sha256sum /run/secrets/api" in history  # the step is there, as BuildKit writes it
    for value in values.values():
        assert value not in history and value not in inspect
    assert json.loads(inspect)[0]["Config"].get("Env") == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ]


def test_a_secret_variable_that_is_not_set_is_named(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    done = run_dockyard(
        "build", "--secret", "id=api,env=DOCKYARD_TEST_UNSET_TOKEN", ctx,
        root=dockyard_root, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "environment variable DOCKYARD_TEST_UNSET_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr
