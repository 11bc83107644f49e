"""``dockyard ui``'s HTTP server: the standard library's threading server, GET and HEAD, and
one POST (``/delete``, with the token the image page's form carries), the console's security
headers on every answer, and two guards:

- with a token (required off loopback), every request must present it as HTTP Basic's
  password (any user name; the browser asks once), compared in constant time;
- without one (loopback only), the ``Host`` header must name the loopback address, so a web
  page elsewhere cannot read the UI through a DNS name rebound to 127.0.0.1.

Store reads run one at a time (the local store's metadata connection is shared)."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from dockyard.errors import (
    AlreadyExists,
    Conflict,
    DockyardError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unsupported,
)
from dockyard.local import LocalStore
from dockyard.registry.console.shared import CSS, JS, SECURITY_HEADERS
from dockyard.ui import _pages as pages
from dockyard.ui import _store as data
from dockyard.ui._listen import Listen

__all__ = ["UiServer", "make_server"]

log = logging.getLogger("dockyard.ui")

_HTML = "text/html; charset=utf-8"
_STATIC = {
    "/static/console.css": (CSS, "text/css; charset=utf-8"),
    "/static/console.js": (JS, "text/javascript; charset=utf-8"),
}
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_FORM = 4096


class _Download(Exception):
    """A file to save (an SBOM) instead of a page."""

    def __init__(self, body: bytes, filename: str) -> None:
        self.body, self.filename = body, filename


class UiServer(ThreadingHTTPServer):
    """Serves the UI's pages over ``store``."""

    daemon_threads = True

    def __init__(self, listen: Listen, store: LocalStore) -> None:
        self.store = store
        self.listen = listen
        self.lock = threading.Lock()
        #: the token every form that changes something carries (the delete button's)
        self.csrf = secrets.token_urlsafe(32)
        if ":" in listen.host:
            self.address_family = socket.AF_INET6
        super().__init__((listen.host, listen.port), _Handler)

    @property
    def url(self) -> str:
        host = self.listen.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server_address[1]}/"


def make_server(listen: Listen, store: LocalStore) -> UiServer:
    """Bind (port 0: a free one; :attr:`UiServer.url` says which) without serving yet."""
    return UiServer(listen, store)


def _status(error: DockyardError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidArgument | Unsupported):
        return 400
    if isinstance(error, FailedPrecondition):
        return 412
    if isinstance(error, Conflict | AlreadyExists):
        return 409
    return 500


class _Handler(BaseHTTPRequestHandler):
    server: UiServer
    protocol_version = "HTTP/1.1"

    timeout = 60

    def version_string(self) -> str:
        return "dockyard-ui"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _refuse_method(self) -> None:
        self.close_connection = True  # its body is not read
        self._send(405, pages.error_page(405, "The UI only reads, and deletes by its form."),
                   _HTML, extra=[("Allow", "GET, HEAD")])  # fmt: skip

    do_PUT = do_DELETE = do_PATCH = _refuse_method

    def do_POST(self) -> None:
        """``/delete`` (the image page's form): the image goes as with ``dockyard rmi ID``,
        when the form carries this server's CSRF token."""
        if not self._guarded(head=False):
            return
        if urlsplit(self.path).path != "/delete":
            self._refuse_method()
            return
        self.close_connection = True
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_FORM:
            self._send(413, pages.error_page(413, "That form is too large."), _HTML)
            return
        try:
            form = parse_qs(self.rfile.read(int(length)).decode(), max_num_fields=10)
        except (ValueError, UnicodeDecodeError):
            form = {}
        token = (form.get("csrf") or [""])[-1]
        if not hmac.compare_digest(token.encode(), self.server.csrf.encode()):
            self._send(403, pages.error_page(403, "The form's token is missing or wrong: "
                                                  "reload the image page and try again."), _HTML)  # fmt: skip
            return
        try:
            with self.server.lock:
                deleted = data.delete(self.server.store, (form.get("id") or [""])[-1])
        except DockyardError as error:
            self._send(_status(error), pages.error_page(_status(error), str(error)), _HTML)
            return
        self._send(303, b"", _HTML, extra=[("Location", "/?" + urlencode({"deleted": deleted}))])

    def _guarded(self, *, head: bool) -> bool:
        """Whether the request may go on (else it was answered 421 or 401)."""
        refused = self._allowed()
        if refused == "host":
            self._send(421, pages.error_page(421, "Open the UI at 127.0.0.1."), _HTML, head=head)
        elif refused == "token":
            self._send(401, pages.error_page(401, "Give the UI's token as the password."), _HTML,
                       head=head, extra=[("WWW-Authenticate", 'Basic realm="dockyard ui"')])  # fmt: skip
        return refused is None

    def _allowed(self) -> str | None:
        """Why this request is refused, or None."""
        token = self.server.listen.token
        if token is None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host not in (*_LOCAL_HOSTS, self.server.listen.host):
                return "host"
            return None
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        password = decoded.partition(":")[2]
        if scheme.lower() == "basic" and hmac.compare_digest(password.encode(), token.encode()):
            return None
        return "token"

    def _answer(self, *, head: bool) -> None:
        if not self._guarded(head=head):
            return
        url = urlsplit(self.path)
        if url.path in _STATIC:
            body, kind = _STATIC[url.path]
            self._send(200, body, kind, head=head, extra=[("Cache-Control", "max-age=3600")])
            return
        route = _ROUTES.get(url.path)
        if route is None:
            self._send(404, pages.error_page(404, f"No page {url.path}."), _HTML, head=head)
            return
        try:
            query = {k: v[-1] for k, v in parse_qs(url.query, max_num_fields=20).items()}
            with self.server.lock:
                body = route(self.server, query)
            status = 200
        except _Download as file:
            disposition = f'attachment; filename="{file.filename}"'
            self._send(200, file.body, "application/json", head=head,
                       extra=[("Content-Disposition", disposition)])  # fmt: skip
            return
        except DockyardError as error:
            status, body = _status(error), pages.error_page(_status(error), str(error))
        except ValueError as error:  # a bad number in the query
            status, body = 400, pages.error_page(400, str(error))
        except Exception:
            log.exception("dockyard ui: %s failed", self.path)
            status, body = 500, pages.error_page(500, "The page failed; see the UI's log.")
        self._send(status, body, _HTML, head=head)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        head: bool = False,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        self.send_response(status)
        if self.close_connection:  # say so: a client must not send its next request here
            self.send_header("Connection", "close")
        for name, content in SECURITY_HEADERS:
            self.send_header(name.decode(), content.decode())
        for key, value in extra or ():
            self.send_header(key, value)
        if content_type == _HTML:
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _images(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    sort = q.get("sort", "created")
    descending = q.get("order", "desc") != "asc"
    search = q.get("q", "")
    rows = data.image_rows(store, search=search, sort=sort, descending=descending)
    return pages.images_page(rows, search=search, sort=sort, descending=descending,
                             deleted=q.get("deleted", ""))  # fmt: skip


def _image(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    detail = data.image_detail(store, q.get("id", ""))
    return pages.image_page(detail, data.image_rows(store), vulndb=data.has_vulndb(store),
                            csrf=server.csrf)  # fmt: skip


def _vulnerabilities(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    detail = data.image_detail(store, q.get("id", ""))
    severity = q.get("severity", "").upper()
    found = data.vulnerabilities(store, detail.row.id)
    return pages.vulnerabilities_page(detail.row.id, detail.row.name, found, severity)


def _packages(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    detail = data.image_detail(store, q.get("id", ""))
    rows = data.packages(store, detail.row.id)
    return pages.packages_page(detail.row.id, detail.row.name, rows, q.get("q", "")[:200])


def _sbom(server: UiServer, q: dict[str, str]) -> bytes:
    text, filename = data.sbom(server.store, q.get("id", ""), q.get("format", ""))
    raise _Download(text.encode(), filename)


def _layer(q: dict[str, str]) -> int:
    text = q.get("layer", "1")
    if not text.isdigit() or int(text) < 1:
        raise InvalidArgument(f"layer must be a number from 1, not {text!r}")
    return int(text) - 1


def _files(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    ident = q.get("id", "")
    detail = data.image_detail(store, ident)
    found = data.listing(store, detail.row.id, _layer(q), merged=q.get("view") == "merged",
                         path=q.get("path", ""))  # fmt: skip
    return pages.files_page(detail.row.id, detail.row.name, found)


def _compare(server: UiServer, q: dict[str, str]) -> bytes:
    store = server.store
    rows = data.image_rows(store)
    a, b = q.get("a", ""), q.get("b", "")
    if not (a and b):
        first = rows[1].id if len(rows) > 1 else rows[0].id if rows else ""
        return pages.compare_page(rows, first, rows[0].id if rows else "", None, ("", ""))
    one, other = data.image_detail(store, a).row, data.image_detail(store, b).row
    result = data.compare(store, one.id, other.id)
    return pages.compare_page(rows, one.id, other.id, result, (one.name, other.name))


_ROUTES: dict[str, Callable[[UiServer, dict[str, str]], bytes]] = {
    "/": _images,
    "/image": _image,
    "/files": _files,
    "/compare": _compare,
    "/vulnerabilities": _vulnerabilities,
    "/packages": _packages,
    "/sbom": _sbom,
}
