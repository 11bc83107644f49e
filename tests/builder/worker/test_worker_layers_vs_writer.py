"""A built image's layers are, member by member, what ``dockyard.layers`` writes for the same
change: the RUN layer (the overlay differ) and the COPY layer (written from the sources) against
the two-tree differ over the root filesystems before and after the step.

The change covers files, a symlink, hard links, a deleted file (a whiteout) and a directory
removed and made again (opaque).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from _infra import run_dockyard
from dockyard.digest import Digest
from dockyard.layers import apply_layer, decompressor, tar_diff
from dockyard.local import LocalStore
from dockyard.reference import Reference

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlay, RUN)")

EPOCH = 1_700_000_000
DOCKERFILE = """\
FROM busybox:test
RUN mkdir -p /old/sub && echo 1 > /old/a && echo 2 > /old/sub/b && echo bye > /etc/motd
RUN rm /etc/motd && rm -rf /old && mkdir /old && echo new > /old/new \\
 && mkdir /data && echo x > /data/x && ln /data/x /data/y && ln -s x /data/z \\
 && chmod 4711 /data/x
COPY src/ /src/
"""

Member = tuple[object, ...]


def _members(data: bytes) -> list[Member]:
    out: list[Member] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for m in tar:
            content = tar.extractfile(m) if m.isreg() else None
            digest = hashlib.sha256(content.read()).hexdigest() if content else None
            out.append(
                (m.name, m.type, m.mode, m.uid, m.gid, m.mtime, m.size, m.linkname,
                 m.devmajor, m.devminor, sorted(m.pax_headers.items()), digest)
            )  # fmt: skip
    return out


def _layers(root: Path, ref: str) -> list[bytes]:
    with LocalStore(root) as store:
        manifest = json.loads(store.content.read_bytes(store.resolve(Reference.parse(ref)).digest))
        out = []
        for layer in manifest["layers"]:
            with (
                store.content.open(Digest.parse(layer["digest"])) as raw,
                decompressor(raw) as plain,
            ):
                out.append(plain.read())
    return out


@pytest.mark.slow
def test_built_layers_equal_the_writers_layers_for_the_same_change(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "src" / "sub").mkdir(parents=True)
    (ctx / "src" / "a.txt").write_text("a\n")
    os.link(ctx / "src" / "a.txt", ctx / "src" / "sub" / "a-link")
    os.symlink("../a.txt", ctx / "src" / "sub" / "sym")
    os.chmod(ctx / "src" / "sub", 0o750)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    run_dockyard(
        "build", "-q", "-t", "out:1", ctx, root=dockyard_root,
        env={"SOURCE_DATE_EPOCH": str(EPOCH)},
    )  # fmt: skip
    layers = _layers(dockyard_root, "out:1")
    assert len(layers) == 4  # busybox, RUN, RUN, COPY

    roots = []
    for i in range(len(layers)):
        root = tmp_path / f"rootfs{i}"
        for below in layers[: i + 1]:
            apply_layer(io.BytesIO(below), root)
        roots.append(root)

    for step in (2, 3):
        expected = io.BytesIO()
        tar_diff(roots[step - 1], roots[step], expected, clamp_mtime=EPOCH)
        assert _members(layers[step]) == _members(expected.getvalue()), f"layer {step}"
        assert layers[step] == expected.getvalue()

    run_layer = {m[0]: m for m in _members(layers[2])}
    assert {"etc/.wh.motd", "old/.wh..wh..opq", "old/new", "data/z"} <= set(run_layer)
    assert run_layer["data/y"][1] == tarfile.LNKTYPE and run_layer["data/y"][7] == "data/x"
    assert run_layer["data/x"][2] == 0o4711
    copy_layer = {m[0]: m for m in _members(layers[3])}
    assert copy_layer["src/sub/a-link"][1] == tarfile.LNKTYPE
    assert copy_layer["src/sub/sym"][7] == "../a.txt"
