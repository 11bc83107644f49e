"""The config the frontend predicts equals what real ``docker build`` (BuildKit) produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from _infra.build_helpers import CONFIG_KEYS
from dockyard.builder.frontend import BuildGraph, StageState, dispatch_stage, parse_dockerfile
from dockyard.oci.platform import Platform

DOCKERFILE = """\
ARG BASE
FROM $BASE AS base
ARG VERSION=1.2
ENV APP_HOME=/srv/app \\
    VERSION_ENV=v${VERSION}
ENV LEGACY two words
LABEL org.example.version="$VERSION" "quoted key"="x y" plain=${APP_HOME}/lbl
EXPOSE 80 443/udp 9000-9001
VOLUME ["/data", "$APP_HOME/cache"]
WORKDIR $APP_HOME
WORKDIR sub
USER 1000:1000
HEALTHCHECK --interval=30s --timeout=5s --start-period=1s --retries=2 CMD wget -q -O- localhost
STOPSIGNAL SIGINT
ONBUILD RUN echo "triggered"
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/echo"]
CMD exec "$APP_HOME"

FROM base AS final
ARG EXTRA=default
ENV FROM_ARG=$EXTRA
LABEL final=yes
"""


def inspect(dockerd: Any, ref: str) -> dict[str, Any]:
    out = dockerd.run("image", "inspect", ref).stdout
    data: dict[str, Any] = json.loads(out)[0]
    return data


def predict(base_config: dict[str, Any], base_ref: str, target: str) -> dict[str, Any]:
    df = parse_dockerfile(DOCKERFILE)
    graph = BuildGraph.create(
        df,
        build_args={"BASE": base_ref, "EXTRA": "given"},
        target=target,
        platform=Platform("linux", "amd64"),
    )
    plans: dict[int, Any] = {}
    for st in graph.needed():
        if st.base_stage is not None:
            state = plans[st.base_stage].state
        else:
            state = StageState.from_image({"os": "linux", "config": base_config})
        plans[st.index] = dispatch_stage(graph, st, state)
    config: dict[str, Any] = plans[graph.target.index].config
    return config


@pytest.mark.parametrize("target", ["base", "final"])
def test_config_matches_docker_buildkit(
    dockerd: Any, busybox_image: Any, tmp_path: Path, target: str
) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    tag = f"dockyard-test/frontend-{target}:latest"
    dockerd.run(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE={busybox_image.ref}",
        "--build-arg",
        "EXTRA=given",
        "--target",
        target,
        "-t",
        tag,
        str(tmp_path),
        env={"DOCKER_BUILDKIT": "1"},
    )
    built = inspect(dockerd, tag)["Config"]
    base = inspect(dockerd, busybox_image.ref)["Config"]
    predicted = predict(base, busybox_image.ref, target)
    mismatched = {
        key: (predicted.get(key), built.get(key))
        for key in CONFIG_KEYS
        if (predicted.get(key) or None) != (built.get(key) or None)
    }
    assert mismatched == {}
    assert predicted["Healthcheck"]["Interval"] == 30_000_000_000
    dockerd.run("image", "rm", tag)
