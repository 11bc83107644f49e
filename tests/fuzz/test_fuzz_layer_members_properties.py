"""Layer tars with hostile member names and links: the plan refuses anything that could write
outside the root, and applying a real tar never creates a path outside it."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.errors import DockyardError, InvalidArgument, UnsafeLayer
from dockyard.layers import apply_layer
from dockyard.layers._plan import MAX_DEPTH, plan_layer

from ._budget import fuzz_settings

pytestmark = pytest.mark.fuzz

_SEGMENTS = [
    "a",
    "b",
    "etc",
    ".",
    "..",
    "",
    ".wh.a",
    ".wh..wh..opq",
    ".wh..",
    ".wh.",
    "...",
    "\x00",
    "é",
    "a\nb",
    "x" * 300,
]


def member_names() -> st.SearchStrategy[str]:
    segments = st.lists(st.sampled_from(_SEGMENTS) | st.text(max_size=5), min_size=1, max_size=6)
    return st.one_of(
        segments.map("/".join),
        segments.map(lambda s: "/" + "/".join(s)),
        segments.map(lambda s: "./" + "/".join(s)),
        st.integers(100, 5000).map(lambda n: "d/" * (n // 2) + "f"),
        st.text(max_size=60),
    )


@st.composite
def members(draw: st.DrawFn) -> tarfile.TarInfo:
    info = tarfile.TarInfo(draw(member_names()))
    info.type = draw(
        st.sampled_from(
            [
                tarfile.REGTYPE,
                tarfile.DIRTYPE,
                tarfile.SYMTYPE,
                tarfile.LNKTYPE,
                tarfile.FIFOTYPE,
                tarfile.CHRTYPE,
                b"Z",
            ]
        )
    )
    if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = draw(member_names())
    info.mode = draw(st.sampled_from([0o644, 0o755, 0o4755, 0o000]))
    return info


def _inside(rel: str) -> bool:
    path = Path(rel)
    return (
        not path.is_absolute()
        and "\x00" not in rel
        and ".." not in path.parts
        and rel not in ("", ".")
    )


@fuzz_settings(200)
@given(st.lists(members(), min_size=1, max_size=8))
@example([tarfile.TarInfo("/abs")])
@example([tarfile.TarInfo("a/../../x")])
@example([tarfile.TarInfo("a\x00b")])
@example([tarfile.TarInfo(".wh..")])
@example([tarfile.TarInfo("x" * 300)])  # ENAMETOOLONG escaped plan_layer as a bare OSError
@example([tarfile.TarInfo("d/" * 2100 + "f")])
@example([tarfile.TarInfo("\ud800")])  # UnicodeEncodeError from lstat
@example([tarfile.TarInfo("d/" * (MAX_DEPTH + 1))])
def test_plan_refuses_or_stays_inside(entries: list[tarfile.TarInfo]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "root")
        root.mkdir()
        (root / "lower").mkdir()
        os.symlink("/etc", root / "lowlink")
        try:
            plan = plan_layer(entries, root, privileged=False)
        except UnsafeLayer as exc:
            assert "refusing layer entry" in str(exc)
            return
    for _member, rel in plan.entries:
        assert _inside(rel), rel
    for _kind, rel in plan.removals:
        assert rel == "" or _inside(rel), rel


def _tar(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for info, data in entries:
            if info.isreg():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out.getvalue()


def _tree(top: Path) -> set[str]:
    """Every path under ``top`` (iteratively: a hostile tree may be very deep)."""
    found: set[str] = set()
    pending = [top]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                found.add(os.path.relpath(entry.path, top))
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
    return found


@fuzz_settings(40)
@given(st.lists(members(), min_size=1, max_size=6), st.binary(max_size=64))
@example([tarfile.TarInfo("../escape")], b"x")
def test_apply_never_writes_outside_the_root(entries: list[tarfile.TarInfo], data: bytes) -> None:
    """A real tar (PAX, so long and odd names survive) applied onto ``sandbox/root``: the
    sandbox outside ``root`` is unchanged, whatever the layer holds."""
    for info in entries:
        if info.ischr():
            info.type = tarfile.FIFOTYPE  # not privileged here; devices are refused anyway
    try:
        raw = _tar([(info, data) for info in entries])
    except (ValueError, tarfile.TarError, UnicodeError):
        return  # tarfile cannot write it (e.g. a NUL in a ustar field): no such layer exists
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp)
        root = sandbox / "root"
        root.mkdir()
        (sandbox / "outside").mkdir()
        before = _tree(sandbox)
        try:
            apply_layer(io.BytesIO(raw), root, privileged=False, spool_dir=sandbox)
        except (UnsafeLayer, InvalidArgument):
            assert _tree(sandbox) == before, "a refused layer must leave the tree untouched"
            return
        except DockyardError:
            pass  # e.g. an I/O failure reported as FailedPrecondition: still checked below
        escaped = {p for p in _tree(sandbox) - before if not p.startswith("root")}
        assert not escaped, escaped


def test_deep_tree_is_refused_before_a_whiteout_can_crash_on_it(tmp_path: Path) -> None:
    """Found by the long fuzz run: a layer of directories 1500 deep (a 3000-byte path, legal
    for Linux) was applied; the next layer's whiteout of its top then raised RecursionError
    out of apply_layer (shutil.rmtree recurses once a level). Such a layer is now refused
    whole, and a tree at the limit still applies and is removed by a whiteout."""
    root = tmp_path / "root"

    def layer(*entries: tuple[str, bytes]) -> io.BytesIO:
        infos = []
        for name, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            infos.append((info, b""))
        return io.BytesIO(_tar(infos))

    with pytest.raises(UnsafeLayer, match="1500 directories deep"):
        apply_layer(layer(("/".join(["d"] * 1500), tarfile.DIRTYPE)), root, privileged=False)
    assert not root.exists() or not any(root.iterdir())
    apply_layer(layer(("/".join(["d"] * MAX_DEPTH), tarfile.DIRTYPE)), root, privileged=False)
    apply_layer(layer((".wh.d", tarfile.REGTYPE)), root, privileged=False)
    assert not (root / "d").exists()
