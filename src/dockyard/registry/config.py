"""The registry's configuration, read exactly as registry:2 (distribution) reads its own.

Sources, strongest first: explicit overrides (command-line flags) > ``REGISTRY_*`` environment
variables > the YAML config file > defaults. The file has registry:2's shape::

    version: 0.1
    log: {level: info, formatter: text, accesslog: {disabled: false}}
    http: {addr: 127.0.0.1:5000, tls: {certificate: cert.pem, key: key.pem}}
    storage: {filesystem: {rootdirectory: /var/lib/registry}, delete: {enabled: true}}
    auth: {htpasswd: {realm: Registry Realm, path: /auth/htpasswd}}

and every key can be set from the environment: ``REGISTRY_HTTP_ADDR``,
``REGISTRY_STORAGE_DELETE_ENABLED=true``, ``REGISTRY_AUTH=htpasswd`` … A value of the wrong
type is an :class:`~dockyard.errors.InvalidArgument` naming the key.

Configuration fails closed: in the sections that guard security (``auth``, ``policies``,
``http.tls``, ``scanning``, ``limits``) an unknown key is an InvalidArgument naming it and the
known ones, and a registry:2 key dockyard does not implement (``auth.silly``,
``http.tls.letsencrypt``) is :class:`~dockyard.errors.Unsupported`; a typo must never turn a
protection off. ``notifications`` is held as strictly: a misspelt endpoint key would lose
events without a word. Elsewhere unknown keys give a warning (kept in
:attr:`RegistryConfig.warnings` and logged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import InvalidArgument, NotFound, Unsupported
from dockyard.registry._config_tree import (
    BOOL,
    DRIVERS,
    IGNORED,
    INT,
    OPAQUE,
    STR,
    STRLIST,
    STRMAP,
    UNSUPPORTED,
    ListOf,
    Section,
    Tree,
    apply_env,
    check,
    load_yaml_text,
    set_path,
)
from dockyard.registry._torrents import P2P_SCHEMA, P2PConfig, p2p_from_section
from dockyard.registry._validation import IndexValidation, index_validation_from_section
from dockyard.registry.access._config import AccessConfig
from dockyard.registry.limits import Limits, limits_from_section, parse_duration
from dockyard.registry.metadata import DatabaseSettings
from dockyard.registry.proxy.config import PROXY_SCHEMA, ProxyConfig, proxy_from_section
from dockyard.registry.redis import REDIS_SCHEMA, RedisConfig, redis_from_section
from dockyard.registry.replication._settings import REPLICATION_SCHEMA
from dockyard.registry.scanning._config import ScanningConfig
from dockyard.registry.storage import S3Config, s3_config_from_section

if TYPE_CHECKING:
    from dockyard.registry.access import AccessConfig
    from dockyard.registry.scanning import ScanningConfig

__all__ = [
    "DEFAULT_ADDR",
    "HTTPConfig",
    "HtpasswdConfig",
    "LogConfig",
    "MetricsConfig",
    "RegistryConfig",
    "StorageConfig",
    "TLSConfig",
    "TokenAuthConfig",
    "TokenIssuerConfig",
    "default_rootdirectory",
    "from_env",
    "from_yaml",
    "load",
]

_log = logging.getLogger("dockyard.registry.config")

DEFAULT_ADDR = "127.0.0.1:5000"
#: The most server processes ``http.workers`` may ask for.
MAX_WORKERS = 64
_LOG_LEVELS = {"trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"}

SCHEMA = Section(
    {
        "version": STR,
        "loglevel": IGNORED,
        "log": Section(
            {
                "level": STR,
                "formatter": STR,
                "fields": STRMAP,
                "accesslog": Section({"disabled": BOOL}),
                "hooks": IGNORED,
                "reportcaller": IGNORED,
            }
        ),
        "storage": DRIVERS(
            {
                "filesystem": Section({"rootdirectory": STR, "maxthreads": IGNORED}),
                "delete": Section({"enabled": BOOL}),
                "maintenance": Section(
                    {
                        "readonly": Section({"enabled": BOOL}),
                        "uploadpurging": IGNORED,
                        # dockyard's own: `dockyard registry fsck` on a schedule, in the server
                        "fsck": Section({"enabled": BOOL, "interval": STR, "quarantine": BOOL}),
                        # dockyard's own: the defaults of garbage collection runs (the CLI's
                        # and /api/v2.0/system/gc's); a misspelt knob stops start-up
                        "gc": Section(
                            {"timewindow": STR, "workers": INT, "deleteuntagged": BOOL},
                            strict=True,
                        ),
                    }
                ),
                **{name: OPAQUE for name in ("inmemory", "s3", "azure", "gcs", "swift", "oss")},
                # registry:2's: GETs of blobs answered by a redirect to the store (s3)
                "redirect": Section({"disable": BOOL}),
                **{name: IGNORED for name in ("cache", "tag")},
            }
        ),
        "auth": DRIVERS(
            {
                "htpasswd": Section(
                    {
                        "realm": STR, "path": STR,
                        # dockyard's own: issue tokens to these users at /service/token
                        "token": Section(
                            {
                                "enabled": BOOL, "issuer": STR, "service": STR, "realm": STR,
                                "expiration": STR, "key": STR, "certificate": STR,
                            },
                            flags=True,
                        ),
                    }
                ),
                # registry:2's: trust an external token issuer (jwks as in distribution 3)
                "token": Section(
                    {
                        "realm": STR, "service": STR, "issuer": STR, "rootcertbundle": STR,
                        "jwks": STR, "autoredirect": BOOL,
                    }
                ),
                # dockyard's own: Harbor's access model (dockyard.registry.access.AccessConfig)
                "projects": Section(
                    {
                        "realm": STR, "passwordcost": INT, "tokenexpiration": STR,
                        "lockout": Section(
                            {
                                "delayafter": INT, "refuseafter": INT, "window": STR,
                                "delay": STR, "maxentries": INT,
                            }
                        ),
                        "audit": Section({"retention": STR, "maxrows": INT}),
                        "service": STR, "issuer": STR, "tokenrealm": STR, "key": STR,
                        "certificate": STR,
                        # Harbor's ldap_* options (dockyard.registry.ldap.LdapConfig)
                        "ldap": Section(
                            {
                                "url": STR, "searchdn": STR, "searchpassword": STR,
                                "basedn": STR, "uid": STR, "filter": STR, "scope": STR,
                                "timeout": STR, "verifycert": BOOL, "groupbasedn": STR,
                                "groupfilter": STR, "groupmembershipattribute": STR,
                                "groupadmindn": STR,
                            }
                        ),
                    }
                ),
                "silly": UNSUPPORTED,
            },
            strict=True,
        ),
        "http": Section(
            {
                "addr": STR,
                "net": STR,
                "prefix": STR,
                "host": STR,
                "relativeurls": BOOL,
                "headers": OPAQUE,
                "workers": INT,
                "tls": Section(
                    {
                        "certificate": STR,
                        "key": STR,
                        "clientcas": STRLIST,
                        "minimumtls": STR,
                        "ciphersuites": STRLIST,
                        "letsencrypt": UNSUPPORTED,
                    },
                    strict=True,
                ),
                "debug": Section(
                    {"addr": STR, "prometheus": Section({"enabled": BOOL, "path": STR})}
                ),
                **{name: IGNORED for name in ("secret", "draintimeout", "http2")},
            }
        ),
        # dockyard's own sections
        "metrics": Section({"enabled": BOOL, "path": STR}),
        # dockyard.registry.metadata.DatabaseSettings; strict: a misspelt sslmode must not
        # leave a connection unencrypted
        "database": Section(
            {
                "url": STR, "pool": INT, "sslmode": STR, "sslrootcert": STR, "sslcert": STR,
                "sslkey": STR, "connecttimeout": STR,
            },
            strict=True,
        ),
        # read by dockyard.registry.policy (signature_enforcement), which takes lists as lists
        "policies": Section(
            {
                "signatures": ListOf(
                    Section({"repository": STR, "signature": STR, "keys": ListOf(STR)})
                ),
            },
            strict=True,
        ),
        # read by dockyard.registry.scanning.ScanningConfig; `scanning: on-push` is a flag
        "scanning": Section(
            {
                "on-push": BOOL, "db": STR, "workers": INT, "block-severity": STR,
                "block-unscanned": BOOL, "allow": STRLIST, "lease-seconds": INT,
            },
            strict=True,
            flags=True,
        ),
        # strict in dockyard.registry.limits, which also accepts header-bytes for headerbytes
        "limits": OPAQUE,
        # distribution 3's manifest validation; only index completeness is acted on. Not
        # strict: every setting here relaxes a check, so a misspelt key leaves it checking
        "validation": Section(
            {
                "disabled": IGNORED,
                "enabled": IGNORED,
                "manifests": Section(
                    {
                        "urls": IGNORED,
                        "indexes": Section(
                            {
                                "platforms": STR,
                                "platformlist": ListOf(
                                    Section({"os": STR, "architecture": STR})
                                ),
                            }
                        ),
                    }
                ),
            }
        ),
        # registry:2's pull-through cache, and dockyard's several upstreams (registry.proxy)
        "proxy": PROXY_SCHEMA,
        # registry:2's redis (strict: a password and TLS); shared state of several replicas
        "redis": REDIS_SCHEMA,
        # dockyard's replication queue (read by dockyard.registry.replication)
        "replication": REPLICATION_SCHEMA,
        # dockyard's torrents of blobs for peer-to-peer pulls (strict; docs/p2p.md)
        "p2p": P2P_SCHEMA,
        # registry:2's notifications (read by dockyard.registry.webhooks)
        "notifications": Section(
            {
                "events": Section({"includereferences": BOOL}),
                "endpoints": ListOf(
                    Section(
                        {
                            "name": STR, "disabled": BOOL, "url": STR, "headers": OPAQUE,
                            "timeout": STR, "threshold": INT, "backoff": STR,
                            "ignoredmediatypes": STRLIST,
                            "ignore": Section({"mediatypes": STRLIST, "actions": STRLIST}),
                        }
                    )
                ),
            },
            strict=True,
        ),
        **{
            name: IGNORED
            for name in (
                "middleware", "reporting", "health",
                "compatibility", "policy", "catalog",
            )
        },
    }
)  # fmt: skip


@dataclass(frozen=True)
class TLSConfig:
    certificate: Path
    key: Path
    clientcas: tuple[Path, ...] = ()
    minimumtls: str = "tls1.2"
    #: registry:2's names (``TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`` …); empty: the defaults.
    ciphersuites: tuple[str, ...] = ()


@dataclass(frozen=True)
class HTTPConfig:
    addr: str = DEFAULT_ADDR
    net: str = "tcp"
    #: URL path prefix the API is served under ("" or e.g. "/registry").
    prefix: str = ""
    #: The externally reachable base URL (``https://registry.example.com``), for Location headers.
    host: str | None = None
    relativeurls: bool = False
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tls: TLSConfig | None = None
    #: registry:2's ``http.debug.addr``: where /metrics (and the detailed health) is served
    #: instead of the API port. None: not served apart.
    debug_addr: str | None = None
    #: Server processes sharing the address (dockyard's own key; registry:2 has none).
    workers: int = 1

    @property
    def host_port(self) -> tuple[str, int]:
        """``addr`` split for binding: ``":5000"`` binds every interface, as in registry:2."""
        host, sep, port = self.addr.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise InvalidArgument(
                f"http.addr {self.addr!r} is not HOST:PORT",
                hint="use e.g. 127.0.0.1:5000 or :5000 (every interface)",
            )
        host = host.strip("[]") or "0.0.0.0"
        return host, int(port)


@dataclass(frozen=True)
class StorageConfig:
    rootdirectory: Path
    driver: str = "filesystem"
    delete_enabled: bool = False
    readonly: bool = False
    #: ``storage.maintenance.fsck``: seconds between checks of every blob (None: never), and
    #: whether corrupt blobs are quarantined (else only reported in the log).
    fsck_interval: float | None = None
    fsck_quarantine: bool = False
    #: ``storage.maintenance.gc``: seconds within which pushed or linked content is kept
    #: (``timewindow``, Harbor's time window), deleting threads, and whether untagged
    #: manifests go by default.
    gc_time_window: float = 3600.0
    gc_workers: int = 1
    gc_delete_untagged: bool = False
    #: ``storage.s3``: blobs in an S3 bucket (None: on the filesystem under ``rootdirectory``,
    #: which with s3 holds only the local state: the SQLite database, the cache counters)
    s3: S3Config | None = None
    #: ``storage.redirect``: blob GETs are redirected to the store's presigned URLs where the
    #: driver has them (s3); on unless ``disable: true``, as in registry:2
    redirect: bool = True


@dataclass(frozen=True)
class TokenIssuerConfig:
    """``auth.htpasswd.token``: dockyard issues bearer tokens itself (``/service/token``)."""

    issuer: str = "dockyard"
    service: str = "dockyard-registry"
    #: where clients get tokens; None: ``/service/token`` on the host the client used
    realm: str | None = None
    #: seconds a token is valid
    expiration: int = 300
    #: PEM key and certificate to sign with; None: created under the root directory
    key: Path | None = None
    certificate: Path | None = None


@dataclass(frozen=True)
class HtpasswdConfig:
    realm: str
    path: Path
    #: set when the registry speaks bearer tokens issued by its own token service
    token: TokenIssuerConfig | None = None


@dataclass(frozen=True)
class TokenAuthConfig:
    """registry:2's ``auth.token``: tokens from an external issuer, verified here."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path | None = None
    jwks: Path | None = None
    autoredirect: bool = False


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    #: "text" or "json" (registry:2's "logstash" is read as "json").
    formatter: str = "text"
    fields: Mapping[str, str] = field(default_factory=dict)
    accesslog_disabled: bool = False


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    path: str = "/metrics"


@dataclass(frozen=True)
class RegistryConfig:
    storage: StorageConfig
    http: HTTPConfig = field(default_factory=HTTPConfig)
    htpasswd: HtpasswdConfig | None = None
    #: ``auth.token``: an external token issuer (None: not configured)
    token: TokenAuthConfig | None = None
    #: ``auth.projects``: Harbor's access model (None: not configured)
    access: AccessConfig | None = None
    log: LogConfig = field(default_factory=LogConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    #: Every size, count and time limit (the ``limits:`` section; see dockyard.registry.limits).
    limits: Limits = field(default_factory=Limits)
    #: SQLAlchemy URL of the metadata database (None: SQLite inside the root directory).
    database_url: str | None = None
    #: The whole ``database:`` section (url, pool, TLS), what ``Registry.open`` is given.
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    #: The ``scanning:`` section, validated (None: no scanning).
    scanning: ScanningConfig | None = None
    #: Which children of a pushed index must exist (``validation.manifests.indexes``).
    index_validation: IndexValidation = field(default_factory=IndexValidation)
    #: The ``proxy:`` section: a pull-through cache of one or more upstreams (None: off).
    proxy: ProxyConfig | None = None
    #: The ``redis:`` section: shared cache counters of several replicas (None: off).
    redis: RedisConfig | None = None
    #: The ``p2p:`` section: torrents of blobs for ``dockyard p2p agent`` (docs/p2p.md).
    p2p: P2PConfig = field(default_factory=P2PConfig)
    #: ``policies`` and ``scanning`` as checked against SCHEMA, for the modules that read them.
    sections: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def auth_enabled(self) -> bool:
        return self.htpasswd is not None or self.token is not None or self.access is not None


def default_rootdirectory(environ: Mapping[str, str] | None = None) -> Path:
    """``$DOCKYARD_ROOT/registry``, else ``$XDG_DATA_HOME/dockyard/registry``, else under ~."""
    env = os.environ if environ is None else environ
    if root := env.get("DOCKYARD_ROOT"):
        return Path(root) / "registry"
    if data_home := env.get("XDG_DATA_HOME"):
        return Path(data_home) / "dockyard" / "registry"
    home = env.get("HOME")
    base = Path(home) if home else Path.home()
    return base / ".local" / "share" / "dockyard" / "registry"


def load(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RegistryConfig:
    """Defaults < the YAML file (if any) < ``REGISTRY_*`` in ``environ`` < ``overrides``.

    ``overrides`` maps dotted keys to values, e.g. ``{"http.addr": ":6000"}``; ``None`` values
    are skipped so that unset flags can be passed straight through.
    """
    env = os.environ if environ is None else environ
    tree: Tree = _read_file(Path(config_path)) if config_path is not None else {}
    apply_env(tree, env, SCHEMA)
    for key, value in (overrides or {}).items():
        if value is not None:
            set_path(tree, key.lower().split("."), _as_text(value), SCHEMA)
    return _build(tree, env, from_file=config_path is not None)


def from_env(environ: Mapping[str, str] | None = None) -> RegistryConfig:
    """Defaults plus ``REGISTRY_*`` variables only."""
    return load(None, environ if environ is not None else os.environ)


def from_yaml(path: str | os.PathLike[str]) -> RegistryConfig:
    """Defaults plus the YAML file only (no environment)."""
    return load(path, {})


def _read_file(path: Path) -> Tree:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"config file {path} does not exist", hint="pass an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read config file {path}: {exc}") from exc
    data = load_yaml_text(text, str(path))
    if data is None or data == "":
        data = {}
    if not isinstance(data, dict):
        raise InvalidArgument(f"config file {path}: the top level must be a mapping of sections")
    if "version" not in data:
        raise InvalidArgument(
            f"config file {path} has no version", hint="add `version: 0.1` as registry:2 requires"
        )
    return data


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_as_text(v) for v in value]
    return value


def _build(raw: Tree, environ: Mapping[str, str], *, from_file: bool) -> RegistryConfig:
    warnings: list[str] = []
    tree: Tree = check(raw, SCHEMA, "", warnings)
    for message in warnings:
        _log.warning("%s", message)
    version = tree.get("version")
    if from_file and version != "0.1":
        raise InvalidArgument(f"config version {version!r} is not supported; use version: 0.1")
    # an empty `scanning:` or `policies:` turns nothing on, as before they were checked
    given = {str(k).lower() for k, v in raw.items() if v is not None and v != ""}
    sections: dict[str, Any] = {
        k: tree[k]
        for k in ("policies", "scanning", "notifications", "replication")
        if k in tree and k in given
    }
    access = _access_auth(tree.get("auth", {}))
    storage = _storage(tree.get("storage", {}), environ)
    if access is not None and "enabled" not in tree.get("storage", {}).get("delete", {}):
        # projects mode deletes as Harbor does: the role's ``delete`` permission is the guard,
        # so deleting is on unless storage.delete.enabled says otherwise
        storage = replace(storage, delete_enabled=True)
    return RegistryConfig(
        storage=storage,
        http=_http(tree.get("http", {})),
        htpasswd=_auth(tree.get("auth", {})),
        token=_token_auth(tree.get("auth", {})),
        access=access,
        log=_log_config(tree.get("log", {})),
        metrics=MetricsConfig(**tree.get("metrics", {})),
        limits=limits_from_section(tree.get("limits")),
        database_url=tree.get("database", {}).get("url") or None,
        database=DatabaseSettings.from_section(tree.get("database", {})),
        scanning=_scanning(sections.get("scanning")),
        index_validation=index_validation_from_section(tree.get("validation")),
        proxy=proxy_from_section(tree.get("proxy") if "proxy" in given else None),
        redis=redis_from_section(tree.get("redis") if "redis" in given else None),
        p2p=p2p_from_section(tree.get("p2p") if "p2p" in given else None),
        sections=sections,
        warnings=tuple(warnings),
    )


def _scanning(section: Any) -> ScanningConfig | None:
    if section is None:
        return None

    return ScanningConfig.from_section(section)


def _storage(section: Tree, environ: Mapping[str, str]) -> StorageConfig:
    drivers = [k for k in section if k not in ("delete", "maintenance", "redirect")]
    # dockyard's own: beside s3, a filesystem section holding only rootdirectory (what
    # `--root` sets) names the directory of the local state (SQLite, cache counters, keys)
    if sorted(drivers) == ["filesystem", "s3"] and set(section["filesystem"]) <= {"rootdirectory"}:
        drivers = ["s3"]
    if len(drivers) > 1:
        raise InvalidArgument(
            f"storage names several drivers ({', '.join(sorted(drivers))})",
            hint="configure exactly one storage driver, as registry:2 requires",
        )
    if drivers and drivers[0] not in ("filesystem", "s3"):
        raise Unsupported(
            f"storage driver {drivers[0]!r} is not supported yet",
            hint="use storage.filesystem or storage.s3",
        )
    s3 = s3_config_from_section(section["s3"]) if drivers == ["s3"] else None
    root = section.get("filesystem", {}).get("rootdirectory")
    maintenance = section.get("maintenance", {})
    fsck = maintenance.get("fsck", {})
    interval = None
    if fsck.get("enabled", False):
        interval = parse_duration(fsck.get("interval", "24h"), "storage.maintenance.fsck.interval")
    return StorageConfig(
        rootdirectory=Path(root) if root else default_rootdirectory(environ),
        delete_enabled=section.get("delete", {}).get("enabled", False),
        readonly=maintenance.get("readonly", {}).get("enabled", False),
        fsck_interval=interval,
        fsck_quarantine=fsck.get("quarantine", False),
        **_gc_defaults(maintenance.get("gc", {})),
        driver="s3" if s3 is not None else "filesystem",
        s3=s3,
        redirect=not section.get("redirect", {}).get("disable", False),
    )


def _gc_defaults(section: Tree) -> dict[str, Any]:
    window = 3600.0
    if "timewindow" in section:
        window = parse_duration(section["timewindow"], "storage.maintenance.gc.timewindow")
    workers = section.get("workers", 1)
    if not 1 <= workers <= 10:
        raise InvalidArgument(
            f"storage.maintenance.gc.workers is {workers}; it must be 1 to 10",
            hint="as Harbor's gc workers",
        )
    return {
        "gc_time_window": window,
        "gc_workers": workers,
        "gc_delete_untagged": section.get("deleteuntagged", False),
    }


def _http(section: Tree) -> HTTPConfig:
    tls_section = section.get("tls", {})
    cert, key = tls_section.get("certificate"), tls_section.get("key")
    tls = None
    if cert or key:
        if not (cert and key):
            missing = "http.tls.key" if cert else "http.tls.certificate"
            raise InvalidArgument(
                f"TLS needs both a certificate and a key; {missing} is missing",
                hint="set REGISTRY_HTTP_TLS_CERTIFICATE and REGISTRY_HTTP_TLS_KEY together",
            )
        tls = TLSConfig(
            certificate=Path(cert),
            key=Path(key),
            clientcas=tuple(Path(p) for p in tls_section.get("clientcas", ())),
            minimumtls=tls_section.get("minimumtls", "tls1.2"),
            ciphersuites=tuple(tls_section.get("ciphersuites", ())),
        )
    net = section.get("net", "tcp")
    if net not in ("tcp", "unix"):
        raise InvalidArgument(f"http.net {net!r} is not supported; use tcp or unix")
    workers = section.get("workers", 1)
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidArgument(
            f"http.workers {workers} is out of range: use 1 to {MAX_WORKERS} server processes "
            "(about one per CPU core)"
        )
    config = HTTPConfig(
        addr=section.get("addr") or DEFAULT_ADDR,
        workers=workers,
        net=net,
        prefix=section.get("prefix", "").rstrip("/"),
        host=section.get("host") or None,
        relativeurls=section.get("relativeurls", False),
        headers=_headers(section.get("headers")),
        tls=tls,
        debug_addr=section.get("debug", {}).get("addr") or None,
    )
    if net == "tcp":
        config.host_port  # noqa: B018 - validates addr now, not at bind time
    return config


def _headers(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument("configuration key 'http.headers' must be a mapping of header names")
    out: dict[str, tuple[str, ...]] = {}
    for name, values in value.items():
        items = values if isinstance(values, list) else [values]
        if not all(isinstance(v, str) for v in items):
            raise InvalidArgument(f"http.headers.{name} must be a string or a list of strings")
        out[str(name)] = tuple(items)
    return out


def _auth(section: Tree) -> HtpasswdConfig | None:
    if not section:
        return None
    if len(section) > 1:
        raise InvalidArgument(
            f"auth names several providers ({', '.join(sorted(section))})",
            hint="configure exactly one, as registry:2 requires",
        )
    provider = next(iter(section))
    if provider in ("token", "projects"):
        return None
    if provider != "htpasswd":
        raise Unsupported(
            f"auth provider {provider!r} is not supported", hint="use htpasswd or token"
        )
    params = section["htpasswd"]
    for key, env in (("realm", "REALM"), ("path", "PATH")):
        if not params.get(key):
            raise InvalidArgument(
                f"htpasswd auth needs auth.htpasswd.{key}",
                hint=f"set it in the config file or REGISTRY_AUTH_HTPASSWD_{env}",
            )
    return HtpasswdConfig(
        realm=params["realm"], path=Path(params["path"]), token=_token_issuer(params.get("token"))
    )


def _token_issuer(params: Tree | None) -> TokenIssuerConfig | None:
    if not params or params.get("enabled") is False:
        return None
    key, cert = params.get("key"), params.get("certificate")
    if bool(key) != bool(cert):
        raise InvalidArgument(
            "auth.htpasswd.token needs both key and certificate, or neither",
            hint="set both (PEM files), or neither and dockyard creates its own signing key",
        )
    expiration = parse_duration(params.get("expiration", "5m"), "auth.htpasswd.token.expiration")
    if not 60 <= expiration <= 24 * 3600:
        raise InvalidArgument(
            f"auth.htpasswd.token.expiration {expiration:g}s is out of range",
            hint="use 1m to 24h (default 5m)",
        )
    defaults = TokenIssuerConfig()
    return TokenIssuerConfig(
        issuer=params.get("issuer") or defaults.issuer,
        service=params.get("service") or defaults.service,
        realm=params.get("realm") or None,
        expiration=int(expiration),
        key=Path(key) if key else None,
        certificate=Path(cert) if cert else None,
    )


def _access_auth(section: Tree) -> AccessConfig | None:
    """``auth.projects`` (``REGISTRY_AUTH=projects``): the access model's settings."""
    if len(section) != 1 or "projects" not in section:
        return None

    return AccessConfig.from_section(section["projects"])


def _token_auth(section: Tree) -> TokenAuthConfig | None:
    params = section.get("token") if len(section) == 1 else None
    if params is None:
        return None
    for key in ("realm", "service", "issuer"):
        if not params.get(key):
            raise InvalidArgument(
                f"token auth needs auth.token.{key}",
                hint=f"set it in the config file or REGISTRY_AUTH_TOKEN_{key.upper()}",
            )
    if not params.get("rootcertbundle") and not params.get("jwks"):
        raise InvalidArgument(
            "token auth needs auth.token.rootcertbundle (or auth.token.jwks)",
            hint="point it at the token issuer's certificate bundle (PEM)",
        )
    return TokenAuthConfig(
        realm=params["realm"],
        service=params["service"],
        issuer=params["issuer"],
        rootcertbundle=Path(params["rootcertbundle"]) if params.get("rootcertbundle") else None,
        jwks=Path(params["jwks"]) if params.get("jwks") else None,
        autoredirect=params.get("autoredirect", False),
    )


def _log_config(section: Tree) -> LogConfig:
    level = section.get("level", "info").lower()
    if level not in _LOG_LEVELS:
        raise InvalidArgument(
            f"log.level {level!r} is not a level", hint="use error, warn, info or debug"
        )
    formatter = section.get("formatter", "text").lower()
    if formatter == "logstash":
        formatter = "json"
    if formatter not in ("text", "json"):
        raise InvalidArgument(f"log.formatter {formatter!r} is not supported; use text or json")
    return LogConfig(
        level="warn" if level == "warning" else level,
        formatter=formatter,
        fields=section.get("fields", {}),
        accesslog_disabled=section.get("accesslog", {}).get("disabled", False),
    )
