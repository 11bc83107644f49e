"""The batched access log: lines wait in memory, go out in order, and none is lost on close or
on a server's shutdown."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import start_registry
from dockyard.registry.accesslog import AccessEntry, AccessLog


def entry(n: int) -> AccessEntry:
    return AccessEntry("GET", f"/v2/r/blobs/{n}", 200, n, 0.5, request_id=f"id-{n}")


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_lines_wait_in_memory_until_close_and_keep_their_order() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, "combined", flush_interval=3600)
    for n in range(500):
        log.write(entry(n))
    assert stream.getvalue() == ""  # batched: nothing written per request
    log.close()
    lines = stream.getvalue().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == [f"id-{n}" for n in range(500)]
    log.write(entry(500))  # after close: written at once
    assert stream.getvalue().splitlines()[-1].endswith(" id-500")
    log.close()  # twice is fine


def test_the_timer_and_a_full_batch_flush_without_close() -> None:
    timed = io.StringIO()
    log = AccessLog(timed, "json", flush_interval=0.05)
    log.write(entry(1))
    assert wait_for(lambda: timed.getvalue().count("\n") == 1)
    log.close()

    sized = io.StringIO()
    log = AccessLog(sized, "json", flush_interval=3600, batch_bytes=1000)
    for n in range(20):  # ~230 bytes a line: a flush is due after the fifth
        log.write(entry(n))
    assert wait_for(lambda: sized.getvalue().count("\n") >= 5)
    log.close()
    assert sized.getvalue().count("\n") == 20


def test_many_threads_and_a_close_racing_them_lose_no_line() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, "combined", flush_interval=0.001, batch_bytes=4096)

    def worker(k: int) -> None:
        for n in range(300):
            log.write(entry(k * 1000 + n))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.005)
    log.close()  # writers still running: what they write after this goes out directly
    for t in threads:
        t.join()
    log.close()
    ids = [line.rsplit(" ", 1)[1] for line in stream.getvalue().splitlines()]
    assert sorted(ids) == sorted(f"id-{k * 1000 + n}" for k in range(6) for n in range(300))
    numbers = [int(i[3:]) for i in ids]
    for k in range(6):  # each thread's lines in the order it wrote them
        mine = [n for n in numbers if n // 1000 == k]
        assert mine == sorted(mine)


def test_bad_interval() -> None:
    with pytest.raises(ValueError, match="seconds > 0"):
        AccessLog(io.StringIO(), flush_interval=0)


@pytest.mark.slow
def test_server_writes_every_line_by_shutdown(tmp_path: Path) -> None:
    with start_registry(tmp_path / "data") as server:
        with httpx.Client(base_url=server.url) as client:
            for n in range(300):
                client.get("/v2/", headers={"x-request-id": f"batch-{n}"})
        server.stop()
    lines = [x for x in server.log.read_text().splitlines() if " batch-" in x]
    assert [x.rsplit(" ", 1)[1] for x in lines] == [f"batch-{n}" for n in range(300)]
