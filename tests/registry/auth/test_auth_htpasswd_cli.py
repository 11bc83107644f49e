"""``dockyard htpasswd``: lines Apache's htpasswd verifies and a real registry:2 accepts."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from _infra import DockerDaemon, free_port, run_command, run_dockyard, terminate
from _infra._registry import DOCKER_REGISTRY, wait_for_http
from dockyard.cli._main import cli, register_commands
from dockyard.registry.auth import HtpasswdAuthenticator, unauthorized_body


def in_process(*args: str) -> tuple[int, str, str]:
    """Run ``dockyard ARGS`` in this process (for the cheap cases; the rest spawn the CLI)."""
    register_commands()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def apache_verifies(path: Path, user: str, password: str) -> bool:
    result = run_command(["htpasswd", "-vb", path, user, password], check=False)
    return result.returncode == 0


@pytest.mark.slow
def test_bbn_prints_a_line_apache_verifies(tmp_path: Path) -> None:
    out = run_dockyard("htpasswd", "-Bbn", "alice", "s3cret", root=tmp_path).stdout
    assert out.endswith("\n\n")  # Apache's -n output ends with an empty line too
    line = out.splitlines()[0]
    assert line.startswith("alice:$2y$05$") and len(line) == len("alice:") + 60
    path = tmp_path / "htpasswd"
    path.write_text(out)
    assert apache_verifies(path, "alice", "s3cret")
    assert not apache_verifies(path, "alice", "S3cret")
    assert HtpasswdAuthenticator(path, "r").authenticate(basic("alice", "s3cret")) == "alice"


def test_cost_flag() -> None:
    code, out, _ = in_process("htpasswd", "-Bbn", "-C", "7", "u", "p")
    assert code == 0 and out.startswith("u:$2y$07$")


@pytest.mark.slow
def test_password_from_stdin(tmp_path: Path) -> None:
    out = run_dockyard("htpasswd", "-B", "-n", "bob", root=tmp_path, input="pa ss:word\n").stdout
    path = tmp_path / "htpasswd"
    path.write_text(out)
    assert apache_verifies(path, "bob", "pa ss:word")
    out = run_dockyard("htpasswd", "-Bin", "carol", root=tmp_path, input="x\n").stdout
    assert out.startswith("carol:$2y$")


def test_file_form_creates_adds_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "auth" / "htpasswd"
    path.parent.mkdir()
    code, _, err = in_process("htpasswd", "-Bbc", str(path), "alice", "one")
    assert code == 0 and "Adding password for user alice" in err
    path.write_text("# managed by hand\n" + path.read_text())
    in_process("htpasswd", "-Bb", str(path), "bob", "two")
    _, _, err = in_process("htpasswd", "-Bb", str(path), "alice", "three")
    assert "Updating password for user alice" in err
    lines = path.read_text().splitlines()
    assert lines[0] == "# managed by hand"
    assert [x.split(":")[0] for x in lines[1:]] == ["alice", "bob"]
    assert apache_verifies(path, "alice", "three") and not apache_verifies(path, "alice", "one")
    assert apache_verifies(path, "bob", "two")
    assert in_process("htpasswd", "-vb", str(path), "bob", "two")[0] == 0
    code, _, err = in_process("htpasswd", "-vb", str(path), "bob", "nope")
    assert code == 3 and "verification failed" in err
    in_process("htpasswd", "-D", str(path), "alice")
    assert [x.split(":")[0] for x in path.read_text().splitlines()] == ["# managed by hand", "bob"]
    assert not list(path.parent.glob(".htpasswd.*"))  # no temporary files left behind
    # -c starts over
    in_process("htpasswd", "-cBb", str(path), "zed", "z")
    assert [x.split(":")[0] for x in path.read_text().splitlines()] == ["zed"]


@pytest.mark.slow
def test_apache_and_dockyard_edit_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    run_command(["htpasswd", "-Bbc", path, "apache", "a-pass"])
    run_dockyard("htpasswd", "-Bb", path, "dockyard", "d-pass", root=tmp_path)
    run_command(["htpasswd", "-Bb", path, "apache2", "a2"])
    auth = HtpasswdAuthenticator(path, "r")
    assert auth.authenticate(basic("apache", "a-pass")) == "apache"
    assert auth.authenticate(basic("apache2", "a2")) == "apache2"
    assert auth.authenticate(basic("dockyard", "d-pass")) == "dockyard"
    assert apache_verifies(path, "dockyard", "d-pass")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-mbn", "u", "p"], "only bcrypt"),
        (["-Bbn", "u"], "expected USER PASSWORD"),
        (["-Bb", "/nonexistent/htpasswd", "u", "p"], "does not exist"),
        (["-Bbn", "a:b", "p"], "not allowed"),
        (["-Bbn", "u", "x" * 73], "72"),
        (["-Bbnc", "u", "p"], "cannot be combined"),
    ],
)
def test_bad_use_says_what_to_do(args: list[str], words: str) -> None:
    code, _, err = in_process("htpasswd", *args)
    assert code != 0
    assert words in err


@contextmanager
def registry2(root: Path, htpasswd: Path) -> Iterator[str]:
    """Debian's docker-registry (distribution 2.8.2) with our htpasswd file; yields host:port."""
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: test\n"
        f"auth:\n  htpasswd:\n    realm: Registry Realm\n    path: {htpasswd}\n"
    )
    proc = subprocess.Popen(
        [DOCKER_REGISTRY, "serve", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc)
        yield f"127.0.0.1:{port}"
    finally:
        terminate(proc)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.docker
def test_registry2_accepts_our_htpasswd_file(tmp_path: Path, dockerd: DockerDaemon) -> None:
    htpasswd = tmp_path / "htpasswd"
    run_dockyard("htpasswd", "-Bbc", htpasswd, "alice", "s3cret", root=tmp_path)
    with registry2(tmp_path, htpasswd) as host:
        url = f"http://{host}/v2/"
        ok = httpx.get(url, auth=("alice", "s3cret"))
        assert ok.status_code == 200
        denied = httpx.get(url, auth=("alice", "wrong"))
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == 'Basic realm="Registry Realm"'
        anonymous = httpx.get(url)
        assert anonymous.status_code == 401
        assert (
            anonymous.content == unauthorized_body()
        )  # our 401 body is registry:2's, byte for byte

        docker_config = tmp_path / "docker-config"
        docker_config.mkdir()
        env = {"DOCKER_CONFIG": os.fspath(docker_config)}
        login = dockerd.run(
            "login", "-u", "alice", "--password-stdin", host, input="s3cret\n", env=env
        )
        assert "Login Succeeded" in login.stdout
        bad = dockerd.run(
            "login", "-u", "alice", "--password-stdin", host, input="nope\n", env=env, check=False
        )
        assert bad.returncode != 0 and "unauthorized" in (bad.stdout + bad.stderr).lower()
