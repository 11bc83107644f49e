"""The TLS a real ``dockyard registry serve`` negotiates is the configured one: minimum version,
every client CA, cipher suites; plain HTTP on the TLS port gets Go's 400; bad files stop
start-up with a message naming them."""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from _infra import dockyard_executable, free_port, terminate
from dockyard.registry.tls import write_self_signed

PLAIN_HTTP_ANSWER = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
)


@dataclass
class Authority:
    cert_path: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(directory: Path, name: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(path, cert, key)


def client_pair(directory: Path, ca: Authority, name: str) -> tuple[Path, Path]:
    """A client certificate (and key) for ``name`` issued by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Served:
    port: int
    cert: Path
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def server_pair(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    write_self_signed(cert, key, ["127.0.0.1"])  # an EC key: ECDSA cipher suites
    return cert, key


def _config(tmp_path: Path, port: int, tls_lines: list[str]) -> Path:
    config = tmp_path / "config.yml"
    lines = [
        "version: 0.1",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {tmp_path / 'data'}",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  tls:",
        *(f"    {line}" for line in tls_lines),
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


@contextlib.contextmanager
def serve_tls(tmp_path: Path, server_pair: tuple[Path, Path], *extra: str) -> Iterator[Served]:
    cert, key = server_pair
    port = free_port()
    config = _config(tmp_path, port, [f"certificate: {cert}", f"key: {key}", *extra])
    log = tmp_path / "registry.log"
    argv: list[str | os.PathLike[str]] = [
        dockyard_executable(),
        "registry",
        "serve",
        "--config",
        os.fspath(config),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:  # listening: a TCP connection is accepted
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Served(port, cert, process, log)
    finally:
        terminate(process)


def handshake(port: int, context: ssl.SSLContext) -> tuple[str, str]:
    """(TLS version, cipher) of a handshake plus one request answered over it."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = tls.recv(64)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def client_context(cert: Path, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cert)
    if maximum is not None:
        context.maximum_version = maximum
    return context


@pytest.mark.slow
def test_minimum_tls13_refuses_a_tls12_client(
    tmp_path: Path, server_pair: tuple[Path, Path]
) -> None:
    with serve_tls(tmp_path, server_pair, "minimumtls: tls1.3") as served:
        assert handshake(served.port, client_context(served.cert))[0] == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            handshake(served.port, client_context(served.cert, ssl.TLSVersion.TLSv1_2))


@pytest.mark.slow
def test_every_client_ca_is_trusted(tmp_path: Path, server_pair: tuple[Path, Path]) -> None:
    first, second, unknown = (make_ca(tmp_path, n) for n in ("ca1", "ca2", "ca3"))
    clientcas = f"clientcas: [{first.cert_path}, {second.cert_path}]"
    with serve_tls(tmp_path, server_pair, clientcas) as served:
        for ca, name in ((first, "alice"), (second, "bob")):
            context = client_context(served.cert)
            context.load_cert_chain(*client_pair(tmp_path, ca, name))
            assert handshake(served.port, context)[0] in ("TLSv1.2", "TLSv1.3")
        refused = client_context(served.cert)
        refused.load_cert_chain(*client_pair(tmp_path, unknown, "mallory"))
        for context in (refused, client_context(served.cert)):  # unknown CA; no certificate
            assert not answered(served.port, context)


def answered(port: int, context: ssl.SSLContext) -> bool:
    """Whether a request over TLS gets an HTTP answer (TLS 1.3 refuses a client certificate
    after the client's side of the handshake: the refusal is an alert or the end of input)."""
    try:
        handshake(port, context)
    except (ssl.SSLError, ConnectionError, AssertionError):
        return False
    return True


@pytest.mark.slow
def test_configured_cipher_suites_are_negotiated(
    tmp_path: Path, server_pair: tuple[Path, Path]
) -> None:
    suites = "ciphersuites: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]"
    with serve_tls(tmp_path, server_pair, suites) as served:
        tls12 = client_context(served.cert, ssl.TLSVersion.TLSv1_2)
        assert handshake(served.port, tls12) == ("TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305")
        other = client_context(served.cert, ssl.TLSVersion.TLSv1_2)
        other.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")  # not configured: no common suite
        with pytest.raises(ssl.SSLError):
            handshake(served.port, other)
        # TLS 1.3 suites are OpenSSL's own, whatever the list says
        assert handshake(served.port, client_context(served.cert))[0] == "TLSv1.3"


@pytest.mark.slow
def test_an_unknown_cipher_suite_stops_startup(
    tmp_path: Path, server_pair: tuple[Path, Path]
) -> None:
    cert, key = server_pair
    port = free_port()
    suites = "ciphersuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_FANCY_WITH_NOTHING]"
    config = _config(tmp_path, port, [f"certificate: {cert}", f"key: {key}", suites])
    argv: list[str | os.PathLike[str]] = [
        dockyard_executable(),
        "registry",
        "serve",
        "--config",
        os.fspath(config),
    ]
    failed = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0
    assert "unknown TLS cipher suite TLS_FANCY_WITH_NOTHING" in failed.stderr, failed.stderr


@pytest.mark.slow
def test_plain_http_to_the_tls_port_gets_gos_400(
    tmp_path: Path, server_pair: tuple[Path, Path]
) -> None:
    with serve_tls(tmp_path, server_pair) as served:
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
            raw.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            while chunk := raw.recv(4096):
                received += chunk
        assert received == PLAIN_HTTP_ANSWER
        # TLS on the same port still works afterwards
        assert handshake(served.port, client_context(served.cert))[0] == "TLSv1.3"


@pytest.mark.slow
def test_a_directory_as_certificate_says_so(tmp_path: Path, server_pair: tuple[Path, Path]) -> None:
    _, key = server_pair
    directory = tmp_path / "certs"
    directory.mkdir()
    config = _config(tmp_path, free_port(), [f"certificate: {directory}", f"key: {key}"])
    argv: list[str | os.PathLike[str]] = [
        dockyard_executable(),
        "registry",
        "serve",
        "--config",
        os.fspath(config),
    ]
    failed = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0
    assert f"TLS certificate {directory} is a directory; give the PEM file" in failed.stderr
