"""``dockyard htpasswd`` (Apache's flags and exit codes) and ``login``/``logout`` against a
registry with htpasswd auth: exit codes, what they print, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import bcrypt
import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, run_in_process
from _infra.registry_server import start_registry


def test_htpasswd_line_file_and_verify(dockyard_root: Path, tmp_path: Path) -> None:
    out = run_in_process("htpasswd", "-Bbn", "alice", "s3cret", root=dockyard_root)
    user, _, hashed = out.stdout.strip().partition(":")
    assert user == "alice" and bcrypt.checkpw(b"s3cret", hashed.encode())
    path = tmp_path / "htpasswd"
    run_in_process("htpasswd", "-Bbc", path, "alice", "s3cret", root=dockyard_root)
    ok = run_in_process("htpasswd", "-bv", path, "alice", "s3cret", root=dockyard_root)
    assert "Password for user alice correct." in ok.stderr
    # Apache's exit 3 for a wrong password or an unknown user
    bad = run_in_process("htpasswd", "-bv", path, "alice", "nope", root=dockyard_root, check=False)
    assert bad.returncode == 3, bad.stderr
    missing = run_in_process(
        "htpasswd", "-bv", tmp_path / "none", "a", "b", root=dockyard_root, check=False
    )
    assert missing.returncode == 1 and missing.stderr.startswith("Error: "), missing.stderr


def test_htpasswd_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("htpasswd", "-Bbn", "alice", root=dockyard_root, check=False),
        "expected USER PASSWORD, got 1",
    )
    assert_help(dockyard_root, "htpasswd")


@pytest.mark.slow
def test_login_logout(dockyard_root: Path, tmp_path: Path) -> None:
    auth = tmp_path / "htpasswd"
    run_in_process("htpasswd", "-Bbc", auth, "alice", "s3cret", root=dockyard_root)
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "test",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(auth),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    with start_registry(tmp_path / "registry", env=env) as registry:
        out = run_dockyard(
            "login",
            "-u",
            "alice",
            "--password-stdin",
            registry.host,
            input="s3cret\n",
            root=dockyard_root,
            env=env,
        )
        assert out.stdout == "Login Succeeded\n", out.stdout
        config = json.loads((tmp_path / "docker" / "config.json").read_text())
        assert registry.host in config["auths"]
        bad = run_dockyard(
            "login",
            "-u",
            "alice",
            "--password-stdin",
            registry.host,
            input="wrong\n",
            root=dockyard_root,
            env=env,
            check=False,
        )
        assert bad.returncode == 1 and bad.stderr.startswith("Error: "), bad.stderr
        out = run_dockyard("logout", registry.host, root=dockyard_root, env=env)
        assert out.stdout == f"Removing login credentials for {registry.host}\n"
        out = run_dockyard("logout", registry.host, root=dockyard_root, env=env)
        assert out.stdout == f"Not logged in to {registry.host}\n"
    assert_usage_error(run_in_process("login", root=dockyard_root, check=False), "Missing argument")
    assert_help(dockyard_root, "login")
    assert_help(dockyard_root, "logout")
