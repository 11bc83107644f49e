"""Fixtures the replication test modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.replication import Destination


@pytest.fixture(scope="module")
def destination(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Destination]:
    """A distribution 2.8.2 registry (deletes enabled) for one test module."""
    dest = Destination(tmp_path_factory.mktemp("destination")).start()
    try:
        yield dest
    finally:
        dest.stop()
