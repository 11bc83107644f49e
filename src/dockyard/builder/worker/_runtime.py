"""An OCI runtime (crun or runc) running one detached container to completion."""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from dockyard.builder.worker._cgroups import crun_refusal
from dockyard.errors import RuntimeMissing

if TYPE_CHECKING:  # subprocess loads when a build step runs (dockyard run starts its own way)
    import subprocess

__all__ = ["RUNTIMES", "OciRuntime", "OutputCallback", "find_runtime", "installed_runtimes"]

#: Supported runtimes in order of preference, with the Debian package providing each.
RUNTIMES = {"crun": "crun", "runc": "runc"}

_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")

#: the logger of the runtime choice (``dockyard build --debug`` shows it)
_LOGGER = "dockyard.builder.runtime"

#: Receives each line of the step's output (stdout and stderr interleaved), newline stripped.
OutputCallback = Callable[[str], None]


class OciRuntime(NamedTuple):
    """A runtime binary and the state directory it keeps its containers in."""

    name: str
    path: str
    state_root: Path

    def _cmd(self, *args: str) -> list[str]:
        # Build steps need no cgroup of their own. (This does not lift crun's refusal of hybrid
        # v1 + v2 hierarchies with v2 controllers: find_runtime avoids crun there.)
        extra = ["--cgroup-manager=disabled"] if self.name == "crun" else []
        return [self.path, "--root", str(self.state_root), *extra, *args]

    def run(
        self,
        bundle: Path,
        container_id: str,
        *,
        on_output: OutputCallback | None = None,
        timeout: float | None = None,
        tail_lines: int = 20,
    ) -> tuple[int, tuple[str, ...]]:
        """Run the bundle's container to its end: ``(exit status, last output lines)``.

        No terminal; stdin is /dev/null. On timeout, an exception or Ctrl-C the container is
        killed; it is deleted in every case. A process killed by signal N gives 128+N.
        """
        import subprocess

        self.state_root.mkdir(parents=True, exist_ok=True)
        tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        proc = subprocess.Popen(
            self._cmd("run", "--bundle", str(bundle), container_id),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self.kill(container_id, proc)

        timer = threading.Timer(timeout, expire) if timeout else None
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                tail.append(line)
                if on_output is not None:
                    on_output(line)
            status = proc.wait()
        except BaseException:
            self.kill(container_id, proc)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            self.delete(container_id)
        if timed_out.is_set():
            tail.append(f"(killed after the {timeout:g} s timeout)")
        if status < 0:
            status = 128 - status
        return status, tuple(tail)

    def kill(self, container_id: str, proc: subprocess.Popen[bytes] | None = None) -> None:
        import subprocess

        subprocess.run(
            self._cmd("kill", container_id, "KILL"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def delete(self, container_id: str) -> None:
        """Remove the container's state; a ``run`` that ended normally has left none behind."""
        if not (self.state_root / container_id).exists():
            return
        import subprocess

        subprocess.run(
            self._cmd("delete", "--force", container_id),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *_SBIN]))


def installed_runtimes() -> dict[str, str]:
    """The supported runtimes installed here (on ``PATH`` or in an sbin directory): name →
    path, in order of preference. Whether each can run containers on this host is
    :func:`find_runtime`'s question."""
    return {name: path for name in RUNTIMES if (path := _which(name)) is not None}


@functools.cache
def _say_fallback(reason: str, what: str) -> None:
    """Log (once per process) why the default choice is runc. Only a process that set up
    logging (``--debug``, or a program using the library) has a handler for a debug line, and
    it has loaded ``logging``; a build without one does not load it just to drop the line
    (``tests/test_import_budget.py`` keeps ``logging`` off the build's start-up path)."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(_LOGGER).debug(
            "using runc for %s: crun cannot run them here: %s", what, reason
        )


def find_runtime(
    state_root: Path, preferred: str | None = None, *, what: str = "RUN steps"
) -> OciRuntime:
    """crun when it is installed and can run containers on this host, else runc; or only
    ``preferred``, which must be installed and able to run here. ``what`` the runtime is for
    ("RUN steps" of a build, "containers" of ``dockyard run``) words the errors and the debug
    line about the choice."""
    if preferred and preferred not in RUNTIMES:
        raise RuntimeMissing(f"unknown OCI runtime {preferred!r}: use crun or runc")
    names = [preferred] if preferred else list(RUNTIMES)
    found = {name: path for name, path in installed_runtimes().items() if name in names}
    refusal = crun_refusal() if "crun" in found else None
    if preferred == "crun" and refusal is not None:
        raise RuntimeMissing(
            f"crun cannot run {what} on this host: {refusal}", hint="use --runtime runc"
        )
    if refusal is not None:
        if "runc" in found:
            _say_fallback(refusal, what)
        else:
            raise RuntimeMissing(
                f"crun cannot run {what} on this host ({refusal}) and runc is not installed",
                hint="install the Debian package runc (apt-get install runc)",
            )
        del found["crun"]
    for name in names:
        if name in found:
            return OciRuntime(name, found[name], state_root / name)
    packages = " or ".join(RUNTIMES[n] for n in names)
    raise RuntimeMissing(
        f"no OCI runtime to run {what}: {' and '.join(names)} not found",
        hint=f"install the Debian package {packages} (apt-get install {names[0]})",
    )
