"""dockyard build's flags and failure reports (dockyard alone, busybox base)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from _infra import run_dockyard


def _ctx(tmp: Path, dockerfile: str) -> Path:
    ctx = tmp / "ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "data.txt").write_text("data\n")
    return ctx


FAILING = """\
FROM busybox:test
RUN echo preparing > /prepared
RUN echo first line; echo the last words; exit 3
RUN echo never
"""


@pytest.mark.slow
def test_failing_run_reports_step_line_exit_code_and_output(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, FAILING)
    done = run_dockyard("build", "--progress", "plain", str(ctx), root=dockyard_root, check=False)
    assert done.returncode == 1
    err = done.stderr
    assert "did not complete successfully: exit code: 3" in err
    assert "[3/4] RUN echo first line; echo the last words; exit 3" in err
    assert "Dockerfile:3" in err and ">>> RUN echo first line" in err
    assert "the last words" in err
    assert "never" not in err.split("ERROR")[0].split("#4")[-1] or "[4/4]" not in err


def test_debug_shell_opens_in_the_failed_steps_filesystem(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, FAILING)
    script = "cat /prepared\necho shell-user=$(id -u)\nls /\nexit 0\n"
    done = run_dockyard(
        "build",
        "--debug-shell",
        "--progress",
        "plain",
        str(ctx),
        root=dockyard_root,
        check=False,
        input=script,
    )
    assert done.returncode == 1
    assert "preparing" in done.stdout  # the failed step's filesystem, with earlier steps
    assert "shell-user=0" in done.stdout
    assert "exit code: 3" in done.stderr


@pytest.mark.slow
def test_outputs_iidfile_labels_and_parent(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, "FROM busybox:test\nCOPY data.txt /d/\nLABEL from=file\n")
    iid = tmp_path / "iid"
    run_dockyard(
        "build",
        "-t",
        "out:1",
        "-t",
        "out:2",
        "--label",
        "from=cli",
        "--label",
        "extra=yes",
        "--iidfile",
        iid,
        "-o",
        "type=store",
        "-o",
        f"type=oci,dest={tmp_path / 'oci.tar'}",
        "-o",
        f"type=docker,dest={tmp_path / 'docker.tar'}",
        "-o",
        f"type=local,dest={tmp_path / 'fs'}",
        str(ctx),
        root=dockyard_root,
    )
    image_id = iid.read_text().strip()
    info = json.loads(run_dockyard("inspect", "out:2", root=dockyard_root).stdout)[0]
    assert info["Id"] == image_id
    assert info["Config"]["Labels"] == {"from": "cli", "extra": "yes"}
    base = json.loads(run_dockyard("inspect", dy_busybox, root=dockyard_root).stdout)[0]
    assert info.get("Parent") == base["Id"]
    assert (tmp_path / "fs" / "d" / "data.txt").read_text() == "data\n"
    assert (tmp_path / "fs" / "bin" / "busybox").is_file()
    with tarfile.open(tmp_path / "docker.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["out:1", "out:2"]
    with tarfile.open(tmp_path / "oci.tar") as tar:
        assert "index.json" in tar.getnames()
    other = tmp_path / "other-store"
    run_dockyard("load", "-i", tmp_path / "docker.tar", root=other)
    again = json.loads(run_dockyard("inspect", "out:1", root=other).stdout)[0]
    assert again["Id"] == image_id


@pytest.mark.slow
def test_tar_context_on_stdin_and_dockerfile_from_stdin(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (
            ("Dockerfile", b"FROM busybox:test\nCOPY . /ctx/\n"),
            ("keep.txt", b"keep\n"),
            ("skip.log", b"skip\n"),
            (".dockerignore", b"*.log\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out = tmp_path / "fs"
    run_dockyard(
        "build",
        "-o",
        f"type=local,dest={out}",
        "-",
        root=dockyard_root,
        input=buf.getvalue(),
        text=False,
    )
    assert (out / "ctx" / "keep.txt").read_bytes() == b"keep\n"
    assert not (out / "ctx" / "skip.log").exists()
    ctx = _ctx(tmp_path / "two", "unused")
    out2 = tmp_path / "fs2"
    run_dockyard(
        "build",
        "-f",
        "-",
        "-o",
        f"type=local,dest={out2}",
        str(ctx),
        root=dockyard_root,
        input="FROM busybox:test\nCOPY data.txt /from-stdin-dockerfile\n",
    )
    assert (out2 / "from-stdin-dockerfile").read_text() == "data\n"


def test_missing_base_image_is_named(dockyard_root: Path, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM 127.0.0.1:9/nowhere/base:1\nRUN true\n")
    done = run_dockyard("build", str(ctx), root=dockyard_root, check=False)
    assert done.returncode != 0
    assert "127.0.0.1:9/nowhere/base:1" in done.stderr
    assert "Traceback" not in done.stderr


def test_secret_network_none_and_dockerfile_errors(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret")
    ctx = _ctx(
        tmp_path,
        "FROM busybox:test\n"
        "RUN --mount=type=secret,id=token,required cat /run/secrets/token > /seen\n"
        "RUN ip link | grep -c '^[0-9]' > /links\n",
    )
    out = tmp_path / "fs"
    run_dockyard(
        "build",
        "--secret",
        f"id=token,src={secret}",
        "--network",
        "none",
        "-o",
        f"type=local,dest={out}",
        str(ctx),
        root=dockyard_root,
    )
    assert (out / "seen").read_text() == "s3cret"
    assert (out / "links").read_text().strip() == "1"  # only lo: no network
    assert not (out / "run" / "secrets" / "token").exists()
    bad = _ctx(tmp_path / "bad", "FROM busybox:test\nRUN true\nCOPY --from=nowhere-stage\n")
    done = run_dockyard("build", str(bad), root=dockyard_root, check=False)
    assert done.returncode != 0
    assert "Dockerfile:3" in done.stderr
