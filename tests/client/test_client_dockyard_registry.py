"""Round trips through dockyard's own registry server (htpasswd auth), with docker and skopeo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import (
    DockerDaemon,
    RunningRegistry,
    dockyard_registry,
    run_command,
    run_dockyard,
)
from _infra.client_helpers import PASSWORD, USER, make_image, make_multiarch_layout, manifest_digest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with dockyard_registry(
        tmp_path_factory.mktemp("dockyard-registry"), user=USER, password=PASSWORD
    ) as running:
        yield running


def test_round_trip_with_docker_and_skopeo(
    served: RunningRegistry,
    dockerd: DockerDaemon,
    dockyard_root: Path,
    docker_config: Path,
    tmp_path: Path,
) -> None:
    host = served.host
    run_dockyard("login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD)
    ref = f"{host}/own/app:1"
    make_image(dockyard_root, ref, files=3)
    digest = run_dockyard("push", "-q", ref, root=dockyard_root).stdout.strip()
    # docker pulls what dockyard pushed
    dockerd.run("--config", str(docker_config), "pull", ref)
    # skopeo copies it to another repository; dockyard pulls that back
    back = f"{host}/own/back:1"
    creds = f"{USER}:{PASSWORD}"
    run_command(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            creds,
            "--dest-creds",
            creds,
            f"docker://{ref}",
            f"docker://{back}",
        ]
    )
    out = run_dockyard("pull", back, root=tmp_path / "other")
    assert digest in out.stdout
    # a multi-arch index keeps its digest through dockyard copy --all
    layout = tmp_path / "multi"
    index_digest = make_multiarch_layout(layout)
    copied = run_dockyard(
        "copy",
        "--all",
        f"oci:{layout}:multi",
        f"docker://{host}/own/multi:1",
        root=dockyard_root,
    )
    assert copied.stdout.strip() == index_digest
    run_dockyard(
        "copy",
        "--all",
        f"docker://{host}/own/multi:1",
        f"oci:{tmp_path / 'o'}:m",
        root=dockyard_root,
    )
    assert manifest_digest(tmp_path / "o", "m") == index_digest
    raw = run_command(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            creds,
            f"docker://{host}/own/multi:1",
        ]
    ).stdout
    assert len(json.loads(raw)["manifests"]) == 2
