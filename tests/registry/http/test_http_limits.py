"""HTTP framing limits through a real ``dockyard registry serve`` process: oversized and
endless request lines and headers (414/431), too many headers (431), slow headers (408),
idle kept-alive connections, and oversized manifest bodies (413, read no further).

Every attack runs under a :class:`Watch` that samples the server's resident memory
(``VmRSS``) and asks ``GET /v2/`` on a separate connection throughout: the memory must stay
flat and the other client must be answered within a second.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from _infra.registry_server import OCI_MANIFEST, RegistryProcess, push_image, start_registry

pytestmark = pytest.mark.slow

#: Growth of the server's resident memory allowed during an attack.
RSS_GROWTH_LIMIT = 50 << 20
#: Another client must be answered this fast throughout.
PROBE_DEADLINE = 1.0


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def _address(server: RegistryProcess) -> tuple[str, int]:
    host, port = server.host.split(":")
    return host, int(port)


def _probe(address: tuple[str, int]) -> float:
    """Seconds to get ``GET /v2/`` answered on a new connection (inf when it is not)."""
    began = time.monotonic()
    try:
        with socket.create_connection(address, timeout=PROBE_DEADLINE * 5) as s:
            s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return float("inf")
    if not answer.startswith(b"HTTP/1.1 200 "):
        return float("inf")
    return time.monotonic() - began


@dataclass
class Watch:
    """Samples the server's memory and probes it from another connection while in use."""

    server: RegistryProcess
    baseline: int = 0
    peak: int = 0
    probes: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Watch:
        address = _address(self.server)
        assert _probe(address) < 5  # warm: the first request's imports are not an attack
        self.baseline = self.peak = _rss(self.server.process.pid)
        for target in (self._sample, self._probe_loop):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _sample(self) -> None:
        pid = self.server.process.pid
        while not self._stop.wait(0.05):
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, _rss(pid))

    def _probe_loop(self) -> None:
        address = _address(self.server)
        while True:
            self.probes.append(_probe(address))
            if self._stop.wait(0.05):
                return

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def check(self) -> None:
        growth = self.peak - self.baseline
        assert growth < RSS_GROWTH_LIMIT, f"server memory grew by {growth >> 20} MiB"
        assert self.probes, "no probe ran"
        slow = [p for p in self.probes if p > PROBE_DEADLINE]
        assert not slow, f"{len(slow)} of {len(self.probes)} probes slower than 1 s: {slow[:5]}"


@dataclass
class Flood:
    """What one flooding connection saw: bytes it sent, and the server's answer."""

    sent: int
    answer: bytes
    closed: bool


def _read_answer(s: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """The bytes the server sends until it closes (True) or ``timeout`` passes (False)."""
    s.settimeout(timeout)
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except TimeoutError:
        return answer, False
    except OSError:
        pass
    return answer, True


def _flood(address: tuple[str, int], head: bytes, filler: bytes, limit: int) -> Flood:
    """Send ``head`` then ``filler`` repeatedly (up to ``limit`` bytes) until the server
    answers or refuses more; then read the answer."""
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(head)
        sent = 0
        while sent < limit:
            readable, writable, _ = select.select([s], [s], [], 5)
            if readable or not writable:
                break
            try:
                sent += s.send(filler)
            except OSError:
                break
        answer, closed = _read_answer(s, 3)
    return Flood(sent, answer, closed)


def _in_parallel(count: int, fn: Callable[[], Flood], *, seconds: float = 3.0) -> list[Flood]:
    """``fn`` on ``count`` connections at once, again and again for about ``seconds``
    (at most 50 rounds): every flood of every round."""
    floods: list[Flood] = []
    began = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        for _ in range(50):
            floods.extend(pool.map(lambda _: fn(), range(count)))
            if time.monotonic() - began > seconds:
                break
    return floods


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def _body(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryProcess]:
    with start_registry(tmp_path / "data") as running:
        yield running


# --- request line and headers ----------------------------------------------------------


@pytest.mark.slow
def test_an_endless_header_line_is_refused_with_431(server: RegistryProcess) -> None:
    address = _address(server)
    head = b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: "
    with Watch(server) as watch:
        floods = _in_parallel(4, lambda: _flood(address, head, b"a" * 65536, 128 << 20))
    for flood in floods:
        assert _status(flood.answer) == 431
        assert b"limits.headerbytes" in flood.answer
        assert flood.closed
        assert flood.sent < 16 << 20, f"the server read {flood.sent >> 20} MiB of headers"
    watch.check()


@pytest.mark.slow
def test_an_endless_list_of_headers_is_refused_with_431(server: RegistryProcess) -> None:
    address = _address(server)
    head = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n"
    with Watch(server) as watch:
        floods = _in_parallel(4, lambda: _flood(address, head, b"X-A: b\r\n" * 8192, 128 << 20))
    for flood in floods:
        assert _status(flood.answer) == 431
        assert flood.closed
        assert flood.sent < 16 << 20, f"the server read {flood.sent >> 20} MiB of headers"
    watch.check()


@pytest.mark.slow
def test_an_endless_request_line_is_refused_with_414(server: RegistryProcess) -> None:
    address = _address(server)
    with Watch(server) as watch:
        floods = _in_parallel(4, lambda: _flood(address, b"GET /v2/", b"a" * 65536, 128 << 20))
    for flood in floods:
        assert _status(flood.answer) == 414
        assert b"limits.requestlinebytes" in flood.answer
        assert flood.closed
        assert flood.sent < 16 << 20, f"the server read {flood.sent >> 20} MiB of request line"
    watch.check()


def _exchange(address: tuple[str, int], request: bytes) -> tuple[bytes, bool]:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(request)
        return _read_answer(s, 3)


def test_limits_apply_at_their_configured_values(tmp_path: Path) -> None:
    env = {
        "REGISTRY_LIMITS_REQUESTLINEBYTES": "1024",
        "REGISTRY_LIMITS_HEADERBYTES": "4096",
        "REGISTRY_LIMITS_HEADERCOUNT": "20",
    }
    with start_registry(tmp_path / "data", env=env) as server:
        address = _address(server)

        def get(path: bytes, headers: list[bytes]) -> tuple[bytes, bool]:
            lines = [b"GET " + path + b" HTTP/1.1", b"Host: x", *headers, b"Connection: close"]
            return _exchange(address, b"\r\n".join(lines) + b"\r\n\r\n")

        # within every limit: answered (404 for an unknown path under /v2/)
        answer, _ = get(b"/v2/" + b"a" * 900, [b"X-%d: v" % i for i in range(17)])
        assert _status(answer) == 404
        answer, _ = get(b"/v2/", [b"X-Big: " + b"v" * 3500])
        assert _status(answer) == 200
        # one over each
        answer, closed = get(b"/v2/" + b"a" * 1100, [])
        assert _status(answer) == 414 and closed
        assert b"limits.requestlinebytes" in answer and b"1024" in answer
        answer, closed = get(b"/v2/", [b"X-%d: v" % i for i in range(25)])
        assert _status(answer) == 431 and closed
        assert b"limits.headercount" in answer
        answer, closed = get(b"/v2/", [b"X-Big: " + b"v" * 5000])
        assert _status(answer) == 431 and closed
        assert b"limits.headerbytes" in answer
        # a pipelined request after an answered one is held to the limits too
        ok = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
        answer, closed = _exchange(address, ok + b"GET /v2/" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 414 " in answer and closed


# --- slow and idle clients --------------------------------------------------------------


@pytest.mark.slow
def test_slow_headers_time_out_with_408(tmp_path: Path) -> None:
    env = {"REGISTRY_LIMITS_HEADERTIMEOUT": "2s"}
    with start_registry(tmp_path / "data", env=env) as server, Watch(server) as watch:
        address = _address(server)
        trickling = [socket.create_connection(address, timeout=10) for _ in range(300)]
        silent = [socket.create_connection(address, timeout=10) for _ in range(20)]
        try:
            for s in trickling:
                s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
            began = time.monotonic()
            open_ = {s.fileno(): s for s in [*trickling, *silent]}
            answers: dict[int, bytes] = {fd: b"" for fd in open_}
            closed_at: dict[int, float] = {}
            next_trickle = began
            while open_ and time.monotonic() - began < 12:
                if time.monotonic() >= next_trickle:  # one more header line every 0.5 s
                    for s in trickling:
                        if s.fileno() in open_:
                            with contextlib.suppress(OSError):
                                s.send(b"X-A: b\r\n")
                    next_trickle += 0.5
                readable, _, _ = select.select(list(open_.values()), [], [], 0.1)
                for s in readable:
                    try:
                        chunk = s.recv(65536)
                    except OSError:
                        chunk = b""
                    answers[s.fileno()] += chunk
                    if not chunk:
                        closed_at[s.fileno()] = time.monotonic() - began
                        del open_[s.fileno()]
        finally:
            for s in [*trickling, *silent]:
                s.close()
    assert not open_, f"{len(open_)} slow connections still open after 12 s"
    assert all(_status(answer) == 408 for answer in answers.values())
    assert all(b"limits.headertimeout" in answer for answer in answers.values())
    assert max(closed_at.values()) < 8, "the header timeout is 2 s"
    watch.check()


@pytest.mark.slow
def test_idle_kept_alive_connections_are_closed(tmp_path: Path) -> None:
    env = {"REGISTRY_LIMITS_KEEPALIVETIMEOUT": "1s"}
    with (
        start_registry(tmp_path / "data", env=env) as server,
        socket.create_connection(_address(server), timeout=10) as s,
    ):
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        began = time.monotonic()
        answer, closed = _read_answer(s, 6)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert closed, "an idle connection stayed open past the keep-alive timeout"
    assert time.monotonic() - began < 6


@pytest.mark.slow
def test_max_connections_answers_503(tmp_path: Path) -> None:
    env = {"REGISTRY_LIMITS_MAXCONNECTIONS": "10"}
    with start_registry(tmp_path / "data", env=env) as server:
        address = _address(server)
        held = [socket.create_connection(address, timeout=10) for _ in range(12)]
        try:
            time.sleep(0.5)  # the server has accepted them all
            answer, closed = _exchange(address, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _status(answer) == 503 and closed
        finally:
            for s in held:
                s.close()
        time.sleep(0.5)
        answer, _ = _exchange(address, b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _status(answer) == 200


# --- bodies -----------------------------------------------------------------------------


def _put_head(extra: bytes) -> bytes:
    return (
        b"PUT /v2/app/manifests/big HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: " + OCI_MANIFEST.encode() + b"\r\n" + extra + b"\r\n"
    )


@pytest.mark.slow
def test_an_oversized_chunked_manifest_is_cut_off_with_413(server: RegistryProcess) -> None:
    total = 300 << 20
    chunk = b"%x\r\n" % (1 << 20) + b"a" * (1 << 20) + b"\r\n"
    head = _put_head(b"Transfer-Encoding: chunked\r\n")
    with Watch(server) as watch:
        floods = _in_parallel(2, lambda: _flood(_address(server), head, chunk, total))
    for flood in floods:
        assert _status(flood.answer) == 413
        error = json.loads(_body(flood.answer))["errors"][0]
        assert error["code"] == "SIZE_INVALID"
        assert "limits.manifestbytes" in error["message"]
        assert flood.closed
        assert flood.sent < 64 << 20, f"the server read {flood.sent >> 20} MiB of a 300 MiB body"
    watch.check()


def test_an_oversized_declared_manifest_is_refused_before_its_body(
    server: RegistryProcess,
) -> None:
    with socket.create_connection(_address(server), timeout=10) as s:
        s.sendall(_put_head(b"Content-Length: %d\r\n" % (300 << 20)))
        answer, closed = _read_answer(s, 5)  # nothing of the body was sent
    assert _status(answer) == 413 and closed
    error = json.loads(_body(answer))["errors"][0]
    assert error["code"] == "SIZE_INVALID" and "limits.manifestbytes" in error["message"]


def test_a_chunked_manifest_within_the_limit_is_stored(server: RegistryProcess) -> None:
    with httpx.Client(base_url=server.url) as client:
        image = push_image(client, "app", "v1")
        r = client.put(
            "/v2/app/manifests/chunked",
            content=iter([image.manifest[:10], image.manifest[10:]]),  # chunked
            headers={"content-type": OCI_MANIFEST},
        )
        assert r.status_code == 201, r.text
        assert r.headers["docker-content-digest"] == image.digest


def test_manifest_limit_is_configurable(tmp_path: Path) -> None:
    env = {"REGISTRY_LIMITS_MANIFESTBYTES": "100"}
    with (
        start_registry(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        r = client.put(
            "/v2/app/manifests/x",
            content=b"{" + b" " * 200 + b"}",
            headers={"content-type": OCI_MANIFEST},
        )
    assert r.status_code == 413
    assert r.headers["connection"] == "close"
    assert "limits.manifestbytes" in r.json()["errors"][0]["message"]
