"""``--debug-shell``: an interactive ``/bin/sh`` in the filesystem a failed RUN left behind,
with the step's environment, user and working directory (run by the worker's OCI runtime)."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys

from dockyard.builder.frontend import RunStep
from dockyard.builder.solver._report import Reporter
from dockyard.builder.worker import Worker, resolve_user
from dockyard.builder.worker._spec import ProcessSpec, runtime_spec

__all__ = ["open_shell"]


def open_shell(worker: Worker, root: object, step: RunStep, reporter: Reporter) -> int:
    """Run ``/bin/sh`` in ``root`` on this process's stdin/stdout; returns its exit status."""
    from pathlib import Path

    rootfs = Path(str(root))
    runtime = worker.runtime
    reporter.message(
        f"Opening /bin/sh in the filesystem of the failed step ({step.history.created_by}); "
        "exit the shell to end the build."
    )
    process = ProcessSpec(
        args=("/bin/sh",),
        env=step.env,
        cwd=step.workdir or "/",
        user=resolve_user(rootfs, step.user),
    )
    spec = runtime_spec(rootfs, process)
    tty = sys.stdin.isatty()
    spec["process"]["terminal"] = tty
    container_id = f"dockyard-debug-{secrets.token_hex(6)}"
    bundle = worker.root / "bundles" / container_id
    bundle.mkdir(parents=True, mode=0o700)
    try:
        (bundle / "config.json").write_text(json.dumps(spec))
        cmd = [runtime.path, "--root", str(runtime.state_root)]
        if runtime.name == "crun":
            cmd.append("--cgroup-manager=disabled")
        runtime.state_root.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        done = subprocess.run([*cmd, "run", "--bundle", str(bundle), container_id], check=False)
        return done.returncode
    finally:
        runtime.delete(container_id)
        shutil.rmtree(bundle, ignore_errors=True)
