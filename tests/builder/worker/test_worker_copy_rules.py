"""COPY/ADD rules docker's classic builder cannot show here (BuildKit-only flags), checksums,
ADD from a URL, user resolution and the missing-runtime error."""

from __future__ import annotations

import bz2
import hashlib
import http.server
import io
import lzma
import os
import stat
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs
from dockyard.builder.cache.checksums import ChecksumIndex
from dockyard.builder.worker import resolve_chown, resolve_user
from dockyard.builder.worker._copy import CopyRequest, copy_into
from dockyard.builder.worker._fetch import add_url
from dockyard.builder.worker._runtime import find_runtime
from dockyard.errors import DigestInvalid, InvalidArgument, NotFound, RuntimeMissing


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    return make_busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "context"
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / "src" / "notes.md").write_text("notes\n")
    (root / "src" / "lib" / "util.py").write_text("x = 1\n")
    (root / "src" / "lib" / "README.md").write_text("readme\n")
    os.chmod(root / "src" / "main.py", 0o644)
    return root


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_chmod_octal_and_symbolic(rootfs: Path, context: Path) -> None:
    copy_into(context, rootfs, CopyRequest(("src/main.py",), "/o/", chmod="0750"))
    assert _mode(rootfs / "o" / "main.py") == 0o750
    copy_into(context, rootfs, CopyRequest(("src/main.py",), "/s/", chmod="u+x,go-r"))
    assert _mode(rootfs / "s" / "main.py") == 0o700
    copy_into(context, rootfs, CopyRequest(("src",), "/d/", chmod="a=rX"))
    assert _mode(rootfs / "d" / "lib") == 0o555 and _mode(rootfs / "d" / "main.py") == 0o444
    assert _mode(rootfs / "d") == 0o555  # made for the directory's contents: gets its metadata
    with pytest.raises(InvalidArgument, match="--chmod"):
        copy_into(context, rootfs, CopyRequest(("src",), "/x/", chmod="u+q"))


def test_exclude_parents_and_globs(rootfs: Path, context: Path) -> None:
    copy_into(context, rootfs, CopyRequest(("src",), "/e/", excludes=("*.md", "**/*.md")))
    assert sorted(str(p.relative_to(rootfs / "e")) for p in (rootfs / "e").rglob("*")) == [
        "lib",
        "lib/util.py",
        "main.py",
    ]
    copy_into(context, rootfs, CopyRequest(("src/lib/util.py", "src/main.py"), "/p/", parents=True))
    assert (rootfs / "p" / "src" / "lib" / "util.py").is_file()
    assert (rootfs / "p" / "src" / "main.py").is_file()
    copy_into(context, rootfs, CopyRequest(("src/./lib/util.py",), "/pivot/", parents=True))
    assert (rootfs / "pivot" / "lib" / "util.py").is_file()
    copy_into(context, rootfs, CopyRequest(("src/*.py", "src/l?b/*.py"), "/g/"))
    assert sorted(os.listdir(rootfs / "g")) == ["main.py", "util.py"]
    copy_into(context, rootfs, CopyRequest(("nothing*",), "/empty/"))  # empty wildcard is fine
    with pytest.raises(NotFound, match='"/missing": not found'):
        copy_into(context, rootfs, CopyRequest(("missing",), "/m/"))
    with pytest.raises(InvalidArgument, match="must be a directory and end with a /"):
        copy_into(context, rootfs, CopyRequest(("src/main.py", "src/notes.md"), "/nodir"))


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [("tar", lambda b: b), ("tar.bz2", bz2.compress), ("tar.xz", lzma.compress)],
)
def test_add_unpacks_local_archives(rootfs: Path, tmp_path: Path, suffix: str, compress) -> None:  # type: ignore[no-untyped-def]
    context = tmp_path / "ctx"
    context.mkdir()
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        info = tarfile.TarInfo("pkg/file.txt")
        info.size, info.mode = 3, 0o604
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("pkg/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
    (context / f"a.{suffix}").write_bytes(compress(plain.getvalue()))
    copy_into(context, rootfs, CopyRequest((f"a.{suffix}",), "/opt/", unpack_archives=True))
    assert (rootfs / "opt" / "pkg" / "file.txt").read_bytes() == b"abc"
    assert _mode(rootfs / "opt" / "pkg" / "file.txt") == 0o604
    assert os.readlink(rootfs / "opt" / "pkg" / "escape") == "/etc"
    copy_into(context, rootfs, CopyRequest((f"a.{suffix}",), "/raw/"))  # COPY never unpacks
    assert (rootfs / "raw" / f"a.{suffix}").is_file()


def test_symlinks_in_the_target_cannot_redirect_writes_outside(
    rootfs: Path, context: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), rootfs / "trap")  # absolute host path: resolved inside the root
    os.symlink("../../../..", rootfs / "up")
    copy_into(context, rootfs, CopyRequest(("src/main.py",), "/trap/"))
    copy_into(context, rootfs, CopyRequest(("src/notes.md",), "/up/"))
    assert os.listdir(outside) == []
    assert (rootfs / str(outside).lstrip("/") / "main.py").is_file()
    assert (rootfs / "notes.md").is_file()


def test_users_and_groups_from_the_image(rootfs: Path) -> None:
    (rootfs / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n"
    )
    (rootfs / "etc" / "group").write_text("root:x:0:\napp:x:1001:\nextra:x:2000:app\n")
    app = resolve_user(rootfs, "app")
    assert (app.uid, app.gid, app.additional_gids, app.home) == (1000, 1001, (2000,), "/home/app")
    assert resolve_user(rootfs, "1000").uid == 1000
    assert (resolve_user(rootfs, "4242").uid, resolve_user(rootfs, "4242").gid) == (4242, 0)
    assert resolve_user(rootfs, "app:extra").gid == 2000
    assert resolve_chown(rootfs, "app") == (1000, 1001)
    assert resolve_chown(rootfs, "55") == (55, 55)
    assert resolve_chown(rootfs, "app:0") == (1000, 0)
    with pytest.raises(InvalidArgument, match="unable to find group nope"):
        resolve_user(rootfs, "app:nope")


def test_missing_runtime_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr("dockyard.builder.worker._runtime._SBIN", (str(empty),))
    with pytest.raises(RuntimeMissing, match="apt-get install crun"):
        find_runtime(tmp_path)


def test_checksum_follows_content_and_index_avoids_rehashing(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "files").mkdir(parents=True)
    for n in range(200):
        (ctx / "files" / f"f{n:03}").write_text(f"content {n}\n")
    db = tmp_path / "index.db"
    index = ChecksumIndex(db)
    first = index.checksum(ctx, ["files"])
    assert index.files_hashed == 200
    index.close()
    again = ChecksumIndex(db)  # persisted: a new process re-hashes nothing
    assert again.checksum(ctx, ["files"]) == first
    assert again.files_hashed == 0
    (ctx / "files" / "f007").write_text("content 7 changed\n")
    changed = again.checksum(ctx, ["files"])
    assert changed != first and again.files_hashed == 1
    os.chmod(ctx / "files" / "f008", 0o600)
    assert again.checksum(ctx, ["files"]) != changed
    assert again.checksum(ctx, ["files"], excludes=["f00*"]) != again.checksum(ctx, ["files"])
    again.close()


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"downloaded\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_add_url_with_checksum(rootfs: Path, file_server: str) -> None:
    good = "sha256:" + hashlib.sha256(b"downloaded\n").hexdigest()
    add_url(f"{file_server}/dl/tool.bin", rootfs, "/opt/", checksum=good)
    target = rootfs / "opt" / "tool.bin"
    assert target.read_bytes() == b"downloaded\n"
    assert _mode(target) == 0o600 and int(os.lstat(target).st_mtime) == 1445412480
    with pytest.raises(DigestInvalid, match="--checksum"):
        add_url(f"{file_server}/x", rootfs, "/opt/x", checksum="sha256:" + "0" * 64)
    assert not (rootfs / "opt" / "x").exists()
