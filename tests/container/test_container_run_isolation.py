"""``dockyard run``: Ctrl-C reaches the container (SIGINT to ``dockyard run`` and to its whole
process group, as a terminal sends it), and ``--network none`` isolates the container from the
host's network, which the default ``--network host`` does not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs
from _infra._cli import ROOT_ENV, dockyard_executable

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

IMAGE = "isolation/busybox:1"

#: a container that exits 33 on SIGINT (its shell's trap), once it has said it is ready
TRAP_INT = 'trap "echo trapped-int; exit 33" INT; echo ready; while :; do sleep 0.1; done'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("isolation")
    root = work / "store"
    image = tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "busybox.tar")
    run_dockyard("import", image, IMAGE, root=root)
    return root


def _run(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dockyard("run", "--rm", *args, root=store, check=False)


@pytest.mark.parametrize("to", ["process", "process group"])
def test_sigint_is_forwarded(store: Path, to: str) -> None:
    proc = subprocess.Popen(
        [dockyard_executable(), "run", "--rm", IMAGE, "sh", "-c", TRAP_INT],
        stdout=subprocess.PIPE,
        env={**os.environ, ROOT_ENV: str(store)},
        start_new_session=True,  # its own group, as a shell's foreground job has
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"ready\n"
        if to == "process":
            proc.send_signal(signal.SIGINT)
        else:  # Ctrl-C in a terminal: the whole foreground group gets it
            os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == 33
        assert proc.stdout.read() == b"trapped-int\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on the host's loopback that answers ``hello`` to every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"hello\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def test_network_none_has_only_loopback_and_no_host_network(store: Path, listener: int) -> None:
    probe = f"busybox nc -w 5 127.0.0.1 {listener} </dev/null; echo status=$?"
    host = _run(store, IMAGE, "sh", "-c", probe)
    assert (host.returncode, host.stdout) == (0, "hello\nstatus=0\n"), host.stderr
    isolated = _run(store, "--network", "none", IMAGE, "sh", "-c", probe)
    assert isolated.returncode == 0, isolated.stderr
    assert isolated.stdout.splitlines()[-1] == "status=1"  # nobody listens in its namespace
    assert "hello" not in isolated.stdout
    interfaces = "ls /sys/class/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
    only_lo = _run(store, "--network", "none", IMAGE, "sh", "-c", interfaces)
    assert (only_lo.returncode, only_lo.stdout) == (0, "lo\nlo\n"), only_lo.stderr
    on_host = _run(store, IMAGE, "sh", "-c", interfaces)
    assert len(set(on_host.stdout.split())) > 1  # the host's interfaces, not just lo
