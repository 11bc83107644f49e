from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Make `_store_images` importable by these tests (and by the processes they spawn).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _store_images import BuiltImage, Clock, build_image  # noqa: E402

from dockyard.local import LocalStore  # noqa: E402


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
