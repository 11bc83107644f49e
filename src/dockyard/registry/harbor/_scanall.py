"""``/system/scanAll/schedule``, ``/system/scanAll/stop`` and ``/scans/all/metrics``: Harbor's
scan-all — its schedule (``POST``/``PUT`` with ``schedule.type`` ``Manual`` scans every image
now, ``None`` removes the schedule, ``Hourly``/``Daily``/``Weekly``/``Custom`` set it),
stopping the latest run (202; its unfinished scans turn Stopped; 400 when there never was a
run) and the metrics of the latest run. System administrators only (Harbor's ``scan-all`` resource); 412 when the
registry has no ``scanning:`` section."""

from __future__ import annotations

from typing import Any

from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.scanning import ScanAll, scan_all_of

__all__ = [
    "create_scan_all_schedule",
    "get_scan_all_metrics",
    "get_scan_all_schedule",
    "stop_scan_all",
    "update_scan_all_schedule",
]

RESOURCE = "scan-all"
_TYPES = ("Hourly", "Daily", "Weekly", "Custom", "Manual", "None")


async def _scan_all(call: Call, action: str) -> ScanAll:
    """A system administrator's call, on a registry that scans."""
    access_of(call)
    await call.require(None, RESOURCE, action)
    found = scan_all_of(call.registry)
    if found is None:
        raise PreconditionFailed(
            "this registry does not scan images",
            hint="add a scanning: section to the registry's config",
        )
    return found


async def get_scan_all_schedule(call: Call) -> Reply:
    """The schedule (type None when none is set)."""
    scan_all = await _scan_all(call, "read")
    found = await call.run(scan_all.schedule)
    if found is None:
        return Reply(json={"schedule": {"type": "None", "cron": ""}})
    return Reply(
        json={
            "schedule": {
                "type": found.type,
                "cron": found.cron,
                "next_scheduled_time": harbor_time(scan_all.next_time(found.cron)),
            },
            "creation_time": harbor_time(found.created_at),
            "update_time": harbor_time(found.updated_at),
        }
    )


async def create_scan_all_schedule(call: Call) -> Reply:
    scan_all = await _scan_all(call, "create")
    await _act(call, scan_all)
    return Reply(201)


async def update_scan_all_schedule(call: Call) -> Reply:
    scan_all = await _scan_all(call, "update")
    await _act(call, scan_all)
    return Reply()


async def _act(call: Call, scan_all: ScanAll) -> None:
    """Act on a Schedule body: Manual scans every image now (409 while a run goes on)."""
    body = await call.json_body()
    schedule = body.get("schedule")
    if not isinstance(schedule, dict):
        raise BadRequest("the body needs a schedule object: {type, cron}")
    kind = schedule.get("type")
    if kind not in _TYPES:
        raise BadRequest(f"schedule type {kind!r} is not one of {', '.join(_TYPES)}")
    cron = schedule.get("cron")
    if cron is not None and not isinstance(cron, str):
        raise BadRequest("schedule.cron must be a string")
    if kind == "Manual":
        await call.run(scan_all.start, "Manual")
    elif kind == "None":
        await call.run(scan_all.delete_schedule)
    else:
        await call.run(scan_all.set_schedule, str(kind), cron)  # 400 for a bad cron


async def stop_scan_all(call: Call) -> Reply:
    """Stop the latest run (400 when there never was one; 202 for one that had ended)."""
    scan_all = await _scan_all(call, "stop")
    await call.run(scan_all.stop)
    return Reply(202)


async def get_scan_all_metrics(call: Call) -> Reply:
    scan_all = await _scan_all(call, "read")
    return Reply(json=await call.run(scan_all.metrics))


def _integer(description: str) -> dict[str, Any]:
    return {"type": "integer", "format": "int", "description": description}


#: Harbor's shape of ``/scans/all/metrics`` (Schedule is garbage collection's).
DEFINITIONS.update(
    {
        "Stats": {
            "type": "object",
            "description": "Stats provides the overall progress of the scan all process.",
            "properties": {
                "total": _integer(
                    "The total number of scan processes triggered by the scan all action"
                ),
                "completed": _integer(
                    "The number of the finished scan processes triggered by the scan all action"
                ),
                "metrics": {
                    "type": "object",
                    "description": "The metrics data for the each status",
                    "additionalProperties": {"type": "integer", "format": "int"},
                },
                "ongoing": {
                    "type": "boolean",
                    "description": "A flag indicating job status of scan all.",
                },
                "trigger": {
                    "type": "string",
                    "description": "The trigger of the scan all job.",
                    "enum": ["Manual", "Schedule", "Event"],
                },
            },
        },
    }
)
