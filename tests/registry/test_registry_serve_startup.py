"""``dockyard registry serve`` says "listening" only once the port is bound; a busy port is one
``Error:`` line ("cannot listen on HOST:PORT: address already in use") and exit status 1."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from _infra import dockyard_executable, terminate


@contextmanager
def _held_port() -> Iterator[int]:
    """A port on 127.0.0.1 another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield int(s.getsockname()[1])


def _serve(tmp_path: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [dockyard_executable(), "registry", "serve", "--root", str(tmp_path / "root"),
         "--addr", f"127.0.0.1:{port}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_busy_port_is_one_error_line_and_no_listening(tmp_path: Path, workers: str) -> None:
    with _held_port() as port:
        process = _serve(tmp_path, port, "--workers", workers)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the registry kept running on a busy port:\n{err.decode()}")
    text = err.decode(errors="replace")
    assert process.returncode == 1, text
    assert "listening" not in text and "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith(
        f"Error: cannot listen on 127.0.0.1:{port}: address already in use"
    ), text


@pytest.mark.slow
def test_listening_is_logged_once_the_port_is_bound(tmp_path: Path) -> None:
    """The moment the log says "listening", a connection to the port is accepted."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = _serve(tmp_path, port)
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            lines.append(raw.decode(errors="replace"))
            if "listening on" in lines[-1]:
                seen.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(60), "".join(lines)
        connected = socket.create_connection(("127.0.0.1", port), timeout=5)
        connected.close()
        assert f"listening on http://127.0.0.1:{port}" in lines[-1]
    finally:
        terminate(process)
        reader.join(5)
        if process.stderr is not None:
            process.stderr.close()
