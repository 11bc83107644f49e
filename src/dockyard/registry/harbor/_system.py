"""``/ping``, ``/health`` and ``/systeminfo``: open to everyone, as in Harbor;
``/systeminfo/volumes`` (the storage disk's total and free bytes) for system administrators,
``/systeminfo/getcert`` 404 as Harbor answers without a CA root (dockyard has none to give)."""

from __future__ import annotations

import logging
import shutil
import time
from typing import Any

from dockyard import __version__
from dockyard.errors import NotFound
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._models import harbor_time

__all__ = ["get_cert", "get_health", "get_ping", "get_systeminfo", "get_volumes"]

log = logging.getLogger("dockyard.registry")


async def get_ping(call: Call) -> Reply:
    return Reply(text="Pong")


async def get_health(call: Call) -> Reply:
    """The API itself, the metadata database and the blob storage, each healthy or not."""
    components: list[dict[str, Any]] = [{"name": "core", "status": "healthy"}]
    checks = (
        ("database", lambda: call.registry.meta.repository_exists("")),
        ("registry", lambda: next(iter(call.registry.storage.list("blobs")), None)),
    )
    for name, check in checks:
        try:
            await call.run(check)
        except Exception as exc:  # any failure means unhealthy; the log has the cause
            log.exception("health check of %s failed", name)
            components.append({"name": name, "status": "unhealthy", "error": type(exc).__name__})
        else:
            components.append({"name": name, "status": "healthy"})
    healthy = all(c["status"] == "healthy" for c in components)
    return Reply(json={"status": "healthy" if healthy else "unhealthy", "components": components})


async def get_systeminfo(call: Call) -> Reply:
    """What any caller may know; authenticated callers also get the deployment details."""
    settings = call.api.settings
    info: dict[str, Any] = {
        "auth_mode": settings.auth_mode,
        "primary_auth_mode": False,
        "self_registration": False,
        "harbor_version": __version__,
        "current_time": harbor_time(time.time()),
    }
    identity = await call.identity()
    if identity.anonymous and not await call.allowed(None, "configuration", "read"):
        return Reply(json=info)
    host = call.request.header("host") or "localhost"
    scheme = "https" if call.request.scope.get("scheme") == "https" else "http"
    info.update(
        registry_url=settings.registry_url or host,
        external_url=settings.external_url or f"{scheme}://{host}",
        project_creation_restriction=settings.project_creation_restriction,
        has_ca_root=False,
        registry_storage_provider_name=settings.storage_provider,
        read_only=settings.read_only,
        notification_enable=False,
    )
    return Reply(json=info)


async def get_volumes(call: Call) -> Reply:
    """Harbor's ``SystemInfo``: the total and free bytes of the local disk the blobs are on
    (404 when they are not on a local disk: S3)."""
    await call.require(None, "configuration", "read")  # system administrators (401, 403)
    root = getattr(call.registry.storage, "root", None)
    if root is None:
        raise NotFound("the registry's storage is not a local disk")
    usage = await call.run(shutil.disk_usage, root)
    return Reply(json={"storage": [{"total": usage.total, "free": usage.free}]})


async def get_cert(call: Call) -> Reply:
    """Harbor's default root certificate: Harbor answers 404 when it has none (``has_ca_root``
    false in ``/systeminfo``), and dockyard never has one to give."""
    raise NotFound(
        "no root CA certificate", hint="the registry's certificate comes from its TLS config"
    )
