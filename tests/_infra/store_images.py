"""Small valid OCI images written straight into a content store, for store tests."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass

from dockyard.content import ContentStore
from dockyard.digest import Digest
from dockyard.oci import Descriptor, Manifest
from dockyard.oci.mediatypes import OCI_CONFIG, OCI_LAYER


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class BuiltImage:
    manifest: Manifest
    descriptor: Descriptor
    config: Descriptor
    layers: list[Descriptor]

    @property
    def blobs(self) -> set[Digest]:
        return {self.descriptor.digest, self.config.digest, *(la.digest for la in self.layers)}


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_image(content: ContentStore, seed: str, *, layers: int = 2) -> BuiltImage:
    """Write a small but valid OCI image (uncompressed layers) into ``content``."""
    layer_descs = []
    for i in range(layers):
        data = layer_tar({f"{seed}-{i}.txt": f"{seed} layer {i}\n".encode()})
        layer_descs.append(Descriptor.of(data, OCI_LAYER))
        content.put_bytes(data)
    config_raw = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/sh"], "Labels": {"seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [str(d.digest) for d in layer_descs]},
            "history": [{"created_by": f"layer {i}"} for i in range(layers)],
        },
        sort_keys=True,
    ).encode()
    config = Descriptor.of(config_raw, OCI_CONFIG)
    content.put_bytes(config_raw)
    manifest = Manifest.build(config, layer_descs)
    content.put_bytes(manifest.raw, expected=manifest.digest)
    return BuiltImage(manifest, manifest.descriptor(), config, layer_descs)
