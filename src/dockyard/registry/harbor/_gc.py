"""``/system/gc``: garbage collection's history, one run, its log, stopping it, and the
schedule (``POST``/``PUT`` with ``schedule.type`` ``Manual`` starts a run now, ``None``
removes the schedule). System administrators only (Harbor's ``garbage-collection``
resource)."""

from __future__ import annotations

import json
from typing import Any

from dockyard.registry.gcjobs import GcJobs, GcParameters, GcRun, gc_jobs, next_time
from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, NEVER, harbor_time

__all__ = [
    "create_gc_schedule",
    "get_gc",
    "get_gc_history",
    "get_gc_log",
    "get_gc_schedule",
    "stop_gc",
    "update_gc_schedule",
]

RESOURCE = "garbage-collection"
JOB_NAME = "GARBAGE_COLLECTION"
_TYPES = ("Hourly", "Daily", "Weekly", "Custom", "Manual", "None", "Schedule")


async def _jobs(call: Call) -> GcJobs:
    return await call.run(gc_jobs, call.registry)


async def _require(call: Call, action: str) -> None:
    """A system administrator's call (412 without the access model: no one is one)."""
    access_of(call)
    await call.require(None, RESOURCE, action)


def _history(run: GcRun) -> dict[str, Any]:
    """A run as Harbor shows one (a run has no cron: its next time is the zero time)."""
    kind = run.trigger.title()  # MANUAL → Manual
    return {
        "id": run.id,
        "job_name": JOB_NAME,
        "job_kind": run.trigger,
        "job_parameters": _parameters(run.parameters),
        "schedule": {"type": kind, "cron": "", "next_scheduled_time": NEVER},
        "job_status": run.status,
        "deleted": False,
        "creation_time": harbor_time(run.created_at),
        "update_time": harbor_time(run.updated_at),
    }


def _parameters(parameters: GcParameters) -> str:
    return json.dumps(parameters.harbor(), separators=(",", ":"), sort_keys=True)


async def get_gc_history(call: Call) -> Reply:
    await _require(call, "list")
    page = call.page()
    jobs = await _jobs(call)
    runs, total = await call.run(jobs.history, page.offset, page.size)
    return call.paged([_history(r) for r in runs], total, page)


async def get_gc(call: Call) -> Reply:
    await _require(call, "read")
    jobs = await _jobs(call)
    run = await call.run(jobs.get, int(call.params["gc_id"]))
    return Reply(json=_history(run))


async def stop_gc(call: Call) -> Reply:
    await _require(call, "stop")
    jobs = await _jobs(call)
    await call.run(jobs.stop, int(call.params["gc_id"]))
    return Reply()


async def get_gc_log(call: Call) -> Reply:
    await _require(call, "read")
    jobs = await _jobs(call)
    return Reply(text=await call.run(jobs.log_text, int(call.params["gc_id"])))


async def get_gc_schedule(call: Call) -> Reply:
    """Harbor's answer: the schedule as a GCHistory, or 200 with no body when none is set."""
    await _require(call, "read")
    jobs = await _jobs(call)
    found = await call.run(jobs.schedule)
    if found is None:
        return Reply()
    now = jobs.clock()
    return Reply(
        json={
            "id": 1,
            "job_name": "",
            "job_kind": found.cron,
            "job_parameters": _parameters(found.parameters),
            "schedule": {
                "type": found.type,
                "cron": found.cron,
                "next_scheduled_time": harbor_time(next_time(found.cron, now)),
            },
            "job_status": "",
            "deleted": False,
            "creation_time": harbor_time(found.created_at),
            "update_time": harbor_time(found.updated_at),
        }
    )


async def create_gc_schedule(call: Call) -> Reply:
    await _require(call, "create")
    run_id = await _kick(call)
    headers = []
    if run_id is not None:
        headers.append(("Location", f"{call.request.path.rsplit('/', 1)[0]}/{run_id}"))
    return Reply(201, headers=headers)


async def update_gc_schedule(call: Call) -> Reply:
    await _require(call, "update")
    await _kick(call)
    return Reply()


async def _kick(call: Call) -> int | None:
    """Act on a Schedule body: the id of the run a ``Manual`` one started, else None."""
    body = await call.json_body()
    schedule = body.get("schedule")
    if not isinstance(schedule, dict):
        raise BadRequest("the body needs a schedule object: {type, cron}")
    kind = schedule.get("type")
    if kind not in _TYPES:
        raise BadRequest(
            f"schedule type {kind!r} is not one of {', '.join(_TYPES)}",
        )
    cron = schedule.get("cron")
    if cron is not None and not isinstance(cron, str):
        raise BadRequest("schedule.cron must be a string")
    jobs = await _jobs(call)
    parameters = GcParameters.parse(body.get("parameters"), jobs.defaults)  # 400 when bad
    if kind == "Manual":
        return await call.run(jobs.start, parameters, "MANUAL")
    if kind == "None":
        await call.run(jobs.delete_schedule)
        return None
    await call.run(jobs.set_schedule, str(kind), cron, parameters)  # 400 for a bad cron
    return None


def _t(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


#: Harbor's shapes of ``/system/gc`` (GCHistory, Schedule, ScheduleObj).
DEFINITIONS.update(
    {
        "ScheduleObj": {
            "type": "object",
            "properties": {
                "type": {
                    "type": "string",
                    "description": "The schedule type: 'Manual' runs now, 'None' cancels "
                    "the schedule, the others keep it",
                    "enum": list(_TYPES),
                },
                "cron": {"type": "string", "description": "A cron expression (6 fields)."},
                "next_scheduled_time": _t("The next time to schedule to run the job."),
            },
        },
        "GCHistory": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "description": "the id of gc job."},
                "job_name": {"type": "string", "description": "the job name of gc job."},
                "job_kind": {"type": "string", "description": "the job kind of gc job."},
                "job_parameters": {
                    "type": "string",
                    "description": "the job parameters of gc job.",
                },
                "schedule": {"$ref": "#/definitions/ScheduleObj"},
                "job_status": {"type": "string", "description": "the status of gc job."},
                "deleted": {"type": "boolean", "description": "if gc job was deleted."},
                "creation_time": _t("the creation time of gc job."),
                "update_time": _t("the update time of gc job."),
            },
        },
        "Schedule": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "description": "The id of the schedule."},
                "status": {"type": "string", "description": "The status of the schedule."},
                "creation_time": _t("the creation time of the schedule."),
                "update_time": _t("the update time of the schedule."),
                "schedule": {"$ref": "#/definitions/ScheduleObj"},
                "parameters": {
                    "type": "object",
                    "description": "The parameters of schedule job",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
    }
)
