"""The commands the registry's home page suggests work when pasted: real skopeo against a real
registry process serving plain HTTP."""

from __future__ import annotations

import asyncio
import html
import re
import shlex
from pathlib import Path

import httpx
import pytest

from _infra import run_command, run_dockyard
from _infra.registry_server import RegistryProcess
from dockyard.registry import Registry, RegistryApp

_PRE = re.compile(r"<pre>(.*?)</pre>", re.S)


def _suggested(page: str, tool: str) -> list[str]:
    lines = [html.unescape(line) for block in _PRE.findall(page) for line in block.splitlines()]
    return [line for line in lines if line.startswith(f"{tool} ")]


def _layout_image(root: Path, context: Path, layout: Path) -> None:
    """``oci:LAYOUT:latest``: a small image built here (FROM scratch, no runtime needed)."""
    context.mkdir()
    (context / "hello").write_text("hello\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY hello /hello\n")
    run_dockyard("build", "-q", "-t", "homepage/hello:1", context, root=root)
    run_dockyard("copy", "homepage/hello:1", f"oci:{layout}:latest", root=root)


@pytest.mark.slow
def test_suggested_skopeo_commands_work_over_plain_http(
    registry_server: RegistryProcess, tmp_path: Path
) -> None:
    page = httpx.get(f"{registry_server.url}/").text
    commands = _suggested(page, "skopeo")
    pushes = [c for c in commands if c.split()[-1].startswith("docker://")]
    pulls = [c for c in commands if c.split()[-1].startswith("oci:")]
    assert pushes and pulls, commands
    # the page's example image, where its commands expect it: ./busybox, tag latest
    work = tmp_path / "work"
    work.mkdir()
    _layout_image(tmp_path / "store", tmp_path / "ctx", work / "busybox")
    # the registry holds busybox:latest whatever the page says about pushing
    run_dockyard(
        "copy",
        f"oci:{work / 'busybox'}:latest",
        f"docker://{registry_server.host}/busybox:latest",
        root=tmp_path / "store",
    )
    for command in pushes + pulls:
        done = run_command(shlex.split(command), cwd=work, check=False, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    index = (work / "busybox" / "index.json").read_text()
    assert "latest" in index


def _page(scheme: str, tmp_path: Path, headers: dict[str, str] | None = None) -> str:
    registry = Registry.open(tmp_path / f"registry-{scheme}")
    app = RegistryApp(registry, threads=2)

    async def get() -> str:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://registry.test"
        ) as client:
            return (await client.get("/", headers=headers)).text

    try:
        return asyncio.run(get())
    finally:
        registry.close()


@pytest.mark.slow
def test_tls_registry_page_keeps_tls_verification(tmp_path: Path) -> None:
    """Turning off certificate checks is advice for plain HTTP only, never for HTTPS."""
    plain = _page("http", tmp_path)
    assert "tls-verify=false" in plain and "curl http://registry.test/" in plain
    for page in (
        _page("https", tmp_path),
        # TLS ended by a proxy in front of the registry
        _page("http", tmp_path, {"X-Forwarded-Proto": "https"}),
    ):
        assert _suggested(page, "skopeo")
        assert "tls-verify" not in page
        assert "curl https://registry.test/" in page
