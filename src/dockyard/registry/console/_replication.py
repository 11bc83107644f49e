"""The replication administration page's calls: endpoint registries, replication policies,
executions and their tasks. Every call is ``/api/v2.0/registries…`` or
``/api/v2.0/replication/…`` as the signed-in user, so only system administrators get
anything (the API answers 403 to everyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.registry.console._robots import Ask

__all__ = [
    "DIRECTIONS",
    "HISTORY",
    "LOGGED_TASKS",
    "TRIGGERS",
    "Connection",
    "ExecutionPage",
    "ReplicationPage",
    "add_registry",
    "create_policy",
    "delete_policy",
    "delete_registry",
    "execution_page",
    "ping_registry",
    "replicate_now",
    "replication_page",
    "stop_execution",
    "switch_policy",
]

TRIGGERS = ("manual", "event_based", "scheduled")
DIRECTIONS = ("push", "pull")
#: the newest executions the page lists
HISTORY = 20
#: the most registries and policies the page lists (Harbor's largest page)
LISTED = 100
#: the most tasks an execution's page lists, and of those whose log it shows
TASKS = 100
LOGGED_TASKS = 20
MAX_LOG = 50_000


@dataclass(frozen=True, slots=True)
class Connection:
    """What testing an endpoint's connection answered."""

    registry: str
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class ReplicationPage:
    registries: list[dict[str, Any]]
    policies: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    executions_total: int
    connection: Connection | None = None


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    execution: dict[str, Any]
    policy_name: str
    tasks: list[dict[str, Any]]
    tasks_total: int
    #: task id → its log (the last :data:`MAX_LOG` characters), for the first tasks
    logs: dict[int, str]


def _id(raw: str, what: str) -> str:
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise NotFound(f"no such {what} {raw[:40]!r}")
    return raw


async def replication_page(ask: Ask, connection: Connection | None = None) -> ReplicationPage:
    registries = (await ask("GET", "/registries", {"page_size": str(LISTED)})).json or []
    policies = (await ask("GET", "/replication/policies", {"page_size": str(LISTED)})).json or []
    listed = await ask("GET", "/replication/executions", {"page_size": str(HISTORY)})
    executions = list(listed.json or [])
    total = listed.total if listed.total is not None else len(executions)
    return ReplicationPage(list(registries), list(policies), executions, total, connection)


def _field(form: dict[str, str], key: str, limit: int = 1024) -> str:
    value = form.get(key, "").strip()
    if len(value) > limit:
        raise InvalidArgument(f"{key} is longer than {limit} characters")
    return value


async def add_registry(ask: Ask, form: dict[str, str]) -> Connection:
    """Add an endpoint, then test its connection (the endpoint stays either way)."""
    name = _field(form, "name", 255)
    key, secret = _field(form, "access_key", 255), form.get("access_secret", "")
    body: dict[str, Any] = {
        "name": name,
        "type": form.get("type") or "docker-registry",
        "url": _field(form, "url", 2048),
        "description": _field(form, "description"),
        "insecure": bool(form.get("insecure")),
        "credential": {"type": "basic", "access_key": key, "access_secret": secret}
        if key or secret
        else {"type": "", "access_key": "", "access_secret": ""},
    }
    made = await ask("POST", "/registries", None, body)
    return await ping_registry(ask, made.location_id(), name=name)


async def ping_registry(ask: Ask, registry_id: str, *, name: str | None = None) -> Connection:
    """Whether the endpoint answers ``/v2/`` with its credential (the API's ping)."""
    _id(registry_id, "registry")
    if name is None:
        name = str((await ask("GET", f"/registries/{registry_id}")).json.get("name", ""))
    try:
        await ask("POST", "/registries/ping", None, {"id": int(registry_id)})
    except DockyardError as exc:
        if not isinstance(exc, InvalidArgument):  # denied, not found: the page's error
            raise
        return Connection(name, False, exc.message)
    return Connection(name, True, "the registry answered with the credential")


async def delete_registry(ask: Ask, registry_id: str) -> None:
    await ask("DELETE", f"/registries/{_id(registry_id, 'registry')}")


def _filters(form: dict[str, str]) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if name := _field(form, "name_filter"):
        filters.append({"type": "name", "value": name})
    if tag := _field(form, "tag_filter"):
        filters.append({"type": "tag", "value": tag,
                        "decoration": _decoration(form, "tag_decoration")})  # fmt: skip
    labels = [part.strip() for part in _field(form, "label_filter").split(",") if part.strip()]
    if labels:
        filters.append({"type": "label", "value": labels,
                        "decoration": _decoration(form, "label_decoration")})  # fmt: skip
    if form.get("resource") == "image":
        filters.append({"type": "resource", "value": "image"})
    return filters


def _decoration(form: dict[str, str], key: str) -> str:
    value = form.get(key) or "matches"
    if value not in ("matches", "excludes"):
        raise InvalidArgument(f"{key} must be matches or excludes")
    return value


def _number(form: dict[str, str], key: str, default: int) -> int:
    raw = form.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{key} must be a whole number, not {raw[:40]!r}") from None


async def create_policy(ask: Ask, form: dict[str, str]) -> None:
    direction = form.get("direction") or "push"
    if direction not in DIRECTIONS:
        raise InvalidArgument("the direction must be push (to the registry) or pull (from it)")
    trigger = form.get("trigger") or "manual"
    if trigger not in TRIGGERS:
        raise InvalidArgument(f"the trigger must be one of {', '.join(TRIGGERS)}")
    raw = form.get("registry", "")
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise InvalidArgument("choose the endpoint registry (add one first)")
    endpoint = {"id": int(raw)}
    settings = {"cron": " ".join(form.get("cron", "").split())[:128]}
    body: dict[str, Any] = {
        "name": _field(form, "name", 255),
        "description": _field(form, "description"),
        ("dest_registry" if direction == "push" else "src_registry"): endpoint,
        "dest_namespace": _field(form, "dest_namespace", 255),
        "dest_namespace_replace_count": _number(form, "dest_namespace_replace_count", -1),
        "filters": _filters(form),
        "trigger": {
            "type": trigger,
            "trigger_settings": settings if trigger == "scheduled" else {},
        },
        "replicate_deletion": bool(form.get("replicate_deletion")),
        "override": bool(form.get("override")),
        "enabled": bool(form.get("enabled")),
        "speed": _number(form, "speed", -1),
    }
    await ask("POST", "/replication/policies", None, body)


async def switch_policy(ask: Ask, policy_id: str, *, enabled: bool) -> None:
    """Enable or disable a policy (an update with everything else as it was)."""
    await ask("PUT", f"/replication/policies/{_id(policy_id, 'policy')}", None,
              {"enabled": enabled})  # fmt: skip


async def delete_policy(ask: Ask, policy_id: str) -> None:
    await ask("DELETE", f"/replication/policies/{_id(policy_id, 'policy')}")


async def replicate_now(ask: Ask, policy_id: str) -> str:
    """Start a manual execution of the policy; its id."""
    body = {"policy_id": int(_id(policy_id, "policy"))}
    return (await ask("POST", "/replication/executions", None, body)).location_id()


async def stop_execution(ask: Ask, execution_id: str) -> None:
    await ask("PUT", f"/replication/executions/{_id(execution_id, 'execution')}")


async def execution_page(ask: Ask, execution_id: str) -> ExecutionPage:
    base = f"/replication/executions/{_id(execution_id, 'execution')}"
    execution = (await ask("GET", base)).json or {}
    name = ""
    try:
        policy = await ask("GET", f"/replication/policies/{int(execution.get('policy_id', 0))}")
        name = str((policy.json or {}).get("name", ""))
    except NotFound:
        pass  # deleted since
    except InvalidArgument:
        pass  # policy id 0
    listed = await ask("GET", base + "/tasks", {"page_size": str(TASKS)})
    tasks = list(listed.json or [])
    logs: dict[int, str] = {}
    for task in tasks[:LOGGED_TASKS]:
        text = (await ask("GET", f"{base}/tasks/{int(task['id'])}/log")).text or ""
        logs[int(task["id"])] = text[-MAX_LOG:]
    total = listed.total if listed.total is not None else len(tasks)
    return ExecutionPage(execution, name, tasks, total, logs)
