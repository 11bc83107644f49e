"""TLS helper: a server context from PEM files, a real handshake, and errors naming the file."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from _infra import dockyard_executable, free_port
from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry.tls import check_tls_files, server_context, write_self_signed


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "domain.crt", tmp_path / "domain.key"
    write_self_signed(cert, key, ["localhost", "127.0.0.1"])
    return cert, key


def test_a_real_handshake_with_the_self_signed_pair(pair: tuple[Path, Path]) -> None:
    cert, key = pair
    assert key.stat().st_mode & 0o777 == 0o600
    server = server_context(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer() -> None:
        conn, _ = listener.accept()
        with server.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"hello " + tls.recv(16))

    thread = threading.Thread(target=answer)
    thread.start()
    client = ssl.create_default_context(cafile=cert)
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"tls")
        assert tls.recv(16) == b"hello tls"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    thread.join(5)
    listener.close()


def test_tls13_minimum_and_client_cas(pair: tuple[Path, Path]) -> None:
    cert, key = pair
    context = server_context(cert, key, client_cas=[cert], minimum="tls1.3")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert context.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(InvalidArgument, match="minimumtls"):
        server_context(cert, key, minimum="ssl3")


def test_errors_name_the_file_and_the_problem(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    cert, key = pair
    with pytest.raises(NotFound, match=r"certificate .*missing\.crt does not exist"):
        check_tls_files(tmp_path / "missing.crt", key)
    with pytest.raises(NotFound, match="REGISTRY_HTTP_TLS_KEY"):
        check_tls_files(cert, tmp_path / "missing.key")
    der = tmp_path / "der.crt"
    der.write_bytes(b"\x30\x82\x01\x0a binary")
    with pytest.raises(InvalidArgument, match="is not PEM"):
        check_tls_files(der, key)
    with pytest.raises(InvalidArgument, match="holds no PRIVATE KEY"):
        check_tls_files(cert, cert)
    other_cert, other_key = tmp_path / "o.crt", tmp_path / "o.key"
    write_self_signed(other_cert, other_key)
    with pytest.raises(InvalidArgument, match="does not belong to certificate"):
        check_tls_files(cert, other_key)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
    )
    with pytest.raises(InvalidArgument, match="encrypted"):
        check_tls_files(cert, encrypted)


@pytest.mark.slow
def test_tls_from_registry2s_variables(tmp_path: Path) -> None:
    """REGISTRY_HTTP_TLS_CERTIFICATE/_KEY: the server speaks HTTPS with that pair, and a bad
    pair stops it at startup with a message naming the file."""
    cert, key = tmp_path / "domain.crt", tmp_path / "domain.key"
    write_self_signed(cert, key, ["127.0.0.1"])
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_HTTP_TLS_CERTIFICATE": os.fspath(cert),
        "REGISTRY_HTTP_TLS_KEY": os.fspath(key),
    }
    argv: list[str | os.PathLike[str]] = [dockyard_executable(), "registry", "serve"]
    argv += ["--root", os.fspath(tmp_path / "data")]
    argv += ["--addr", f"127.0.0.1:{port}"]
    trust = ssl.create_default_context(cafile=cert)
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        try:
            deadline, answer = time.monotonic() + 20, None
            while answer is None and time.monotonic() < deadline and proc.poll() is None:
                try:
                    answer = httpx.get(f"https://127.0.0.1:{port}/v2/", verify=trust, timeout=1)
                except httpx.HTTPError:
                    time.sleep(0.05)
            assert answer is not None and answer.status_code == 200, proc.poll()
            assert answer.http_version == "HTTP/1.1"
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"https://127.0.0.1:{port}/v2/", timeout=2)  # untrusted: refused
        finally:
            proc.terminate()
            proc.wait(10)

    other_cert, other_key = tmp_path / "o.crt", tmp_path / "o.key"
    write_self_signed(other_cert, other_key)
    env["REGISTRY_HTTP_TLS_KEY"] = os.fspath(other_key)
    failed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0
    assert f"TLS key {other_key} does not belong to certificate {cert}" in failed.stderr


def test_cipher_suites_and_directories(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    cert, key = pair
    context = server_context(cert, key, ciphers=["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-ECDSA-AES128-GCM-SHA256"}
    with pytest.raises(InvalidArgument, match="unknown TLS cipher suite TLS_NOPE"):
        server_context(cert, key, ciphers=["TLS_NOPE"])
    with pytest.raises(InvalidArgument, match=r"only TLS 1\.3 suites"):
        server_context(cert, key, ciphers=["TLS_AES_128_GCM_SHA256"])
    server_context(cert, key, ciphers=["TLS_AES_128_GCM_SHA256"], minimum="tls1.3")
    with pytest.raises(InvalidArgument, match="not available"):
        server_context(cert, key, ciphers=["TLS_RSA_WITH_3DES_EDE_CBC_SHA"])
    with pytest.raises(InvalidArgument, match=r"TLS key .* is a directory; give the PEM file"):
        check_tls_files(cert, tmp_path)
