"""TLS for the registry: a server context from PEM files, checked with errors that say why.

:func:`server_context` builds the :class:`ssl.SSLContext` the server serves with (certificate,
every client CA, minimum version, registry:2's cipher suite names mapped to OpenSSL's);
:func:`check_tls_files` validates a pair alone; :func:`write_self_signed` makes a certificate
for tests and local use.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import InvalidArgument, NotFound

__all__ = ["check_tls_files", "server_context", "write_self_signed"]

_MINIMUM = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}

#: registry:2's ``http.tls.ciphersuites`` names (Go's crypto/tls) → OpenSSL's, TLS 1.2 and older.
CIPHER_SUITES = {
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",  # Go's old alias
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
#: TLS 1.3 suites: accepted in the list (as registry:2 does) but fixed by OpenSSL.
TLS13_SUITES = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)


def _readable(path: Path, what: str, env: str) -> None:
    if path.is_dir():
        raise InvalidArgument(
            f"TLS {what} {path} is a directory; give the PEM file", hint=f"check {env}"
        )
    if not path.is_file():
        raise NotFound(f"TLS {what} {path} does not exist", hint=f"check {env}")
    if not os.access(path, os.R_OK):
        raise InvalidArgument(
            f"TLS {what} {path} is not readable by this user", hint=f"check {env}"
        )


def server_context(
    certificate: Path,
    key: Path,
    *,
    client_cas: Sequence[Path] = (),
    minimum: str = "tls1.2",
    ciphers: Sequence[str] = (),
) -> ssl.SSLContext:
    """A server context for ``certificate`` (PEM, may include the chain) and its ``key``.

    ``client_cas``: require client certificates signed by one of these (registry:2's
    ``http.tls.clientcas``, all of them trusted). ``ciphers``: registry:2's cipher suite names
    for TLS 1.2 (empty: OpenSSL's defaults). Errors name the file and what is wrong with it.
    """
    _readable(certificate, "certificate", "http.tls.certificate (REGISTRY_HTTP_TLS_CERTIFICATE)")
    _readable(key, "key", "http.tls.key (REGISTRY_HTTP_TLS_KEY)")
    if minimum not in _MINIMUM:
        raise InvalidArgument(f"http.tls.minimumtls {minimum!r}: use tls1.2 or tls1.3")
    _check_pem(certificate, b"CERTIFICATE", "certificate")
    _check_pem(key, b"PRIVATE KEY", "key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _MINIMUM[minimum]
    try:
        context.load_cert_chain(certificate, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise InvalidArgument(
                f"TLS key {key} does not belong to certificate {certificate}",
                hint="pass the key the certificate was issued for",
            ) from exc
        raise InvalidArgument(
            f"cannot use TLS certificate {certificate} with key {key}: {exc.reason or exc}",
            hint="both must be PEM; an encrypted key is not supported",
        ) from exc
    for ca in client_cas:
        _readable(ca, "client CA", "http.tls.clientcas")
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as exc:
            raise InvalidArgument(f"TLS client CA {ca} is not a PEM certificate: {exc}") from exc
    if client_cas:
        context.verify_mode = ssl.CERT_REQUIRED
    if ciphers:
        _set_ciphers(context, ciphers, minimum)
    return context


def _set_ciphers(context: ssl.SSLContext, names: Sequence[str], minimum: str) -> None:
    """registry:2's suite names → OpenSSL's cipher list; an unknown or unavailable one is an
    error (registry:2 refuses to start on an unknown name too)."""
    unknown = [n for n in names if n not in CIPHER_SUITES and n not in TLS13_SUITES]
    if unknown:
        raise InvalidArgument(
            f"http.tls.ciphersuites: unknown TLS cipher suite {', '.join(unknown)}",
            hint="use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
            "or leave the list out for the defaults",
        )
    wanted = [CIPHER_SUITES[n] for n in names if n in CIPHER_SUITES]
    if not wanted:
        if minimum == "tls1.3":
            return  # TLS 1.3 suites only: OpenSSL's, nothing to set
        raise InvalidArgument(
            "http.tls.ciphersuites lists only TLS 1.3 suites, which OpenSSL fixes; "
            "TLS 1.2 clients would find no suite",
            hint="add a TLS 1.2 suite, or set http.tls.minimumtls: tls1.3",
        )
    try:
        context.set_ciphers(":".join(wanted))
    except ssl.SSLError:
        available: set[str] = set()
    else:
        available = {c["name"] for c in context.get_ciphers()}
    missing = [n for n in names if n in CIPHER_SUITES and CIPHER_SUITES[n] not in available]
    if missing:
        raise InvalidArgument(
            f"http.tls.ciphersuites: {', '.join(missing)} is not available in this OpenSSL "
            "build (insecure suites are disabled)",
            hint="remove it from the list",
        )


def check_tls_files(certificate: Path, key: Path, client_cas: Sequence[Path] = ()) -> None:
    """Raise a clear error now if the server could not start TLS with these files."""
    server_context(certificate, key, client_cas=client_cas)


def _check_pem(path: Path, label: bytes, what: str) -> None:
    data = path.read_bytes()
    if b"-----BEGIN " not in data:
        raise InvalidArgument(
            f"TLS {what} {path} is not PEM", hint="convert it: openssl x509/pkey -outform PEM"
        )
    if label not in data:
        raise InvalidArgument(f"TLS {what} {path} holds no {label.decode()} block")
    if what == "key" and b"ENCRYPTED" in data:
        raise InvalidArgument(
            f"TLS key {path} is encrypted", hint="the registry needs an unencrypted key file"
        )


def write_self_signed(
    certificate: Path,
    key: Path,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    *,
    days: int = 365,
) -> None:
    """Write a self-signed certificate (PEM) for ``hosts`` and its EC P-256 key (mode 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "dockyard")]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
