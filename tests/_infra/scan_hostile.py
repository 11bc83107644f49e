"""Hostile layers for the scan tests, made in the test: odd member names, a huge package
database that compresses well, a decompression bomb; and a docker-archive around them."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DPKG_STATUS = "var/lib/dpkg/status"
#: the finding's database: 774k stanzas, 64 MiB
FINDING_STANZAS = 774_000
FINDING_STATUS_BYTES = 64 << 20


@dataclass(frozen=True)
class Layer:
    """A gzip layer blob and the digest of its uncompressed tar."""

    blob: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.blob).hexdigest()


def _gzip_chunks(chunks: Iterator[bytes], level: int = 6) -> Layer:
    """Stream ``chunks`` (a whole tar) through gzip, hashing the uncompressed bytes."""
    hasher = hashlib.sha256()
    gz = zlib.compressobj(level, zlib.DEFLATED, 31)
    out = io.BytesIO()
    for chunk in chunks:
        hasher.update(chunk)
        out.write(gz.compress(chunk))
    out.write(gz.flush())
    return Layer(out.getvalue(), "sha256:" + hasher.hexdigest())


def _member(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    if "\0" in name:  # a ustar name field ends at a NUL; a PAX path record carries it
        info.pax_headers = {"path": name}
    return info.tobuf(tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % 512)


_END = b"\0" * 1024


def tar_layer(members: list[tuple[str, bytes]]) -> Layer:
    """A gzip layer with one regular file per (name, data); names are written as given."""

    def chunks() -> Iterator[bytes]:
        for name, data in members:
            yield _member(name, len(data)) + data + _padding(len(data))
        yield _END

    return _gzip_chunks(chunks())


def abs_path_layer() -> Layer:
    """The finding's layer: one member named ``/abs-path-file``."""
    return tar_layer([("/abs-path-file", b"an absolute member name\n")])


def dpkg_status(stanzas: int, size: int) -> bytes:
    """A dpkg status database of ``stanzas`` installed packages, padded to ``size`` bytes."""
    lines = [
        f"Package: p{i:06d}\nStatus: install ok installed\nVersion: 1.{i}\nArchitecture: all\n\n"
        for i in range(stanzas)
    ]
    data = "".join(lines).encode()
    assert len(data) <= size, (len(data), size)
    pad = size - len(data)
    if pad >= 14:  # one more field on the last stanza
        data = data[:-1] + b"Description: " + b"x" * (pad - 14) + b"\n\n"
    else:
        data += b"\n" * pad
    assert len(data) == size
    return data


def big_dpkg_layer(
    stanzas: int = FINDING_STANZAS, size: int = FINDING_STATUS_BYTES, name: str = DPKG_STATUS
) -> Layer:
    return tar_layer([(name, dpkg_status(stanzas, size))])


def zeros_layer(size: int, name: str = "zeros") -> Layer:
    """A decompression bomb: one file of ``size`` zero bytes (about 1000:1 in gzip)."""

    def chunks() -> Iterator[bytes]:
        yield _member(name, size)
        block = bytes(8 << 20)
        left = size
        while left:
            n = min(left, len(block))
            yield block if n == len(block) else block[:n]
            left -= n
        yield _padding(size) + _END

    return _gzip_chunks(chunks(), level=1)


def image_config(layers: list[Layer]) -> bytes:
    return json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
            "history": [{"created_by": f"layer {i}"} for i in range(len(layers))],
        }
    ).encode()


def docker_archive(path: Path, layers: list[Layer], tag: str = "hostile:1") -> Path:
    """A ``docker save``-shaped tar holding an image of ``layers``."""
    config = image_config(layers)
    names = [f"{layer.digest[7:]}.tar.gz" for layer in layers]
    manifest = [{"Config": "config.json", "RepoTags": [tag], "Layers": names}]
    with tarfile.open(path, "w") as tar:
        for name, data in [
            ("manifest.json", json.dumps(manifest).encode()),
            ("config.json", config),
            *((n, layer.blob) for n, layer in zip(names, layers, strict=True)),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
