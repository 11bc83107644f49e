"""Running the registry: configuration → storage, metadata, auth, metrics, access log → uvicorn."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dockyard import __version__
from dockyard.registry._debug import DebugPages, DebugServer, check_debug_addr, start_debug_server
from dockyard.registry._https import HTTPSServer
from dockyard.registry._maintenance import FsckSchedule
from dockyard.registry._registry import Registry
from dockyard.registry._workers import (
    MetricsExchange,
    Worker,
    bind_listener,
    listen_socket,
    run_workers,
)
from dockyard.registry.accesslog import AccessEntry, AccessLog, new_request_id
from dockyard.registry.auth import HtpasswdAuthenticator
from dockyard.registry.config import RegistryConfig
from dockyard.registry.harbor import PREFIX as HARBOR_PREFIX
from dockyard.registry.harbor import ApiSettings, HarborApi, RegistrySecurity
from dockyard.registry.http import RegistryApp, Request, ResponseObserver
from dockyard.registry.http._app import ExtensionHandler
from dockyard.registry.http._io import send_bytes
from dockyard.registry.http._protocol import protocol_class
from dockyard.registry.metrics import RegistryMetrics
from dockyard.registry.storage._timed import TimedStorage
from dockyard.registry.tls import server_context

if TYPE_CHECKING:
    from dockyard.registry._authorize import Authorizer
    from dockyard.registry.http._app import Handler
    from dockyard.registry.token import Granter

__all__ = ["build_app", "serve"]

log = logging.getLogger("dockyard.registry")

#: Access log lines are written in batches at least this often (seconds).
ACCESS_LOG_FLUSH_INTERVAL = 0.25
#: The first administrator's password in ``auth: projects`` (generated and shown when unset).
ADMIN_PASSWORD_ENV = "DOCKYARD_ADMIN_PASSWORD"


def _metrics_observer(metrics: RegistryMetrics) -> ResponseObserver:
    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        metrics.observe_request(
            request.method, route, status, seconds, received=request.received, sent=sent
        )
        if request.route:  # counted in flight when it matched (RegistryApp.on_route)
            metrics.request_ended(request.route)
        method = request.method
        if route == "uploads" and method == "POST" and status == 202:
            metrics.upload_started()
        elif (route == "upload" and method == "PUT") or (route == "uploads" and method == "POST"):
            if status == 201:
                metrics.upload_completed()
            elif status >= 400 and status not in (401, 403):  # refused access: no upload
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
) -> Callable[[Request, Registry], Awaitable[None]]:
    async def page(request: Request, registry: Registry) -> None:
        await send_bytes(request.send, 200, render(), content_type=metrics.content_type.encode())

    return page


def harbor_api(config: RegistryConfig, authenticator: HtpasswdAuthenticator | None) -> HarborApi:
    """``/api/v2.0`` over the registry's own auth: with htpasswd, users may do everything
    and anonymous callers nothing; without auth, everyone may do everything; with bearer
    tokens only (no access model wired to the API), nobody."""
    settings = ApiSettings(
        realm=config.htpasswd.realm if config.htpasswd else "dockyard",
        project_creation_restriction="adminonly" if config.auth_enabled else "everyone",
    )
    return HarborApi(RegistrySecurity(authenticator, allow_all=not config.auth_enabled), settings)


def metrics_on_api_port(config: RegistryConfig) -> bool:
    """Whether ``/metrics`` is served on the API port: only by an open registry without
    ``http.debug.addr``. With auth on, registry:2's rule: metrics only on the debug address."""
    return config.metrics.enabled and config.http.debug_addr is None and not config.auth_enabled


def build_app(
    config: RegistryConfig,
    *,
    access_log: bool = True,
    worker: Worker | None = None,
    granter: Granter | None = None,
) -> RegistryApp:
    """The ASGI app ``config`` describes (storage opened, auth and metrics wired); ``worker``
    when this process is one of several serving the same address. ``granter`` decides who gets
    which scopes at the token endpoint (default: the htpasswd users get what they ask for); a
    granter turns dockyard's token service on even when the config does not."""
    return _build_app(config, access_log=access_log, worker=worker, granter=granter)[0]


def _token_auth(
    config: RegistryConfig, granter: Granter | None
) -> tuple[Authorizer | None, dict[str, Handler]]:
    """The bearer-token authorizer for /v2/ and the token endpoint, when tokens are in use."""
    from dockyard.registry.config import TokenIssuerConfig
    from dockyard.registry.token import (
        TOKEN_PATH,
        HtpasswdGranter,
        external_token_auth,
        own_token_auth,
    )

    if config.token is not None:  # an external issuer: verify only
        token = config.token
        authorizer = external_token_auth(
            realm=token.realm,
            service=token.service,
            issuer=token.issuer,
            rootcertbundle=token.rootcertbundle,
            jwks=token.jwks,
            autoredirect=token.autoredirect,
        )
        return authorizer, {}
    issuing = config.htpasswd.token if config.htpasswd is not None else None
    if issuing is None and granter is None:
        return None, {}
    issuing = issuing or TokenIssuerConfig()
    if granter is None:
        assert config.htpasswd is not None
        granter = HtpasswdGranter(
            HtpasswdAuthenticator(config.htpasswd.path, config.htpasswd.realm)
        )
    authorizer, service = own_token_auth(
        granter,
        config.storage.rootdirectory / "token",
        issuer=issuing.issuer,
        service=issuing.service,
        realm=issuing.realm,
        lifetime=issuing.expiration,
        key=issuing.key,
        certificate=issuing.certificate,
    )
    return authorizer, {TOKEN_PATH: service.handle}


def _build_app(
    config: RegistryConfig,
    *,
    access_log: bool,
    worker: Worker | None,
    granter: Granter | None = None,
) -> tuple[RegistryApp, Callable[[], bytes] | None]:
    """The app, and the metrics renderer for the debug server (None: metrics off)."""
    registry = Registry.open(
        config.storage.rootdirectory,
        database=config.database,
        delete_enabled=config.storage.delete_enabled,
        index_validation=config.index_validation,
        redis=config.redis,
        s3=config.storage.s3,
    )
    # only a store with URLs of its own can redirect (no extra hop per GET on a filesystem)
    registry.redirect = config.storage.redirect and config.storage.s3 is not None
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

        # every worker claims due scans from the job queue (each is queued once, in a
        # transaction, and claimed by one process)
        scanning = start_scanning(registry, config.sections["scanning"], limits=config.limits)
    purged = registry.purge_uploads(config.limits.upload_session_lifetime)
    if purged:
        log.info("removed %d stale upload session(s)", purged)
    from dockyard.registry._push_guard import GuardChain
    from dockyard.registry.webhooks import notification_endpoints, open_webhooks

    authenticator = None
    observers: list[ResponseObserver] = []
    on_shutdown: list[Callable[[], None]] = []
    projects = None
    authorizer: Authorizer | None
    extra: dict[str, Handler]
    if config.access is not None and granter is None:  # auth: projects, the access model
        from dockyard.registry._projects_mode import open_projects_mode
        from dockyard.registry.replication import replication_settings
        from dockyard.registry.token import TOKEN_PATH

        projects = open_projects_mode(
            config.access,
            registry.meta.db,
            config.storage.rootdirectory / "token",
            registry,
            # the promotion's scan gate compares reports with this database's age
            vulndb=scanning.config.db_path() if scanning is not None else None,
            replication=replication_settings(
                config.sections.get("replication"), config.storage.rootdirectory
            ),
        )
        registry.guard = projects.guard  # before any job starts: they ask it too
        from dockyard.registry.policy._projects import use_project_metadata

        # auto_scan, prevent_vul/severity, enable_content_trust(_cosign), per project
        use_project_metadata(registry, projects.access.projects, scanning)
        authorizer = projects.authorizer
        extra = {TOKEN_PATH: projects.token_handler}
        observers.append(projects.observer)
        on_shutdown.append(projects.close)
        if projects.webhooks is not None:  # pulls and deletes; pushes come from the guard
            observers.append(projects.webhooks.observer)
            projects.webhooks.add_endpoints(notification_endpoints(config.sections))
            if scanning is not None:  # SCANNING_COMPLETED / SCANNING_FAILED
                scanning.scanner.events = projects.webhooks.sink
        from dockyard.registry.events import NO_EVENTS
        from dockyard.registry.gcjobs import GcParameters, start_gc_jobs

        # /api/v2.0/system/gc's runs; its schedule is followed by the first process only
        gc = start_gc_jobs(
            registry,
            GcParameters.from_config(config.storage),
            schedule=worker is None or worker.index == 0,
            events=projects.webhooks.sink if projects.webhooks is not None else NO_EVENTS,
        )
        on_shutdown.append(gc.close)
    else:
        authorizer, extra = _token_auth(config, granter)
    hooks = None
    if projects is None and (endpoints := notification_endpoints(config.sections)):
        # registry:2's notifications in any other auth mode
        hooks = open_webhooks(registry, endpoints=endpoints, host=config.http.host or "")
        observers.append(hooks.observer)
        on_shutdown.append(hooks.close)
    if authorizer is None and config.htpasswd is not None:
        authenticator = HtpasswdAuthenticator(config.htpasswd.path, config.htpasswd.realm)
    render: Callable[[], bytes] | None = None
    metrics_registry = None
    if config.metrics.enabled:
        metrics = RegistryMetrics(__version__)
        metrics_registry = metrics.registry
        registry.storage = TimedStorage(registry.storage, metrics.storage_action)
        registry.uploads.storage = registry.storage
        if projects is not None and projects.replication is not None:
            projects.replication.attach_metrics(metrics.registry)  # registry_replication_*
        for webhooks in (hooks, projects.webhooks if projects is not None else None):
            if webhooks is not None:  # registry_notifications_*, for notifications.endpoints
                webhooks.attach_metrics(metrics.registry)
        observers.append(_metrics_observer(metrics))
        render = metrics.render
        if worker is not None and worker.count > 1:
            exchange = MetricsExchange(metrics, worker)
            render = exchange.render
            on_shutdown.append(exchange.close)
        if metrics_on_api_port(config):
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
    proxy_handlers = None
    if config.proxy is not None:  # a pull-through cache: reads fall through, pushes refused
        from dockyard.registry.proxy.cache import ProxyCache

        proxy_handlers = ProxyCache(registry, config.proxy, metrics=metrics_registry).handlers()
    elif projects is not None and projects.replication is not None:  # Harbor's proxy projects
        from dockyard.registry.proxy.projects import ProxyProjects

        proxies = ProxyProjects(registry, projects.replication.registries, metrics=metrics_registry)
        proxy_handlers = proxies.handlers()
        proxies.guard_writes(projects.guard)  # a tag added through the API, a replicated pull
    api = projects.api if projects is not None else harbor_api(config, authenticator)
    if hooks is not None:  # the API's deletes notify the endpoints too
        from dockyard.registry.harbor._delete_events import attach_events

        attach_events(api, hooks.sink)
    console = None
    if projects is not None:  # the web console at /, over the same API and access model
        from dockyard.registry.console import Console, SessionStore

        console = Console(
            projects.api,
            projects.access,
            SessionStore(registry.meta.db),
            scan_reports=scanning.reports if scanning is not None else None,
        )
    elif not config.auth_enabled and authorizer is None:
        # an open registry: the console too, without sign-in, as open as the API it reads
        from dockyard.registry.console import Console

        console = Console(
            api, None, None, scan_reports=scanning.reports if scanning is not None else None
        )
    app = RegistryApp(
        registry,
        authenticator=authenticator,
        authorizer=authorizer,
        observers=observers,
        extra_routes=extra,
        extensions=_extensions(config, scanning.reports if scanning is not None else None),
        on_shutdown=on_shutdown,
        limits=config.limits,
        prefix_routes={f"{HARBOR_PREFIX}/": api},
        console=console,
        handlers=proxy_handlers,
        push_guard=(
            projects.guard
            if projects is not None
            else GuardChain([hooks.guard])
            if hooks is not None
            else None
        ),
    )
    if metrics_registry is not None:
        app.on_route.append(metrics.request_started)  # registry_http_in_flight_requests
    return app, render


def _extensions(
    config: RegistryConfig, scan_reports: ExtensionHandler | None
) -> dict[str, ExtensionHandler] | None:
    """``/v2/<name>/_dockyard/…``: blob torrents (``p2p:``) and scan reports."""
    from dockyard.registry._torrents import TorrentRoute, dockyard_extension

    torrents = None
    if not config.p2p.disabled:
        root = config.storage.rootdirectory / "p2p" / "torrents"
        torrents = TorrentRoute(config.p2p, root, config.http.host)
    handler = dockyard_extension(torrents, scan_reports)
    return {"dockyard": handler} if handler is not None else None


def serve(config: RegistryConfig) -> None:
    """Serve until interrupted (SIGINT/SIGTERM), on uvicorn with uvloop and httptools, in
    ``config.http.workers`` processes."""
    host, port = config.http.host_port
    tls = config.http.tls
    context = None
    if tls is not None:  # built once, here: fails early with a message naming the bad file
        context = server_context(
            tls.certificate,
            tls.key,
            client_cas=tls.clientcas,
            minimum=tls.minimumtls,
            ciphers=tls.ciphersuites,
        )
    if config.http.debug_addr is not None:  # a bad or busy address stops start-up now
        check_debug_addr(config.http.debug_addr)
    elif config.metrics.enabled and not metrics_on_api_port(config):
        log.warning(
            "auth is on: /metrics is served on the debug address only; "
            "set http.debug.addr (REGISTRY_HTTP_DEBUG_ADDR) to scrape it"
        )
    # auth and policies load here too, before any port is bound or worker forked: fail closed
    if config.htpasswd is not None:
        HtpasswdAuthenticator(config.htpasswd.path, config.htpasswd.realm)
    _token_auth(config, None)  # loads the trusted keys, or creates the signing key once
    if config.access is not None:
        _prepare_projects(config)
    if config.sections.get("policies") is not None:
        from dockyard.registry.policy import signature_enforcement

        signature_enforcement(config.sections)
    # the database (its schema revision checked, or the embedded SQLite migrated; WAL mode; the
    # scan tables) once, before any port is bound and before the workers open it together
    # (concurrent CREATE TABLEs in SQLite fail with "database is locked"): a database this
    # version cannot use is one error line, never "listening" first
    registry = Registry.open(config.storage.rootdirectory, database=config.database, cache=False)
    try:
        if config.sections.get("scanning") is not None:
            from dockyard.registry.scanning import ScanRecords

            ScanRecords(registry.meta.db)
    finally:
        registry.close()
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    workers = config.http.workers
    # bound before "listening" is said: a busy port is one error line, never success then one
    bound = bind_listener(host, port, reuse_port=workers > 1)
    if workers > 1:
        bound.close()  # that proved the address free; each worker binds its own (REUSEPORT)
    log.info(
        "dockyard registry %s listening on %s://%s:%d (data in %s%s%s)",
        __version__,
        scheme,
        shown,
        port,
        config.storage.rootdirectory,
        _auth_text(config),
        f", {workers} worker processes" if workers > 1 else "",
    )
    if workers == 1:
        _serve(config, None, context, bound)
        return
    code = run_workers(workers, host, port, lambda worker: _serve(config, worker, context))
    if code:
        raise SystemExit(code)


def _prepare_projects(config: RegistryConfig) -> None:
    """``auth: projects``, once in the first process: the access tables, the token signing
    key, the first ``admin`` (its generated password shown once, on stderr)."""
    from dockyard.registry._projects_mode import prepare_projects_mode

    assert config.access is not None
    registry = Registry.open(config.storage.rootdirectory, database=config.database, cache=False)
    try:
        generated = prepare_projects_mode(
            config.access,
            registry.meta.db,
            config.storage.rootdirectory / "token",
            os.environ.get(ADMIN_PASSWORD_ENV),
        )
    finally:
        registry.close()
    if generated is not None:
        print(
            f"admin password: {generated} (shown once; set {ADMIN_PASSWORD_ENV} to choose it)",
            file=sys.stderr,
            flush=True,
        )


def _auth_text(config: RegistryConfig) -> str:
    """The start-up line's access mode."""
    if config.access is not None:
        ldap = config.access.ldap
        return ", access: projects" + (f" (LDAP users from {ldap.url})" if ldap else "")
    if config.token is not None:
        return f", access: token (external issuer {config.token.issuer})"
    if config.htpasswd is not None and config.htpasswd.token is not None:
        return ", access: htpasswd (tokens from /service/token)"
    return ", access: htpasswd" if config.htpasswd else ", access: open"


def _serve(
    config: RegistryConfig,
    worker: Worker | None,
    context: ssl.SSLContext | None,
    listener: socket.socket | None = None,
) -> None:
    """One server process, on ``listener`` when the caller bound it already. With TLS, uvicorn
    is given no TLS settings: :class:`HTTPSServer` accepts the connections and upgrades them
    with ``context``, the one :func:`server_context` validated."""
    import uvicorn

    host, port = config.http.host_port
    app, render = _build_app(config, access_log=True, worker=worker)
    debug: DebugServer | None = None
    if config.http.debug_addr is not None and (worker is None or worker.index == 0):
        pages = DebugPages(
            app.registry,
            config.storage.rootdirectory,
            metrics_path=config.metrics.path,
            metrics=render,
            worker=(0, 1) if worker is None else (worker.index, worker.count),
            started=time.monotonic(),
        )
        debug = start_debug_server(config.http.debug_addr, pages)
    checks: FsckSchedule | None = None
    interval = config.storage.fsck_interval
    if interval is not None and (worker is None or worker.index == 0):
        quarantine = config.storage.fsck_quarantine
        checks = FsckSchedule(app.registry, interval, quarantine=quarantine).start()
    http = protocol_class(config.limits)  # the framing limits: request line, headers, timeouts
    uv = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
        backlog=4096,
    )
    sockets = None if worker is None else [listen_socket(host, port, reuse_port=True)]
    if listener is not None:
        sockets = [listener]
    server = uvicorn.Server(uv)
    if context is not None:
        sockets = sockets or [listen_socket(host, port, reuse_port=False)]
        server = HTTPSServer(uv, context)
    if worker is not None:
        worker.ready()  # built and bound: from here on a death is a crash, not a start-up error
    try:
        server.run(sockets=sockets)
    finally:
        if checks is not None:
            checks.close()
        if debug is not None:
            debug.close()
        app.registry.close()
