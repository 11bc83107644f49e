"""Images for ``dockyard run`` tests: made by the test dockerd, loaded into one dockyard store."""

from __future__ import annotations

from pathlib import Path

from _infra._cli import run_dockyard
from _infra._dockerd import DockerDaemon
from _infra._images import BUSYBOX_REF

APP_REF = "dockyard-test/run-app:latest"

#: An image with Env, WorkingDir, Entrypoint, Cmd, a VOLUME and a second user.
APP_DOCKERFILE = f"""\
FROM {BUSYBOX_REF}
RUN echo 'app:x:1000:1000:app:/home/app:/bin/sh' >> /etc/passwd \\
 && echo 'app:x:1000:' >> /etc/group && echo 'staff:x:50:app' >> /etc/group \\
 && mkdir -p /home/app /srv/data && echo seeded > /srv/data/seed && echo plain > /srv/plain
ENV GREETING=hello PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /srv/data
VOLUME /srv/data
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING from $(pwd) as $(id)"]
"""


def build_app_image(docker: DockerDaemon, workdir: Path) -> str:
    """``docker build`` the app image on the busybox image; returns its ref."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Dockerfile").write_text(APP_DOCKERFILE)
    docker.run("build", "-q", "-t", APP_REF, str(workdir))
    return APP_REF


def load_into_store(docker: DockerDaemon, refs: list[str], root: Path, workdir: Path) -> None:
    """``docker save`` ``refs`` and ``dockyard load`` them into the store at ``root``."""
    archive = workdir / "images.tar"
    docker.run("save", "-o", str(archive), *refs)
    run_dockyard("load", "-i", str(archive), root=root)
