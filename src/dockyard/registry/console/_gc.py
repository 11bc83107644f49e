"""The administration page of garbage collection: its schedule, running it now (or a dry
run), its history and each run's log. Every call is ``/api/v2.0/system/gc…`` as the
signed-in user, so only system administrators get anything (the API answers 403 to others)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry.console._robots import Ask

__all__ = ["SCHEDULE_TYPES", "GcPage", "GcRunPage", "gc_page", "gc_run", "run_gc", "schedule_of",
           "set_schedule", "stop_gc"]  # fmt: skip

#: the schedule form's choices (Harbor's types; Custom takes a 6-field cron)
SCHEDULE_TYPES = ("None", "Hourly", "Daily", "Weekly", "Custom")
HISTORY = 20
MAX_LOG = 200_000


@dataclass(frozen=True, slots=True)
class GcPage:
    schedule: dict[str, Any] | None
    history: list[dict[str, Any]]
    total: int


@dataclass(frozen=True, slots=True)
class GcRunPage:
    run: dict[str, Any]
    log: str
    truncated: bool


def _id(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise NotFound(f"no such garbage collection run {raw[:40]!r}")
    return raw


async def gc_page(ask: Ask) -> GcPage:
    schedule = (await ask("GET", "/system/gc/schedule")).json
    listed = await ask("GET", "/system/gc", {"page_size": str(HISTORY)})
    history = list(listed.json or [])
    total = listed.total if listed.total is not None else len(history)
    return GcPage(schedule if isinstance(schedule, dict) else None, history, total)


def _parameters(form: dict[str, str], *, dry_run: bool) -> dict[str, Any]:
    return {"delete_untagged": bool(form.get("delete_untagged")), "dry_run": dry_run}


async def run_gc(ask: Ask, form: dict[str, str]) -> str:
    """Start a run now (``dry_run`` ticked: nothing deleted); the run's id."""
    body = {
        "schedule": {"type": "Manual"},
        "parameters": _parameters(form, dry_run=bool(form.get("dry_run"))),
    }
    made = await ask("POST", "/system/gc/schedule", None, body)
    return made.location_id()


def schedule_of(form: dict[str, str]) -> dict[str, str]:
    """Harbor's ``Schedule`` object from a schedule form: a type of :data:`SCHEDULE_TYPES`
    (None removes it) and, for Custom, its cron (the API says what is wrong with a bad one)."""
    kind = form.get("type", "")
    if kind not in SCHEDULE_TYPES:
        raise InvalidArgument(f"the schedule must be one of {', '.join(SCHEDULE_TYPES)}")
    cron = " ".join(form.get("cron", "").split())[:128]
    if kind == "Custom" and not cron:
        raise InvalidArgument(
            "a Custom schedule needs a cron of 6 fields, e.g. 0 0 3 * * * (03:00 every day)"
        )
    return {"type": kind, **({"cron": cron} if kind == "Custom" else {})}


async def set_schedule(ask: Ask, form: dict[str, str]) -> None:
    """The schedule: a type of :data:`SCHEDULE_TYPES` (None removes it), a cron for Custom."""
    body: dict[str, Any] = {
        "schedule": schedule_of(form),
        "parameters": _parameters(form, dry_run=False),
    }
    await ask("PUT", "/system/gc/schedule", None, body)


async def gc_run(ask: Ask, run_id: str) -> GcRunPage:
    _id(run_id)
    run = (await ask("GET", f"/system/gc/{run_id}")).json or {}
    log = (await ask("GET", f"/system/gc/{run_id}/log")).text or ""
    return GcRunPage(run, log[-MAX_LOG:], len(log) > MAX_LOG)


async def stop_gc(ask: Ask, run_id: str) -> None:
    await ask("PUT", f"/system/gc/{_id(run_id)}")
