"""``dockyard registry serve config.yml``: the config file as registry:2 takes it (a positional
argument), as well as ``-c/--config``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from _infra import dockyard_executable
from _infra.registry_server import free_port, wait_ready

pytestmark = pytest.mark.slow


def _write_config(path: Path, root: Path, port: int) -> Path:
    path.write_text(
        "version: 0.1\n"
        "storage:\n"
        "  filesystem:\n"
        f"    rootdirectory: {root}\n"
        "http:\n"
        f"  addr: 127.0.0.1:{port}\n"
    )
    return path


@contextmanager
def _serving(args: list[str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.pop("DOCKYARD_REGISTRY_ROOT", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [dockyard_executable(), "registry", "serve", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_takes_the_config_file_as_an_argument(tmp_path: Path) -> None:
    port = free_port()
    config = _write_config(tmp_path / "config.yml", tmp_path / "data", port)
    with _serving(["config.yml"], tmp_path, tmp_path / "serve.log") as process:
        wait_ready(f"http://127.0.0.1:{port}", process, tmp_path / "serve.log")
        assert httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 200
    # the config's storage root was used, not ./.serve
    assert (tmp_path / "data").is_dir() and not (tmp_path / ".serve").exists()
    # the same file named both ways is no conflict
    port = free_port()
    _write_config(config, tmp_path / "data", port)
    with _serving(["./config.yml", "-c", str(config)], tmp_path, tmp_path / "both.log") as process:
        wait_ready(f"http://127.0.0.1:{port}", process, tmp_path / "both.log")


def test_two_different_config_files_are_a_usage_error(tmp_path: Path) -> None:
    a = _write_config(tmp_path / "a.yml", tmp_path / "a", free_port())
    b = _write_config(tmp_path / "b.yml", tmp_path / "b", free_port())
    done = subprocess.run(
        [dockyard_executable(), "registry", "serve", str(a), "--config", str(b)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "a.yml" in done.stderr and "b.yml" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
