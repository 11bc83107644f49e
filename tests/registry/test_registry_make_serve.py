"""``make serve`` and a browser: the open registry serves the web console at ``/`` without
sign-in (with the push and pull help, and how to get projects and users), and ``make serve
AUTH=projects`` serves the console with sign-in (its first start prints the ``admin`` password,
which signs in). Real ``make`` running real ``dockyard registry serve`` processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra._registry import free_port
from _infra.console import push_files_image, sign_in

ROOT = Path(__file__).resolve().parents[2]
_PASSWORD = re.compile(r"admin password: (\S+) \(shown once")

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str
    log: Path


@contextlib.contextmanager
def _make_serve(tmp_path: Path, *variables: str) -> Iterator[Served]:
    """``make serve VARIABLES`` (``-o install-runtime``: the venv is there already) on a free
    port and a data directory of its own, until /v2/ answers; the whole process group is
    stopped afterwards."""
    port = free_port()
    log = tmp_path / f"make-serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "DOCKYARD_"))}
    env.pop("AUTH", None)
    env |= {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / f"data-{port}"),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "-s", "-C", str(ROOT), "-o", "install-runtime", "serve", *variables],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # make and the registry it starts: one group to stop
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"make serve exited:\n{log.read_text()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                    break
            assert time.monotonic() < deadline, f"no registry at {url}:\n{log.read_text()}"
            time.sleep(0.1)
        yield Served(url, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_serve_serves_the_open_console(tmp_path: Path) -> None:
    with _make_serve(tmp_path) as served:
        with httpx.Client(base_url=served.url) as api:
            push_files_image(api, "team/app", "1", [{"etc/os-release": b"ID=x\n"}], ["ADD x /"])
        home = httpx.get(f"{served.url}/")
        assert home.status_code == 200
        assert "open registry: no sign-in" in home.text  # the console, nobody signs in
        assert 'href="/projects/team/repository?name=app">team/app</a>' in home.text
        assert "docker push" in home.text  # still the push and pull help
        assert "make serve AUTH=projects" in home.text  # and how to get projects and users
        login = httpx.get(f"{served.url}/login")
        assert login.status_code == 303 and login.headers["location"] == "/"


def test_make_serve_auth_projects_serves_the_console(tmp_path: Path) -> None:
    with _make_serve(tmp_path, "AUTH=projects") as served:
        found = _PASSWORD.search(served.log.read_text())
        assert found is not None, served.log.read_text()
        with httpx.Client(base_url=served.url) as browser:
            assert browser.get("/").headers["location"] == "/login"
            assert sign_in(browser, "admin", "not-" + found.group(1)).status_code == 401
            signed = sign_in(browser, "admin", found.group(1))
            assert signed.status_code == 303 and signed.headers["location"] == "/"
            home = browser.get("/")
            assert home.status_code == 200
            assert "Sign out" in home.text and "admin" in home.text
