"""dockyard build and docker build (BuildKit) give the same config and the same file tree.

The Dockerfiles below use every instruction docker 20.10's built-in BuildKit frontend accepts
(heredocs, ``--link``, ``--exclude`` and ``--parents`` need a newer frontend: covered by the
dockyard-only tests and the frontend's own tests).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from _infra.build_helpers import (
    config_diff,
    docker_build,
    docker_config,
    docker_rootfs,
    dockyard_build,
    dockyard_config,
    load_into_dockyard,
    tree,
    tree_diff,
)

pytestmark = pytest.mark.docker

EVERY_INSTRUCTION = """\
ARG BASE
FROM ${BASE}
MAINTAINER someone@example.com
LABEL org.example.a=b "two words"="x y"
ENV X=1 Y="two words"
ENV LEGACY form with spaces
ARG GREETING=hello
WORKDIR /srv/app
COPY files/ ./files/
COPY --chown=1000:1000 one.txt /owned/
COPY --chown=nobody one.txt /owned-by-name.txt
COPY --chmod=0640 one.txt /modes/one.txt
COPY f*.txt /globbed/
ADD archive.tar.gz /unpacked/
ADD one.txt /added.txt
RUN echo "$GREETING $X $Y" > greeting && ln -s /srv/app/greeting /link \\
 && mkdir -m 700 /private && touch /private/f && chown 1234:5678 /private/f \\
 && rm /bin/wget
RUN --mount=type=cache,target=/cache echo cached > /cache/x && cp /cache/x /from-cache
RUN --mount=type=bind,source=files,target=/mnt cat /mnt/a.txt > /from-bind
RUN --mount=type=tmpfs,target=/scratch touch /scratch/gone
USER 1000:1000
RUN touch /tmp/user-file
USER root
EXPOSE 8080/tcp 53/udp
VOLUME /data
HEALTHCHECK --interval=5s --retries=2 CMD true
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-ec"]
RUN echo shell-form > /shell-form
ONBUILD RUN echo child
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat greeting"]
"""

MULTI_STAGE = """\
ARG BASE
FROM ${BASE} AS build
RUN mkdir /out && echo built > /out/artifact && chown 5:5 /out/artifact
FROM ${BASE} AS unused
RUN exit 1
FROM ${BASE} AS other
ARG WHO=other
RUN echo $WHO > /other
FROM build AS final
COPY --from=other /other /copied/other
COPY --from=build /out/ /dist/
COPY --from=0 /out/artifact /dist2/
WORKDIR relative
CMD ["sh"]
"""

#: 16-jq's shape: a final ``FROM scratch`` stage (BuildKit's empty image has WorkingDir "/"),
#: COPY --from with several sources into /, an exec-form RUN with no shell in the root (the
#: runtime's /proc, /dev, /sys and /etc mount points stay); file mount targets whose parents the
#: runtime creates (the stub goes, the parents stay).
SCRATCH_FINAL = """\
ARG BASE
FROM ${BASE} AS build
RUN --mount=type=secret,id=s cat /run/secrets/s > /artifact
RUN --mount=type=bind,source=one.txt,target=/new/sub/one.txt cat /new/sub/one.txt >> /artifact
FROM scratch
COPY --from=build /bin/busybox /artifact /
RUN ["/busybox", "touch", "/ran"]
ENTRYPOINT ["/busybox"]
"""

ONBUILD_CHILD = """\
ARG PARENT
FROM ${PARENT}
RUN echo after-trigger > /after
"""


def _context(tmp: Path, dockerfile: str) -> Path:
    ctx = tmp / "ctx"
    (ctx / "files" / "sub").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "files" / "a.txt").write_text("a\n")
    (ctx / "files" / "sub" / "b.sh").write_text("#!/bin/sh\necho b\n")
    (ctx / "files" / "sub" / "b.sh").chmod(0o755)
    (ctx / "files" / "link").symlink_to("a.txt")
    (ctx / "files" / "ignored.md").write_text("not copied\n")
    (ctx / "one.txt").write_text("one\n")
    (ctx / "four.txt").write_text("four\n")
    (ctx / "five.txt").write_text("five\n")
    (ctx / ".dockerignore").write_text("**/*.md\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("in-archive/x.txt", b"x\n"), ("top.txt", b"top\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.uid = 42
            tar.addfile(info, io.BytesIO(data))
    (ctx / "archive.tar.gz").write_bytes(buf.getvalue())
    return ctx


def _compare(
    dockerd: Any, tmp: Path, root: Path, ctx: Path, name: str, *args: str
) -> dict[str, Any]:
    tag = f"dockyard-test/build-{name}:latest"
    docker_build(dockerd, ctx, tag, *args)
    out = tmp / f"{name}-dockyard-fs"
    result = dockyard_build(root, ctx, tag, *args, out=out)
    assert config_diff(docker_config(dockerd, tag), dockyard_config(root, tag)) == {}
    theirs = tree(docker_rootfs(dockerd, tag, tmp / f"{name}-docker-fs"), noise=False)
    ours = tree(out, noise=False)
    assert tree_diff(theirs, ours) == {}
    dockerd.run("image", "rm", tag)
    return {"stderr": result.stderr, "tree": ours}


@pytest.fixture
def busybox_both(dockerd: Any, busybox_image: Any, dockyard_root: Path, tmp_path: Path) -> str:
    load_into_dockyard(dockerd, busybox_image.ref, dockyard_root, tmp_path)
    return str(busybox_image.ref)


def test_every_instruction_matches_docker(
    dockerd: Any, busybox_both: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, EVERY_INSTRUCTION)
    got = _compare(
        dockerd, tmp_path, dockyard_root, ctx, "every", "--build-arg", f"BASE={busybox_both}"
    )
    assert "files/ignored.md" not in " ".join(got["tree"])
    assert got["tree"]["private/f"][2:4] == (1234, 5678)


def test_multi_stage_matches_docker_and_skips_unneeded(
    dockerd: Any, busybox_both: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, MULTI_STAGE)
    got = _compare(
        dockerd,
        tmp_path,
        dockyard_root,
        ctx,
        "multi",
        "--build-arg",
        f"BASE={busybox_both}",
        "--build-arg",
        "WHO=given",
    )
    assert "[unused" not in got["stderr"]  # the stage the target does not need never ran
    assert got["tree"]["dist/artifact"][2:4] == (5, 5)  # COPY --from keeps owners


def test_target_and_onbuild_match_docker(
    dockerd: Any, busybox_both: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, MULTI_STAGE)
    _compare(
        dockerd,
        tmp_path,
        dockyard_root,
        ctx,
        "target",
        "--build-arg",
        f"BASE={busybox_both}",
        "--target",
        "other",
    )
    parent = _context(tmp_path / "p", EVERY_INSTRUCTION)
    tag = "dockyard-test/build-parent:latest"
    docker_build(dockerd, parent, tag, "--build-arg", f"BASE={busybox_both}")
    dockyard_build(dockyard_root, parent, tag, "--build-arg", f"BASE={busybox_both}")
    child = tmp_path / "child"
    child.mkdir()
    (child / "Dockerfile").write_text(ONBUILD_CHILD)
    got = _compare(dockerd, tmp_path, dockyard_root, child, "child", "--build-arg", f"PARENT={tag}")
    assert "after-trigger" not in got["tree"].get("child", ("",) * 5)[4]
    dockerd.run("image", "rm", tag)


def test_scratch_final_stage_matches_docker(
    dockerd: Any, busybox_both: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path, SCRATCH_FINAL)
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    args = ("--build-arg", f"BASE={busybox_both}", "--secret", f"id=s,src={secret}")
    got = _compare(dockerd, tmp_path, dockyard_root, ctx, "scratch", *args)
    assert sorted(got["tree"]) == ["artifact", "busybox", "dev", "etc", "proc", "ran", "sys"]
    got = _compare(dockerd, tmp_path, dockyard_root, ctx, "stubs", *args, "--target", "build")
    assert {"run/secrets", "new/sub"} <= set(got["tree"]) and "new/sub/one.txt" not in got["tree"]
