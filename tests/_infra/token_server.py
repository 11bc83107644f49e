"""A Docker token-auth server for tests: a test double of an external authorisation service.

Real deployments put a separate token service (docker_auth, Harbor's core, GitLab) beside the
registry; none of those can run here, so this module implements the protocol itself, small and
strict, following docker's token-auth spec and its JWT profile:

- ``GET /token?service=S&scope=repository:NAME:ACTIONS…`` with optional Basic credentials;
  bad credentials get 401, otherwise the answer is ``{token, access_token, expires_in,
  issued_at}`` granting the intersection of what was asked and what the ACL allows (possibly
  nothing: the registry then refuses with ``insufficient_scope``).
- The token is a JWT signed ES256 by a P-256 key whose self-signed certificate is the
  registry's ``rootcertbundle``; its header names the key by ``kid`` in libtrust's fingerprint
  format, which is how distribution 2.8 finds a trusted key (``x5c`` is not sent).

The registry that checks these tokens is the real one (distribution 2.8.2).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

SERVICE = "dockyard-test-registry"
ISSUER = "dockyard-test-token-issuer"

#: who may do what: user ("" = anonymous) → [(repository prefix, allowed actions)]
Acl = dict[str, list[tuple[str, frozenset[str]]]]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(key: ec.EllipticCurvePublicKey) -> str:
    """libtrust's key ID: base32 of the first 240 bits of SHA-256(DER SubjectPublicKeyInfo),
    unpadded, in groups of four joined by ``:``."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class Grant:
    """One token request as the server saw it."""

    user: str  # "" for anonymous
    scopes: tuple[str, ...]
    granted: tuple[tuple[str, tuple[str, ...]], ...]  # (repository, actions)


@dataclass
class TokenServer:
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    users: dict[str, str]
    acl: Acl
    #: lifetime announced in ``expires_in``
    expires_in: int = 300
    #: lifetime the registry really accepts (None: the announced one); shorter models a
    #: token revoked early. distribution allows 60 s of clock skew past ``exp``, so ``exp`` is
    #: written 60 s early to make the registry refuse the token when this lifetime ends.
    valid_for: int | None = None
    port: int = 0
    grants: list[Grant] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_auth(self) -> dict[str, str]:
        """The ``auth: token:`` section of distribution's config for this server."""
        return {
            "realm": self.realm,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": str(self.cert_path),
        }

    def allowed(self, user: str, repository: str) -> set[str]:
        actions: set[str] = set()
        for who in {user, ""}:
            for prefix, allowed in self.acl.get(who, []):
                if repository.startswith(prefix):
                    actions |= allowed
        return actions

    def issue(self, user: str, scopes: list[str]) -> dict[str, object]:
        granted: dict[str, set[str]] = {}
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            ok = set(actions.split(",")) & self.allowed(user, name)
            if ok:
                granted.setdefault(name, set()).update(ok)
        now = int(time.time())
        valid = self.expires_in if self.valid_for is None else self.valid_for
        claims = {
            "iss": ISSUER,
            "sub": user,
            "aud": SERVICE,
            "exp": now + valid - 60,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [
                {"type": "repository", "name": n, "actions": sorted(a)}
                for n, a in sorted(granted.items())
            ],
        }
        header = {"typ": "JWT", "alg": "ES256", "kid": libtrust_key_id(self.key.public_key())}
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        token = signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        with self.lock:
            self.grants.append(
                Grant(
                    user,
                    tuple(scopes),
                    tuple((n, tuple(sorted(a))) for n, a in sorted(granted.items())),
                )
            )
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
        }

    def requests_by(self, user: str) -> list[Grant]:
        with self.lock:
            return [g for g in self.grants if g.user == user]


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, doc: object, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        tokens = self.server.tokens
        url = urlsplit(self.path)
        if url.path != "/token":
            self._send(404, {"error": "not found"})
            return
        query = parse_qs(url.query)
        if query.get("service", [SERVICE])[0] != SERVICE:
            self._send(400, {"error": "unknown service"})
            return
        user = ""
        auth = self.headers.get("Authorization", "")
        if auth:
            scheme, _, value = auth.partition(" ")
            name, _, password = base64.b64decode(value).decode().partition(":")
            if scheme.lower() != "basic" or tokens.users.get(name) != password:
                self._send(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]},
                    {"WWW-Authenticate": 'Basic realm="token"'},
                )
                return
            user = name
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        self._send(200, tokens.issue(user, scopes))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    tokens: TokenServer


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@contextmanager
def token_server(root: Path, users: dict[str, str], acl: Acl) -> Iterator[TokenServer]:
    """Serve tokens on 127.0.0.1 (a free port) until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert_path = root / "token-signer.pem"
    cert_path.write_bytes(_self_signed(key).public_bytes(serialization.Encoding.PEM))
    server = _HTTPServer(("127.0.0.1", 0), _Handler)
    tokens = TokenServer(key, cert_path, users, acl, port=server.server_address[1])
    server.tokens = tokens
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tokens
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
