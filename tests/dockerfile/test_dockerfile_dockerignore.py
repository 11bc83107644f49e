"""``.dockerignore`` reading and matching (moby/patternmatcher's cases) and the context walker."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dockyard.builder.context import ignore_patterns, read_tar_context, walk_context
from dockyard.dockerfile.dockerignore import PatternMatcher, read_ignore_file
from dockyard.dockerfile.errors import DockerfileError


def test_read_ignore_file() -> None:
    text = "\ufeff# comment\n  \n/abs/path/\n!  keep.md\n./a/../b\n *.tmp \n!\n"
    assert read_ignore_file(text) == ["abs/path", "!keep.md", "b", "*.tmp", "!"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),  # * does not cross /
        (["**/*.md"], "docs/a/README.md", True),
        (["**/*.md"], "README.md", True),
        (["docs"], "docs/a/b.txt", True),  # a parent directory matches
        (["docs/"], "docs/x", True),  # trailing / is cleaned away
        (read_ignore_file("/docs\n"), "docs/x", True),
        (["/docs"], "docs/x", False),  # only the file reader strips a leading /
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "CHANGES.md", True),
        (["!README.md", "*.md"], "README.md", True),  # order matters: the last match wins
        (["docs", "!docs/keep"], "docs/keep", False),
        (["docs", "!docs/keep"], "docs/other", True),
        (["a/**"], "a/b/c", True),
        (["a/**"], "a", False),
        (["**"], "anything/at/all", True),
        (["a?c"], "abc", True),
        (["a?c"], "a/c", False),
        (["[a-c]x"], "bx", True),
        (["[a-c]x"], "dx", False),
        (["a/**/b"], "a/b", True),
        (["a/**/b"], "a/x/y/b", True),
        (["a\\*b"], "a*b", True),
        (["a\\*b"], "axb", False),
        (["file.txt"], "filextxt", False),  # . is literal
        (["dir/**/*.go"], "dir/a/b/x.go", True),
        (["**/node_modules"], "a/node_modules/x/y.js", True),
    ],
)
def test_matcher(patterns: list[str], path: str, excluded: bool) -> None:
    assert PatternMatcher(patterns).matches(path) is excluded


def test_illegal_exclusion() -> None:
    with pytest.raises(DockerfileError, match='illegal exclusion pattern: "!"'):
        PatternMatcher(["!"])


def make_tree(root: Path, files: list[str]) -> None:
    for f in files:
        p = root / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f)


def test_walk_context(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        ["Dockerfile", "a.md", "src/x.py", "src/y.pyc", "docs/a.md", "docs/keep/k.txt", "nm/m.js"],
    )
    (tmp_path / ".dockerignore").write_text("*.md\n**/*.pyc\ndocs\n!docs/keep\nnm\n")
    got = [e.path for e in walk_context(tmp_path, ignore_patterns(tmp_path))]
    assert got == [
        ".dockerignore",
        "Dockerfile",
        "docs",
        "docs/keep",
        "docs/keep/k.txt",
        "src",
        "src/x.py",
    ]


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    make_tree(tmp_path, ["a", "b"])
    (tmp_path / ".dockerignore").write_text("a\n")
    df = tmp_path / "build.Dockerfile"
    df.write_text("FROM scratch\n")
    (tmp_path / "build.Dockerfile.dockerignore").write_text("b\n")
    assert ignore_patterns(tmp_path, df) == ["b"]
    assert ignore_patterns(tmp_path, tmp_path / "Dockerfile") == ["a"]


def test_read_tar_context(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [
            ("Dockerfile", b"FROM scratch\n"),
            (".dockerignore", b"**/*.log\n"),
            ("app/main.py", b"print()\n"),
            ("app/debug.log", b"x"),
            ("../escape", b"x"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    out = tmp_path / "ctx"
    written = read_tar_context(buf, out)
    assert written == [".dockerignore", "Dockerfile", "app/main.py"]
    assert not (out / "app" / "debug.log").exists()
    assert not (tmp_path / "escape").exists()
