"""The pages outside the API: ``/`` (what this is, how to push, how to get the web console)
and ``/healthz``. Where the registry serves the web console (an open registry, ``auth:
projects``) the console answers ``/`` instead; an open registry's console home shows the same
push and pull help."""

from __future__ import annotations

import html
import logging

from dockyard import __version__
from dockyard.errors import Unavailable
from dockyard.registry._registry import Registry
from dockyard.registry.http._io import Request, send_bytes

__all__ = ["about", "healthz", "home", "push_help"]

log = logging.getLogger("dockyard.registry")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dockyard registry</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em}}
pre{{background:#f4f4f4;padding:.8em;overflow:auto}}</style></head>
<body>
<h1>dockyard registry</h1>
{about}
{help}
<h2 id="console">The web console</h2>
<p>A registry with sign-in serves its web console (projects, repositories, layers and files,
vulnerabilities, signatures, comparing two tags) with projects and users: serve it with
<code>REGISTRY_AUTH=projects</code>, from a dockyard checkout <code>make serve AUTH=projects</code>.
Its first start prints the <code>admin</code> password once (<code>DOCKYARD_ADMIN_PASSWORD</code>
chooses it); then open this address and sign in. An open registry (no auth) serves the console
here to everyone.</p>
</body></html>
"""
_ABOUT = """<p>This is a container image registry speaking the
<a href="https://github.com/opencontainers/distribution-spec">OCI distribution API v1.1</a>
(dockyard {version}). Docker, podman, skopeo, crane and dockyard can push to it and pull from it.</p>"""
_HELP = """<h2>Push an image</h2>
<pre>docker tag busybox {host}/busybox:latest
docker push {host}/busybox:latest
skopeo copy{dest_tls} oci:busybox:latest docker://{host}/busybox:latest</pre>
<h2>Pull it back</h2>
<pre>docker pull {host}/busybox:latest
skopeo copy{src_tls} docker://{host}/busybox:latest oci:busybox:latest</pre>
<h2>See what is stored</h2>
<pre>curl {scheme}://{host}/v2/_catalog
curl {scheme}://{host}/v2/busybox/tags/list</pre>
<p>Docker treats <code>localhost</code> and 127.0.0.0/8 as insecure registries and talks plain HTTP
to them; for other addresses serve TLS or list the registry in <code>insecure-registries</code>.</p>"""


def _scheme(request: Request) -> str:
    """How clients reach this page: https when served over TLS or behind a proxy that ends
    TLS (X-Forwarded-Proto), else http."""
    forwarded = (request.header("x-forwarded-proto") or "").split(",")[0].strip().lower()
    if forwarded in ("http", "https"):
        return forwarded
    return "https" if request.scope.get("scheme") == "https" else "http"


def about() -> str:
    """What this is (HTML): the registry, the API it speaks, dockyard's version."""
    return _ABOUT.format(version=__version__)


def push_help(request: Request) -> str:
    """How to push, pull and list (HTML): commands for this address, as ``request`` reached
    it. The web console of an open registry shows the same on its home page."""
    host = request.header("host") or "localhost:5000"
    scheme = _scheme(request)
    # skopeo verifies TLS for every registry unless told not to; over plain HTTP it must be
    plain = scheme == "http"
    return _HELP.format(
        host=html.escape(host),
        scheme=scheme,
        src_tls=" --src-tls-verify=false" if plain else "",
        dest_tls=" --dest-tls-verify=false" if plain else "",
    )


async def home(request: Request, registry: Registry) -> None:
    body = _PAGE.format(about=about(), help=push_help(request)).encode()
    await send_bytes(
        request.send,
        200,
        body,
        content_type=b"text/html; charset=utf-8",
        head=request.method == "HEAD",
    )


async def healthz(request: Request, registry: Registry) -> None:
    """Up or down, nothing more: this page is public. The detailed health (version, each
    check, the worker) is on the debug address, ``http.debug.addr``."""
    try:
        await request.run(registry.meta.repository_exists, "")
    except Unavailable:  # an outage: logged once by the database, not once per check
        status, body = 503, b'{"status":"down"}'
    except Exception:  # any failure of the database means down; the log has the cause
        log.exception("health check: the metadata database does not answer")
        status, body = 503, b'{"status":"down"}'
    else:
        status, body = 200, b'{"status":"ok"}'
    await send_bytes(
        request.send,
        status,
        body,
        content_type=b"application/json",
        head=request.method == "HEAD",
    )
