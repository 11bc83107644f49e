"""A real Docker distribution registry (Debian's ``docker-registry``) on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _infra._process import run_command, terminate

DOCKER_REGISTRY = "/usr/bin/docker-registry"


@dataclass(frozen=True)
class RunningRegistry:
    """``host`` is ``127.0.0.1:PORT``; ``user``/``password`` are set when htpasswd is on."""

    host: str
    root: Path
    user: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _config(
    root: Path, port: int, htpasswd: Path | None, token: dict[str, str] | None = None
) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: dockyard-tests",
    ]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: dockyard-tests", f"    path: {htpasswd}"]
    elif token is not None:
        lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in token.items()]
    return "\n".join(lines) + "\n"


def wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"registry exited with {proc.returncode}: {out[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # 401 from an auth-enabled registry: it is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"registry at {url} did not come up within {timeout} s")


@contextmanager
def docker_registry(
    root: Path,
    *,
    user: str | None = None,
    password: str | None = None,
    token: dict[str, str] | None = None,
) -> Iterator[RunningRegistry]:
    """Run ``docker-registry serve`` with a config in ``root``; stopped when the block ends.
    ``token`` is distribution's ``auth: token:`` section (realm, service, issuer,
    rootcertbundle) for Docker token auth."""
    root.mkdir(parents=True, exist_ok=True)
    htpasswd = None
    if user is not None:
        assert password is not None
        line = run_command(["htpasswd", "-Bbn", user, password]).stdout.strip()
        htpasswd = root / "htpasswd"
        htpasswd.write_text(line + "\n")
    port = free_port()
    config = root / "config.yml"
    config.write_text(_config(root, port, htpasswd, token))
    proc = subprocess.Popen(
        [DOCKER_REGISTRY, "serve", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc)
        yield RunningRegistry(f"127.0.0.1:{port}", root, user, password)
    finally:
        terminate(proc)
        if proc.stdout:
            proc.stdout.close()


@contextmanager
def dockyard_registry(
    root: Path, *, user: str | None = None, password: str | None = None
) -> Iterator[RunningRegistry]:
    """Run ``dockyard registry serve`` (htpasswd auth when ``user`` is given) on 127.0.0.1."""
    import os

    from _infra._cli import dockyard_executable

    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if user is not None:
        assert password is not None
        line = run_command(["htpasswd", "-Bbn", user, password]).stdout.strip()
        htpasswd = root / "htpasswd"
        htpasswd.write_text(line + "\n")
        env.update(
            REGISTRY_AUTH="htpasswd",
            REGISTRY_AUTH_HTPASSWD_REALM="dockyard-tests",
            REGISTRY_AUTH_HTPASSWD_PATH=str(htpasswd),
        )
    port = free_port()
    proc = subprocess.Popen(
        [
            dockyard_executable(),
            "registry",
            "serve",
            "--root",
            str(root / "data"),
            "--addr",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc)
        yield RunningRegistry(f"127.0.0.1:{port}", root, user, password)
    finally:
        terminate(proc)
        if proc.stdout:
            proc.stdout.close()


def skopeo_push(image_ref: str, host: str, repo: str, tag: str = "v1") -> str:
    """``skopeo copy`` an image (any skopeo transport) to ``host/repo:tag`` over plain HTTP;
    returns the registry's manifest digest."""
    target = f"docker://{host}/{repo}:{tag}"
    run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", image_ref, target])
    out = run_command(
        ["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", target]
    )
    return str(out.stdout).strip()
