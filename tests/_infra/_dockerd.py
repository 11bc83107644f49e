"""A real Docker daemon for the test session, with its own data root and socket."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _infra._process import run_command

# The Debian docker.io client. Another `docker` earlier on PATH may be a different version.
DOCKER = "/usr/bin/docker"
REUSE_ENV = "DOCKYARD_TEST_DOCKER_HOST"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0
_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class DaemonUnavailable(RuntimeError):
    """dockerd is missing, did not start, or does not answer."""


@dataclass
class DockerDaemon:
    """A running dockerd: ``host`` is its DOCKER_HOST url, ``env`` the environment to reach it."""

    host: str
    env: dict[str, str]
    log_path: Path | None = None
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def run(
        self,
        *args: str | os.PathLike[str],
        check: bool = True,
        input: str | bytes | None = None,
        text: bool = True,
        timeout: float | None = 300.0,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[Any]:
        """Run ``/usr/bin/docker ARGS`` against this daemon."""
        full_env = self.env if env is None else {**self.env, **env}
        return run_command(
            [DOCKER, *args],
            env=full_env,
            input=input,
            text=text,
            check=check,
            cwd=cwd,
            timeout=timeout,
        )

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no daemon log: the daemon was not started by the test session)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def find_dockerd() -> str:
    """Path of the dockerd binary; DaemonUnavailable saying how to install it if absent."""
    found = shutil.which("dockerd", path=os.environ.get("PATH", "") + ":" + _SBIN_PATH)
    if found is None or not Path(DOCKER).exists():
        raise DaemonUnavailable(
            f"the docker tests need dockerd and {DOCKER} (Debian package docker.io); "
            "run `make test`, which installs them (as root on Debian), "
            "or `apt-get install docker.io`"
        )
    return found


def docker_env(host: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKER_HOST"] = host
    env["DOCKER_BUILDKIT"] = "0"
    env.pop("DOCKER_CONTEXT", None)
    env.pop("DOCKER_TLS_VERIFY", None)
    env.pop("DOCKER_CERT_PATH", None)
    return env


def _answers(daemon: DockerDaemon) -> bool:
    try:
        result = daemon.run("version", "--format", "{{.Server.Version}}", check=False, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


@contextmanager
def reused_daemon(host: str) -> Iterator[DockerDaemon]:
    """A daemon somebody else started (``DOCKYARD_TEST_DOCKER_HOST``); left running afterwards."""
    daemon = DockerDaemon(host=host, env=docker_env(host))
    if not _answers(daemon):
        said = daemon.run("version", check=False, timeout=10).stderr.strip()
        raise DaemonUnavailable(
            f"{REUSE_ENV}={host} is set but the daemon does not answer `docker version`"
            f" ({said or 'no output'}); unset {REUSE_ENV} to let the tests start their own"
        )
    yield daemon


@contextmanager
def started_daemon(
    timeout: float = START_TIMEOUT, extra_args: tuple[str, ...] = ()
) -> Iterator[DockerDaemon]:
    """Start dockerd under a fresh short directory in /tmp; stop it and remove the dir after.
    ``extra_args`` are more dockerd flags (e.g. ``--registry-mirror``)."""
    dockerd = find_dockerd()
    # Unix socket paths must stay under 108 bytes, so not pytest's long tmp_path.
    workdir = Path(tempfile.mkdtemp(prefix="dy-", dir="/tmp"))
    sock = workdir / "docker.sock"
    host = f"unix://{sock}"
    log_path = workdir / "dockerd.log"
    argv = [
        dockerd,
        "--data-root", str(workdir / "data"),
        "--exec-root", str(workdir / "exec"),
        "--pidfile", str(workdir / "pid"),
        "--host", host,
        "--iptables=false",
        "--bridge=none",
        *extra_args,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=docker_env(host),
        )
    daemon = DockerDaemon(
        host=host, env=docker_env(host), log_path=log_path, workdir=workdir, process=process
    )
    try:
        _wait_until_ready(daemon, timeout)
        yield daemon
    finally:
        _stop(process)
        _unmount_below(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_ready(daemon: DockerDaemon, timeout: float) -> None:
    assert daemon.process is not None
    deadline = time.monotonic() + timeout
    while True:
        code = daemon.process.poll()
        if code is not None:
            raise DaemonUnavailable(
                f"dockerd exited with status {code} while starting; log tail:\n{daemon.log_tail()}"
            )
        if _answers(daemon):
            return
        if time.monotonic() > deadline:
            raise DaemonUnavailable(
                f"dockerd did not answer `docker version` on {daemon.host} within {timeout:.0f}s;"
                f" log tail:\n{daemon.log_tail()}"
            )
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # The daemon leads its own process group (start_new_session): take everything in it.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


def _unmount_below(workdir: Path) -> None:
    """Lazily unmount anything dockerd left mounted under ``workdir`` (deepest first)."""
    prefix = str(workdir) + "/"
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    points = [
        line.split()[4]
        for line in lines
        if len(line.split()) > 4 and line.split()[4].startswith(prefix)
    ]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
