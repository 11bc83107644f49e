"""Running the registry: configuration → storage, metadata, auth, metrics, access log → uvicorn."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from dockyard import __version__
from dockyard.registry._registry import Registry
from dockyard.registry._workers import MetricsExchange, Worker, listen_socket, run_workers
from dockyard.registry.accesslog import AccessEntry, AccessLog, new_request_id
from dockyard.registry.auth import HtpasswdAuthenticator
from dockyard.registry.config import RegistryConfig
from dockyard.registry.http import RegistryApp, Request, ResponseObserver
from dockyard.registry.http._io import send_bytes
from dockyard.registry.http._protocol import RegistryHttpProtocol
from dockyard.registry.metrics import RegistryMetrics
from dockyard.registry.tls import server_context

__all__ = ["build_app", "serve"]

log = logging.getLogger("dockyard.registry")

#: Upload sessions idle this long are removed when the registry starts.
STALE_UPLOAD_AGE = 7 * 24 * 3600.0
#: Access log lines are written in batches at least this often (seconds).
ACCESS_LOG_FLUSH_INTERVAL = 0.25


def _metrics_observer(metrics: RegistryMetrics) -> ResponseObserver:
    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        metrics.observe_request(
            request.method, route, status, seconds, received=request.received, sent=sent
        )
        method = request.method
        if route == "uploads" and method == "POST" and status == 202:
            metrics.upload_started()
        elif (route == "upload" and method == "PUT") or (route == "uploads" and method == "POST"):
            if status == 201:
                metrics.upload_completed()
            elif status >= 400:
                metrics.upload_failed("digest" if status == 400 else "error")
        elif route == "upload" and method == "DELETE" and status == 204:
            metrics.upload_failed("cancelled")

    return observe


def _access_observer(access: AccessLog) -> ResponseObserver:
    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        scope = request.scope
        query = scope.get("query_string", b"").decode("latin-1")
        client = scope.get("client")
        access.write(
            AccessEntry(
                method=request.method,
                path=request.path + (f"?{query}" if query else ""),
                status=status,
                bytes=sent,
                duration_ms=seconds * 1000,
                remote=client[0] if client else "-",
                user=request.user,
                user_agent=request.header("user-agent"),
                referer=request.header("referer"),
                request_id=new_request_id(request.header("x-request-id")),
                protocol=f"HTTP/{scope.get('http_version', '1.1')}",
                bytes_received=request.received,
            )
        )

    return observe


def _metrics_page(
    metrics: RegistryMetrics, render: Callable[[], bytes]
) -> Callable[[Request, Registry], object]:
    async def page(request: Request, registry: Registry) -> None:
        await send_bytes(request.send, 200, render(), content_type=metrics.content_type.encode())

    return page


def build_app(
    config: RegistryConfig, *, access_log: bool = True, worker: Worker | None = None
) -> RegistryApp:
    """The ASGI app ``config`` describes (storage opened, auth and metrics wired); ``worker``
    when this process is one of several serving the same address."""
    registry = Registry.open(
        config.storage.rootdirectory,
        database=config.database_url,
        delete_enabled=config.storage.delete_enabled,
    )
    if config.sections.get("policies") is not None:
        from dockyard.registry.policy import signature_enforcement

        registry.pull_policy = signature_enforcement(config.sections)
        if registry.pull_policy is not None:
            rules = registry.pull_policy.policy.rules
            log.info(
                "signature required to pull from %s",
                ", ".join(rule.repository for rule in rules),
            )
    scanning = None
    if config.sections.get("scanning") is not None:
        from dockyard.registry.scanning import start_scanning

        # every worker scans what its own pushes queue (queueing is one transaction, so each
        # scan is queued once); only the first takes up what a previous process left pending
        scanning = start_scanning(
            registry, config.sections["scanning"], resume=worker is None or worker.index == 0
        )
    purged = registry.purge_uploads(STALE_UPLOAD_AGE)
    if purged:
        log.info("removed %d stale upload session(s)", purged)
    authenticator = None
    if config.htpasswd is not None:
        authenticator = HtpasswdAuthenticator(config.htpasswd.path, config.htpasswd.realm)
    observers: list[ResponseObserver] = []
    on_shutdown: list[Callable[[], None]] = []
    extra = {}
    if config.metrics.enabled:
        metrics = RegistryMetrics(__version__)
        observers.append(_metrics_observer(metrics))
        render: Callable[[], bytes] = metrics.render
        if worker is not None and worker.count > 1:
            exchange = MetricsExchange(metrics, worker)
            render = exchange.render
            on_shutdown.append(exchange.close)
        extra[config.metrics.path] = _metrics_page(metrics, render)
    if access_log and not config.log.accesslog_disabled:
        json_log = config.log.formatter in ("json", "logstash")
        access = AccessLog(
            sys.stderr,
            "json" if json_log else "combined",
            flush_interval=ACCESS_LOG_FLUSH_INTERVAL,
        )
        observers.append(_access_observer(access))
        on_shutdown.append(access.close)
    if scanning is not None:
        observers.append(scanning.observer())
        on_shutdown.append(scanning.close)
    return RegistryApp(
        registry,
        authenticator=authenticator,
        observers=observers,
        extra_routes=extra,  # type: ignore[arg-type]
        extensions={"dockyard": scanning.reports} if scanning is not None else None,
        on_shutdown=on_shutdown,
    )


def serve(config: RegistryConfig) -> None:
    """Serve until interrupted (SIGINT/SIGTERM), on uvicorn with uvloop and httptools, in
    ``config.http.workers`` processes."""
    host, port = config.http.host_port
    tls = config.http.tls
    if tls is not None:  # fail early with a message naming the bad file
        server_context(tls.certificate, tls.key, client_cas=tls.clientcas, minimum=tls.minimumtls)
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    workers = config.http.workers
    log.info(
        "dockyard registry %s listening on %s://%s:%d (data in %s%s%s)",
        __version__,
        scheme,
        shown,
        port,
        config.storage.rootdirectory,
        ", htpasswd auth" if config.htpasswd else "",
        f", {workers} worker processes" if workers > 1 else "",
    )
    if workers == 1:
        _serve(config, None)
        return
    # create the database (schema, WAL mode) once, before the workers open it together
    Registry.open(config.storage.rootdirectory, database=config.database_url).close()
    code = run_workers(workers, host, port, lambda worker: _serve(config, worker))
    if code:
        raise SystemExit(code)


def _serve(config: RegistryConfig, worker: Worker | None) -> None:
    import uvicorn

    host, port = config.http.host_port
    tls = config.http.tls
    app = build_app(config, worker=worker)
    uv = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=RegistryHttpProtocol,
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
        backlog=4096,
        timeout_keep_alive=75,
        ssl_certfile=str(tls.certificate) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
        ssl_ca_certs=str(tls.clientcas[0]) if tls and tls.clientcas else None,
        ssl_cert_reqs=2 if tls and tls.clientcas else 0,
    )
    sockets = None if worker is None else [listen_socket(host, port, reuse_port=True)]
    try:
        uvicorn.Server(uv).run(sockets=sockets)
    finally:
        app.registry.close()
