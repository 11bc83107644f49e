"""``/ping``, ``/health`` and ``/systeminfo``: open to everyone, as in Harbor."""

from __future__ import annotations

import logging
import time
from typing import Any

from dockyard import __version__
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._models import harbor_time

__all__ = ["get_health", "get_ping", "get_systeminfo"]

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
