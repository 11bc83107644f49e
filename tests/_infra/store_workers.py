"""Process entry points for the concurrency tests (importable by spawned children)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from _infra.store_images import build_image
from dockyard.local import LocalStore
from dockyard.reference import Reference

ROUNDS = 15


def writer(root: str, name: str) -> None:
    with LocalStore.open(Path(root)) as store:
        for i in range(ROUNDS):
            with store.lease() as lease:
                lease.put_bytes(b"a blob both writers share")
                image = build_image(store.content, f"{name}-{i}", layers=2)
                store.record_image(image.descriptor.digest, image.config.digest, None)
                store.set_tag(Reference.parse(f"{name}:{i}"), image.descriptor)
                store.set_tag(Reference.parse(f"shared:{i}"), image.descriptor)


def collector(root: str, stop_file: str) -> None:
    with LocalStore.open(Path(root)) as store:
        while not os.path.exists(stop_file):
            store.gc()
            time.sleep(0.01)


def leaking_child(root: str, out: str) -> None:
    store = LocalStore.open(Path(root))
    with store.lease(expires_in=timedelta(seconds=2)) as lease:
        digest = lease.put_bytes(b"left behind by a killed pull")
        Path(out).write_text(str(digest))
        os._exit(0)  # no release, no cleanup: as if killed
