from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from _infra.store_images import BuiltImage, Clock, build_image
from dockyard.local import LocalStore


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore.open(tmp_path / "store") as s:
        yield s


@pytest.fixture
def make_image(store: LocalStore) -> Callable[..., BuiltImage]:
    def make(seed: str, *, layers: int = 2) -> BuiltImage:
        return build_image(store.content, seed, layers=layers)

    return make
