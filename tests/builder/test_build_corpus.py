"""The real-world corpus (shared testdata/dockerfiles): dockyard build gives the config and file
tree docker build (BuildKit) gives, on a debootstrapped Debian bookworm base.

Every buildable entry runs, in CI too. All run apt against the Debian mirror, so all are
``slow``; the whole corpus takes ~8-12 minutes here (16-jq builds and tests jq, 03 installs ~200
-dev packages), so each entry builds with docker and dockyard at the same time (the two use
different cores and overlap their downloads). ``ENTRIES`` says what each entry brings;
``NOT_BUILDABLE`` why an entry cannot be built here at all. 17/18 use heredocs that docker
20.10's BuildKit cannot parse: they are checked against their documented result.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from _infra.build_helpers import (
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

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "dockerfiles"
#: Every buildable entry, and what each brings.
ENTRIES = {
    "01-buildpack-deps-curl": "plain apt-get install",
    "02-buildpack-deps-scm": "a bigger apt-get install (version control tools)",
    "03-buildpack-deps-full": "~200 -dev packages",
    "04-apt-cacher-ng": "LABEL k=v, ENV multi-key, COPY + RUN chmod, EXPOSE n/tcp, HEALTHCHECK"
    " with options, ENTRYPOINT + CMD, .dockerignore",
    "05-squid": "ENV pin in the package version, COPY + chmod, EXPOSE",
    "06-redis": "sed edits of a package's config in one RUN",
    "07-exim4": "VOLUME (JSON), COPY of 2 files into a dir, RUN of a copied script, the image's"
    " /etc/hostname as a RUN sees it (baked into exim's config)",
    "08-mutt-gmail": "groupadd/useradd, USER, ENV legacy form, $HOME in a COPY destination",
    "09-network-toolbox": "a comment inside a continuation, a big apt install",
    "10-slapd": "LABEL legacy form, ENV quoted values, long comment header; keeps the slapd"
    " rules of VARIES honest",
    "11-mpd": "lowercase `run`, WORKDIR $HOME and USER after COPY",
    "12-tor-router": "3x EXPOSE, chown to a package's user, USER by name",
    "13-pulseaudio": "useradd/usermod, WORKDIR $HOME, USER, COPY after USER (files stay root's)",
    "14-nginx-extras": "symlinks made by RUN, EXPOSE of two ports",
    "16-jq": "builds and tests jq; FROM scratch final stage, COPY --from with 3 sources,"
    " exec-form RUN without a shell",
    "19-apt-cache-mount": "RUN --mount=type=cache,sharing=locked (two of them)",
}
#: Entries that cannot be built on this kind of machine, and why.
NOT_BUILDABLE = {
    "15-distroless-python3-requirements": "its build stage runs pip install -r requirements.txt;"
    " PyPI is reached only through a proxy whose CA certificate the container does not trust,"
    " so pip fails inside RUN (docker's build fails the same way); its multi-stage shape"
    " (FROM <stage>, COPY --from) is covered by test_build_vs_docker",
}
#: Heredoc entries: docker 20.10 cannot build them; checked against their documented result.
HEREDOC = ("17-heredoc-run", "18-heredoc-copy")
#: Known differences from docker build, kept visible (strict: passing would fail the run).
KNOWN: dict[str, str] = {}
BASE = "debian:bookworm"

#: `make test` runs with `--dist loadfile`: one xdist worker builds the corpus, entry after
#: entry (each entry already builds with docker and dockyard at once), while the others take the
#: rest of the suite.
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
        for e in sorted(ENTRIES)
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
    out = tmp_path / "dockyard-fs"
    with ThreadPoolExecutor(max_workers=1) as pool:
        theirs_built = pool.submit(docker_build, dockerd, ctx, tag, *docker_args)
        dockyard_build(dockyard_root, ctx, tag, out=out)
        theirs_built.result()
    assert config_diff(docker_config(dockerd, tag), dockyard_config(dockyard_root, tag)) == {}
    theirs = tree(docker_rootfs(dockerd, tag, tmp_path / "docker-fs"))
    assert tree_diff(theirs, tree(out)) == {}
    dockerd.run("image", "rm", tag)


def test_every_corpus_entry_is_accounted_for() -> None:
    entries = {p.name for p in _corpus().iterdir() if p.is_dir() and p.name[:2].isdigit()}
    assert entries == {*ENTRIES, *NOT_BUILDABLE, *HEREDOC}


def test_heredoc_run_entry_gives_its_documented_result(
    debian_in_dockyard: str, dockyard_root: Path, tmp_path: Path
) -> None:
    """17-heredoc-run, as the BuildKit reference documents it: ``RUN <<EOT bash`` runs the script
    with bash (vim gets installed), ``RUN <<EOT`` runs it with the default shell in the workdir,
    and ``RUN <<FILE1 cat > file1 && <<FILE2 cat > file2`` feeds each heredoc to its command."""
    ctx = tmp_path / "ctx"
    shutil.copytree(_corpus() / "17-heredoc-run", ctx)
    out = tmp_path / "multi-fs"
    dockyard_build(dockyard_root, ctx, "heredoc:m", "-f", str(ctx / "Dockerfile.multi"), out=out)
    assert (out / "file1").read_text() == "I am\nfirst\n"
    assert (out / "file2").read_text() == "I am\nsecond\n"
    out = tmp_path / "shell-fs"
    dockyard_build(
        dockyard_root, ctx, "heredoc:s", "-f", str(ctx / "Dockerfile.default-shell"), out=out
    )
    assert (out / "foo" / "bar").is_dir()
    out = tmp_path / "bash-fs"
    done = dockyard_build(dockyard_root, ctx, "heredoc:b", out=out)
    assert "+ apt-get install -y vim" in done.stderr  # bash ran the script with set -x
    assert os.access(out / "usr" / "bin" / "vim.basic", os.X_OK)
    assert os.readlink(out / "usr" / "bin" / "vim") == "/etc/alternatives/vim"


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
