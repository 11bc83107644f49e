"""Real clients still mount across repositories when they name where the blob is (``from``)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs

import pytest

from _infra import BuiltImage, DockerDaemon, run_command
from _infra.registry_server import RegistryProcess

pytestmark = [pytest.mark.docker, pytest.mark.slow]

_POST = re.compile(r'"POST /v2/(\S+)/blobs/uploads/\?(\S*) HTTP/[\d.]+" (\d+)')


def _mounts(server: RegistryProcess, target: str) -> list[tuple[str, str]]:
    """(from, status) of the mount requests for ``target`` in the access log (it is written
    in batches: wait a little for the last one)."""
    found: list[tuple[str, str]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = []
        text = server.log.read_text(errors="replace")
        for name, query, status in _POST.findall(text):
            params = parse_qs(query)
            if name == target and "mount" in params:
                found.append((params.get("from", [""])[0], status))
        if found:
            break
        time.sleep(0.1)
    return found


def test_docker_push_mounts_from_the_repository_it_pushed_to(
    registry_server: RegistryProcess, dockerd: DockerDaemon, multilayer_image: BuiltImage
) -> None:
    first = f"{registry_server.host}/dockyard-test/mount-a:v1"
    second = f"{registry_server.host}/dockyard-test/mount-b:v1"
    dockerd.run("tag", multilayer_image.ref, first)
    dockerd.run("tag", multilayer_image.ref, second)
    try:
        dockerd.run("push", first)
        out = dockerd.run("push", second).stdout
        assert "Mounted from dockyard-test/mount-a" in out, out
        mounts = _mounts(registry_server, "dockyard-test/mount-b")
        assert mounts and all(m == ("dockyard-test/mount-a", "201") for m in mounts), mounts
    finally:
        dockerd.run("rmi", first, second)


def test_skopeo_copy_within_the_registry_mounts(
    registry_server: RegistryProcess, dockerd: DockerDaemon, multilayer_image: BuiltImage
) -> None:
    source = f"docker://{registry_server.host}/skopeo/mount-src:v1"
    target = f"docker://{registry_server.host}/skopeo/mount-dst:v1"
    run_command(
        ["skopeo", "copy", "--quiet", "--src-daemon-host", dockerd.host,
         "--dest-tls-verify=false", f"docker-daemon:{multilayer_image.ref}", source],
        timeout=300,
    )  # fmt: skip
    run_command(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
         source, target],
        timeout=300,
    )  # fmt: skip
    mounts = _mounts(registry_server, "skopeo/mount-dst")
    assert mounts and all(status == "201" for _, status in mounts), mounts
    assert {source for source, _ in mounts} == {"skopeo/mount-src"}
