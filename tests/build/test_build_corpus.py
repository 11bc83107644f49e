"""The real-world corpus (shared testdata/dockerfiles): dockyard build gives the config and file
tree docker build (BuildKit) gives, on a debootstrapped Debian bookworm base.

Every entry runs apt against deb.debian.org, so all are ``slow``. By default a representative
subset runs (COPY + chmod + HEALTHCHECK/ENTRYPOINT, VOLUME + scripts run from COPY, USER +
useradd + ``$HOME`` in COPY, chown + USER, cache mounts); ``DOCKYARD_FULL_CORPUS=1`` runs every
buildable entry. 15 cannot build here (pip has no route to PyPI), 17/18 use heredocs that
docker 20.10's BuildKit cannot parse: they are checked against their documented result.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from _build_helpers import (
    config_diff,
    debian_rootfs_tar,
    docker_build,
    docker_config,
    docker_rootfs,
    dockyard_build,
    dockyard_config,
    tree,
    tree_diff,
)

from _infra import run_dockyard

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "dockerfiles"
SUBSET = ("04-apt-cacher-ng", "07-exim4", "08-mutt-gmail", "12-tor-router", "19-apt-cache-mount")
#: Known differences from docker build, kept visible (strict: passing would fail the run).
KNOWN: dict[str, str] = {}
EVERY = (
    "01-buildpack-deps-curl",
    "02-buildpack-deps-scm",
    "03-buildpack-deps-full",
    "04-apt-cacher-ng",
    "05-squid",
    "06-redis",
    "07-exim4",
    "08-mutt-gmail",
    "09-network-toolbox",
    "10-slapd",
    "11-mpd",
    "12-tor-router",
    "13-pulseaudio",
    "14-nginx-extras",
    "16-jq",
    "19-apt-cache-mount",
)
ENTRIES = EVERY if os.environ.get("DOCKYARD_FULL_CORPUS") == "1" else SUBSET
BASE = "debian:bookworm"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the Dockerfile corpus is missing: expected it at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def debian_tar() -> Path:
    return debian_rootfs_tar()


@pytest.fixture(scope="session")
def debian_in_docker(dockerd: Any, debian_tar: Path) -> str:
    dockerd.run("import", "--change", 'CMD ["bash"]', str(debian_tar), BASE, timeout=600)
    return BASE


@pytest.fixture
def debian_in_dockyard(dockyard_root: Path, debian_tar: Path) -> str:
    run_dockyard("import", "--change", 'CMD ["bash"]', debian_tar, BASE, root=dockyard_root)
    return BASE


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=pytest.mark.xfail(strict=True, reason=KNOWN[e])) if e in KNOWN else e
        for e in ENTRIES
    ],
)
def test_corpus_entry_matches_docker(
    dockerd: Any,
    debian_in_docker: str,
    debian_in_dockyard: str,
    dockyard_root: Path,
    tmp_path: Path,
    entry: str,
) -> None:
    ctx = tmp_path / "ctx"
    shutil.copytree(_corpus() / entry, ctx, symlinks=True)
    tag = f"dockyard-corpus/{entry}:latest"
    # docker 20.10 cannot fetch the `# syntax` frontend image here: give it the variant without
    docker_args = (
        ["-f", str(ctx / "Dockerfile.nosyntax")] if (ctx / "Dockerfile.nosyntax").is_file() else []
    )
    docker_build(dockerd, ctx, tag, *docker_args)
    out = tmp_path / "dockyard-fs"
    dockyard_build(dockyard_root, ctx, tag, out=out)
    assert config_diff(docker_config(dockerd, tag), dockyard_config(dockyard_root, tag)) == {}
    theirs = tree(docker_rootfs(dockerd, tag, tmp_path / "docker-fs"))
    assert tree_diff(theirs, tree(out)) == {}
    dockerd.run("image", "rm", tag)


def test_heredoc_entries_give_their_documented_result(
    debian_in_dockyard: str, dockyard_root: Path, tmp_path: Path
) -> None:
    """18-heredoc-copy, as the BuildKit reference documents it: ``COPY <<EOF greeting.txt``
    writes "hello world"; ``<<-EOT`` expands ARGs, ``<<-"EOT"`` keeps them literal."""
    entry = _corpus() / "18-heredoc-copy"
    expected = {
        "Dockerfile": ("greeting.txt", "hello world\n"),
        "Dockerfile.expand": ("script.sh", '  echo "hello bar"\n'),
        "Dockerfile.quoted": ("script.sh", '  echo "hello ${FOO}"\n'),
    }
    ctx = tmp_path / "ctx"
    shutil.copytree(entry, ctx)
    for name, (path, content) in expected.items():
        out = tmp_path / f"{name}-fs"
        done = dockyard_build(dockyard_root, ctx, "heredoc:latest", "-f", str(ctx / name), out=out)
        assert (out / path).read_text() == content, done.stderr
