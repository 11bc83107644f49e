"""Blob bodies from an object store's socket to the client's with ``splice``: exact bytes,
a client that reads slowly, a store that ends the body early — over real kernel sockets."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from dockyard.registry.http._protocol import _sendfile_all


def _pair() -> tuple[socket.socket, socket.socket]:
    """Two ends of a TCP connection on loopback (what a store and a client use)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        a = socket.create_connection(server.getsockname())
        b, _ = server.accept()
    return a, b


def _reader(sock: socket.socket, out: bytearray, delay_every: int = 0) -> threading.Thread:
    def run() -> None:
        n = 0
        while chunk := sock.recv(1 << 16):
            out.extend(chunk)
            n += 1
            if delay_every and n % delay_every == 0:
                threading.Event().wait(0.01)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_the_next_count_bytes_go_through_and_nothing_more() -> None:
    body = os.urandom(5 << 20)
    store, store_end = _pair()
    client_end, client = _pair()
    client_end.setblocking(False)  # as the server's own sockets are
    feeder = threading.Thread(target=store.sendall, args=(body + b"NEXT",), daemon=True)
    feeder.start()
    got = bytearray()
    reader = _reader(client, got, delay_every=8)  # a client slower than the store
    _sendfile_all(client_end.fileno(), store_end.fileno(), 0, len(body))
    client_end.close()
    reader.join(30)
    feeder.join(30)
    assert bytes(got) == body
    store_end.setblocking(True)
    assert store_end.recv(4) == b"NEXT"  # not a byte past the body was taken
    for s in (store, store_end, client):
        s.close()


def test_a_store_that_ends_early_is_an_error_after_what_it_sent() -> None:
    store, store_end = _pair()
    client_end, client = _pair()
    client_end.setblocking(False)
    store.sendall(b"x" * 1000)
    store.close()
    got = bytearray()
    reader = _reader(client, got)
    with pytest.raises(OSError, match="ended 9000 bytes before the body"):
        _sendfile_all(client_end.fileno(), store_end.fileno(), 0, 10_000)
    client_end.close()
    reader.join(30)
    assert bytes(got) == b"x" * 1000
    store_end.close()
    client.close()
