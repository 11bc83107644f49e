"""The project's policies page: tag retention (its rules, schedule, dry runs and runs, and
their history), tag immutability rules and webhooks (targets, event types, enabled, the
delivery log). Every call goes through ``/api/v2.0`` as the signed-in user (:data:`Ask`), so
the API decides who may read or change what; :data:`Can` only hides forms they may not use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry.console._calls import segment
from dockyard.registry.console._robots import Ask, Can

__all__ = [
    "DECORATIONS",
    "TEMPLATES",
    "Policies",
    "Retention",
    "RetentionRun",
    "WebhookLog",
    "add_immutable_rule",
    "add_webhook",
    "delete_immutable_rule",
    "delete_retention_rule",
    "delete_webhook",
    "immutable_action",
    "parse_task_log",
    "policies",
    "retention_run",
    "run_retention",
    "save_retention_rule",
    "set_retention_schedule",
    "switch_immutable_rule",
    "switch_webhook",
    "webhook_log",
]

#: the retention templates the form offers: (template, what it keeps, unit of its number)
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("latestPushedK", "the most recently pushed # artifacts", "COUNT"),
    ("latestPulledN", "the most recently pulled # artifacts", "COUNT"),
    ("nDaysSinceLastPush", "pushed within the last # days", "DAYS"),
    ("nDaysSinceLastPull", "pulled within the last # days", "DAYS"),
    ("always", "always", ""),
)
#: selector decorations: (value, label) for tags and for repositories
DECORATIONS = {
    "tag": (("matches", "matching"), ("excludes", "excluding")),
    "repository": (("repoMatches", "matching"), ("repoExcludes", "excluding")),
}
#: bounds of what the pages read
MAX_RETENTION_TASKS = 100
MAX_LOG_ROWS = 500
MAX_DELIVERIES = 20
_MAX_ID = 18


@dataclass(frozen=True, slots=True)
class Retention:
    """The project's retention policy (``policy`` None when it has none yet) and its newest
    executions."""

    policy_id: int | None
    rules: list[dict[str, Any]]
    cron: str
    executions: list[dict[str, Any]]
    manage: bool


@dataclass(frozen=True, slots=True)
class Policies:
    """What the user may see of a project's policies: each part None when they may not."""

    project_id: int
    retention: Retention | None
    immutable: list[dict[str, Any]] | None
    manage_immutable: bool
    webhooks: list[dict[str, Any]] | None
    event_types: list[str]
    manage_webhooks: bool


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """One retention execution: its row, and each task (a repository) with the log's rows
    (digest, tags, kind, labels, pushed, pulled, what happened)."""

    execution: dict[str, Any]
    tasks: list[tuple[dict[str, Any], list[list[str]]]]
    more_tasks: int


@dataclass(frozen=True, slots=True)
class WebhookLog:
    """A webhook policy and its newest executions (events), each with its tasks (one per
    target) and their attempts (one log line each)."""

    policy: dict[str, Any]
    executions: list[tuple[dict[str, Any], list[tuple[dict[str, Any], list[str]]]]]
    total: int


def _id(raw: str, what: str) -> str:
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= _MAX_ID):
        raise NotFound(f"no such {what} {raw[:40]!r}")
    return raw


async def _project(ask: Ask, project: str) -> dict[str, Any]:
    answer = await ask("GET", f"/projects/{segment(project)}")
    found: dict[str, Any] = answer.json
    return found


def _retention_id(project: dict[str, Any]) -> int | None:
    raw = str((project.get("metadata") or {}).get("retention_id") or "")
    return int(raw) if raw.isdigit() else None


async def policies(ask: Ask, can: Can, project: str) -> Policies:
    """The project's policies, each part only when the user may list it."""
    found = await _project(ask, project)
    project_id = int(found["project_id"])
    retention = None
    if await can(project, "tag-retention", "read"):
        policy_id = _retention_id(found)
        rules: list[dict[str, Any]] = []
        cron, executions = "", []
        if policy_id is not None:
            body = (await ask("GET", f"/retentions/{policy_id}")).json or {}
            rules = list(body.get("rules") or [])
            cron = str(((body.get("trigger") or {}).get("settings") or {}).get("cron") or "")
            listed = await ask("GET", f"/retentions/{policy_id}/executions", {"page_size": "10"})
            executions = list(listed.json or [])
        manage = await can(project, "tag-retention", "update")
        retention = Retention(policy_id, rules, cron, executions, manage)
    immutable = None
    if await can(project, "immutable-tag", "list"):
        answer = await ask("GET", f"/projects/{segment(project)}/immutabletagrules",
                           {"page_size": "100"})  # fmt: skip
        immutable = list(answer.json or [])
    webhooks, event_types = None, []
    if await can(project, "notification-policy", "list"):
        base = f"/projects/{segment(project)}/webhook"
        webhooks = list((await ask("GET", base + "/policies", {"page_size": "100"})).json or [])
        event_types = await _event_types(ask, project)
    return Policies(
        project_id=project_id,
        retention=retention,
        immutable=immutable,
        manage_immutable=await can(project, "immutable-tag", "create"),
        webhooks=webhooks,
        event_types=event_types,
        manage_webhooks=await can(project, "notification-policy", "create"),
    )


# --- retention ----------------------------------------------------------------------------


def _selector(kind: str, decoration: str, pattern: str, untagged: bool | None) -> dict[str, Any]:
    allowed = [d for d, _ in DECORATIONS[kind]]
    if decoration not in allowed:
        raise InvalidArgument(f"the {kind} selector must be one of {', '.join(allowed)}")
    pattern = pattern.strip() or "**"
    if len(pattern) > 256:
        raise InvalidArgument(f"the {kind} pattern is longer than 256 characters; shorten it")
    out: dict[str, Any] = {"kind": "doublestar", "decoration": decoration, "pattern": pattern}
    if untagged is not None:
        out["extras"] = '{"untagged":true}' if untagged else '{"untagged":false}'
    return out


def _rule_from_form(form: dict[str, str]) -> dict[str, Any]:
    template = form.get("template", "")
    units = {t: unit for t, _, unit in TEMPLATES}
    if template not in units:
        raise InvalidArgument("choose what the rule retains (a template from the list)")
    params: dict[str, int] = {}
    if units[template]:
        text = form.get("value", "").strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 8):
            raise InvalidArgument(
                f"the rule needs a number of {units[template].lower()} (0 or more), "
                f"not {text[:20]!r}"
            )
        params[template] = int(text)
    tags = _selector("tag", form.get("tag_decoration", "matches"), form.get("tag_pattern", ""),
                     bool(form.get("untagged")))  # fmt: skip
    repos = _selector("repository", form.get("repo_decoration", "repoMatches"),
                      form.get("repo_pattern", ""), None)  # fmt: skip
    return {"template": template, "params": params, "action": "retain",
            "tag_selectors": [tags], "scope_selectors": {"repository": [repos]}}  # fmt: skip


def _policy_body(project_id: int, rules: list[dict[str, Any]], cron: str) -> dict[str, Any]:
    return {
        "algorithm": "or",
        "rules": rules,
        "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
        "scope": {"level": "project", "ref": project_id},
    }


async def _current(ask: Ask, project: str) -> tuple[int, int | None, list[dict[str, Any]], str]:
    found = await _project(ask, project)
    policy_id = _retention_id(found)
    rules: list[dict[str, Any]] = []
    cron = ""
    if policy_id is not None:
        body = (await ask("GET", f"/retentions/{policy_id}")).json or {}
        rules = list(body.get("rules") or [])
        cron = str(((body.get("trigger") or {}).get("settings") or {}).get("cron") or "")
    return int(found["project_id"]), policy_id, rules, cron


async def _store(
    ask: Ask, project_id: int, policy_id: int | None, rules: list[dict[str, Any]], cron: str
) -> int:
    body = _policy_body(project_id, rules, cron)
    if policy_id is None:
        made = await ask("POST", "/retentions", None, body)
        return int(made.location_id())
    await ask("PUT", f"/retentions/{policy_id}", None, body)
    return policy_id


async def save_retention_rule(ask: Ask, project: str, form: dict[str, str]) -> None:
    """Add the form's rule, or replace rule ``index`` with it (the policy made when the
    project has none)."""
    rule = _rule_from_form(form)
    project_id, policy_id, rules, cron = await _current(ask, project)
    index = form.get("index", "").strip()
    if index:
        if not (index.isdigit() and int(index) < len(rules)):
            raise NotFound(f"the policy has no rule {index[:20]!r}: reload the page")
        rules[int(index)] = rule
    else:
        rules.append(rule)
    await _store(ask, project_id, policy_id, rules, cron)


async def delete_retention_rule(ask: Ask, project: str, index: str) -> None:
    project_id, policy_id, rules, cron = await _current(ask, project)
    if policy_id is None or not (index.isdigit() and int(index) < len(rules)):
        raise NotFound(f"the policy has no rule {index[:20]!r}: reload the page")
    del rules[int(index)]
    await _store(ask, project_id, policy_id, rules, cron)


async def set_retention_schedule(ask: Ask, project: str, form: dict[str, str]) -> None:
    """The policy's cron (6 fields; empty: manual runs only); the API checks it."""
    cron = " ".join(form.get("cron", "").split())[:128]
    project_id, policy_id, rules, _ = await _current(ask, project)
    await _store(ask, project_id, policy_id, rules, cron)


async def run_retention(ask: Ask, project: str, *, dry_run: bool) -> str:
    """Start a run (or a dry run) of the project's policy; the execution's id."""
    policy_id = _retention_id(await _project(ask, project))
    if policy_id is None:
        raise InvalidArgument("the project has no retention rules yet: add one first")
    made = await ask("POST", f"/retentions/{policy_id}/executions", None, {"dry_run": dry_run})
    return made.location_id()


def parse_task_log(text: str) -> list[list[str]]:
    """The rows of a retention task's log (a table of ``| a | b |`` lines after a header
    and a rule), then one row per error line; at most :data:`MAX_LOG_ROWS`."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    for line in lines[2:]:
        if len(rows) >= MAX_LOG_ROWS:
            break
        if line.startswith("|") and line.endswith("|"):
            rows.append([cell.strip() for cell in line[1:-1].split("|")])
        elif line.strip():
            rows.append(["", "", "", "", "", "", line.strip()])
    return rows


async def retention_run(ask: Ask, project: str, execution_id: str) -> RetentionRun:
    """One execution of the project's policy with its tasks and their results."""
    _id(execution_id, "retention run")
    policy_id = _retention_id(await _project(ask, project))
    if policy_id is None:
        raise NotFound("the project has no retention policy")
    base = f"/retentions/{policy_id}/executions"
    # the API has no single-execution read: look the history through (it is bounded), and
    # read the execution before its tasks, so that an ended execution shows ended tasks
    execution: dict[str, Any] = {"id": int(execution_id), "status": "", "dry_run": None}
    page = 1
    while page <= 10:
        listed = await ask("GET", base, {"page": str(page), "page_size": "100"})
        match = [e for e in listed.json or () if e.get("id") == int(execution_id)]
        if match:
            execution = match[0]
            break
        if len(listed.json or ()) < 100:
            break
        page += 1
    # its tasks answer 404 for an execution of another policy
    tasks = await ask("GET", f"{base}/{execution_id}/tasks",
                      {"page_size": str(MAX_RETENTION_TASKS)})  # fmt: skip
    out = []
    for task in tasks.json or ():
        log = await ask("GET", f"{base}/{execution_id}/tasks/{int(task['id'])}")
        out.append((task, parse_task_log(log.text or "")))
    total = tasks.total if tasks.total is not None else len(out)
    return RetentionRun(execution, out, max(0, total - len(out)))


# --- immutability --------------------------------------------------------------------------


async def add_immutable_rule(ask: Ask, project: str, form: dict[str, str]) -> None:
    tags = _selector("tag", form.get("tag_decoration", "matches"), form.get("tag_pattern", ""),
                     None)  # fmt: skip
    repos = _selector("repository", form.get("repo_decoration", "repoMatches"),
                      form.get("repo_pattern", ""), None)  # fmt: skip
    body = {"disabled": False, "action": "immutable", "template": "immutable_template",
            "tag_selectors": [tags], "scope_selectors": {"repository": [repos]}}  # fmt: skip
    await ask("POST", f"/projects/{segment(project)}/immutabletagrules", None, body)


async def _immutable_rule(ask: Ask, project: str, rule_id: str) -> dict[str, Any]:
    _id(rule_id, "immutability rule")
    answer = await ask("GET", f"/projects/{segment(project)}/immutabletagrules",
                       {"page_size": "100"})  # fmt: skip
    for rule in answer.json or ():
        if str(rule.get("id")) == rule_id:
            found: dict[str, Any] = rule
            return found
    raise NotFound(f"project {project} has no immutability rule {rule_id}")


async def switch_immutable_rule(ask: Ask, project: str, rule_id: str, *, disable: bool) -> None:
    rule = await _immutable_rule(ask, project, rule_id)
    body = {**rule, "disabled": disable}
    await ask("PUT", f"/projects/{segment(project)}/immutabletagrules/{rule_id}", None, body)


async def delete_immutable_rule(ask: Ask, project: str, rule_id: str) -> None:
    _id(rule_id, "immutability rule")
    await ask("DELETE", f"/projects/{segment(project)}/immutabletagrules/{rule_id}")


async def immutable_action(ask: Ask, project: str, rule_id: str, action: str) -> None:
    """``disable``, ``enable`` or ``delete`` the rule."""
    if action == "delete":
        await delete_immutable_rule(ask, project, rule_id)
    elif action in ("disable", "enable"):
        await switch_immutable_rule(ask, project, rule_id, disable=action == "disable")
    else:
        raise NotFound("no such form")


# --- webhooks ------------------------------------------------------------------------------


async def _event_types(ask: Ask, project: str) -> list[str]:
    events = (await ask("GET", f"/projects/{segment(project)}/webhook/events")).json or {}
    return [str(t) for t in events.get("event_type") or ()]


async def add_webhook(ask: Ask, project: str, form: dict[str, str]) -> None:
    """A webhook policy: the form's name, target address (and auth header) and the event
    types ticked (``event_<type>``)."""
    chosen = [t for t in await _event_types(ask, project) if form.get(f"event_{t}")]
    if not chosen:
        raise InvalidArgument("tick at least one event type the webhook is sent for")
    target: dict[str, Any] = {"type": "http", "address": form.get("address", "").strip()}
    if auth := form.get("auth_header", "").strip():
        target["auth_header"] = auth
    body = {
        "name": form.get("webhook_name", "").strip(),
        "description": form.get("description", "").strip(),
        "targets": [target],
        "event_types": chosen,
        "enabled": True,
    }
    await ask("POST", f"/projects/{segment(project)}/webhook/policies", None, body)


async def switch_webhook(ask: Ask, project: str, policy_id: str, *, disable: bool) -> None:
    _id(policy_id, "webhook")
    path = f"/projects/{segment(project)}/webhook/policies/{policy_id}"
    await ask("GET", path)  # 404 for another project's
    await ask("PUT", path, None, {"enabled": not disable})


async def delete_webhook(ask: Ask, project: str, policy_id: str) -> None:
    _id(policy_id, "webhook")
    await ask("DELETE", f"/projects/{segment(project)}/webhook/policies/{policy_id}")


async def webhook_log(ask: Ask, project: str, policy_id: str) -> WebhookLog:
    """The policy and its newest :data:`MAX_DELIVERIES` executions with their attempts."""
    _id(policy_id, "webhook")
    path = f"/projects/{segment(project)}/webhook/policies/{policy_id}"
    policy = (await ask("GET", path)).json or {}
    listed = await ask("GET", path + "/executions",
                       {"page_size": str(MAX_DELIVERIES)})  # fmt: skip
    out = []
    for execution in listed.json or ():
        eid = int(execution["id"])
        tasks = await ask("GET", f"{path}/executions/{eid}/tasks", {"page_size": "10"})
        rows = []
        for task in tasks.json or ():
            log = await ask("GET", f"{path}/executions/{eid}/tasks/{int(task['id'])}/log")
            rows.append((task, [ln for ln in (log.text or "").splitlines() if ln.strip()][:50]))
        out.append((execution, rows))
    total = listed.total if listed.total is not None else len(out)
    return WebhookLog(policy, out, total)
