"""The server's HTTP protocol (uvicorn's, with writes coalesced per event-loop step) through a
real process: pipelined requests answered whole and in order, ``Connection: close`` honoured."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from _infra.registry_server import start_registry


def read_all(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_pipelined_requests_and_connection_close(tmp_path: Path) -> None:
    with start_registry(tmp_path / "data") as server:
        host, port = server.host.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            requests = [b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"] * 20
            requests.append(b"GET /v2/nope/x HTTP/1.1\r\nHost: x\r\n\r\n")
            requests.append(b"HEAD /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.sendall(b"".join(requests))
            answer = read_all(s)  # the server closes after the last one
        parts = answer.split(b"HTTP/1.1 ")[1:]
        assert len(parts) == 22
        assert all(p.startswith(b"200 OK") and p.endswith(b"\r\n\r\n{}") for p in parts[:20])
        assert parts[20].startswith(b"404 ") and b'"errors"' in parts[20]
        assert parts[21].startswith(b"200 OK") and parts[21].endswith(b"\r\n\r\n")
        assert b"connection: close" in parts[21].lower()
