"""The storage driver's writer lock and trim: what upload recovery relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import Conflict
from dockyard.registry.storage import FilesystemDriver

KEY = "uploads/0123456789abcdef0123456789abcdef/data"


def _size(driver: FilesystemDriver) -> int:
    info = driver.stat(KEY)
    assert info is not None
    return info.size


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    driver = FilesystemDriver(tmp_path)
    first = driver.writer(KEY, 0)
    try:
        first.write(b"abc")
        with pytest.raises(Conflict):
            driver.writer(KEY, 0)
        assert _size(driver) == 3
    finally:
        first.close()
    second = driver.writer(KEY, 3)
    second.write(b"def")
    second.close()
    with driver.reader(KEY) as f:
        assert f.read() == b"abcdef"


def test_trim_waits_for_no_writer(tmp_path: Path) -> None:
    driver = FilesystemDriver(tmp_path)
    writer = driver.writer(KEY, 0)
    writer.write(b"0123456789")
    asked: list[int] = []

    def keep() -> int:
        asked.append(1)
        return 4

    assert not driver.trim(KEY, keep) and asked == []  # a writer has it: not even asked
    writer.truncate(6)
    writer.close()
    assert _size(driver) == 6
    assert driver.trim(KEY, keep) and asked == [1]
    assert _size(driver) == 4
    assert not driver.trim(KEY, keep)  # nothing beyond 4 any more
    assert not driver.trim(KEY, lambda: None)
    assert not driver.trim("uploads/ffffffffffffffffffffffffffffffff/data", keep)
