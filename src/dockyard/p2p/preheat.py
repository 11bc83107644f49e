"""Preheating: ask agents to fetch and seed an image before a deploy (Harbor's preheat to
Dragonfly, here to ``dockyard p2p agent``'s ``POST /_dockyard/preheat``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3

from dockyard.errors import InvalidArgument, Unavailable

__all__ = ["AgentOutcome", "check", "preheat"]


@dataclass(frozen=True, slots=True)
class AgentOutcome:
    agent: str
    ok: bool
    #: blobs the agent now holds and seeds (digest, size), or the error
    blobs: tuple[tuple[str, int], ...] = ()
    error: str = ""


def preheat(
    image: str, agents: Sequence[str], *, timeout: float = 3600.0, token: str | None = None
) -> list[AgentOutcome]:
    """Every agent fetches ``image`` (``team/app:v1`` of its registry) at the same time;
    one outcome per agent, in the order given. ``token``: the agents' preheat token, sent as
    ``Authorization: Bearer``."""
    if not agents:
        raise InvalidArgument("name at least one agent", hint="--agent http://node1:5050")
    pool = urllib3.PoolManager(num_pools=len(agents))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def one(agent: str) -> AgentOutcome:
        url = agent.rstrip("/") + "/_dockyard/preheat"
        try:
            resp = pool.request(
                "POST",
                url,
                body=json.dumps({"image": image}).encode(),
                headers=headers,
                timeout=urllib3.Timeout(connect=10, read=timeout),
                retries=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return AgentOutcome(agent, False, error=f"cannot reach the agent: {exc}")
        try:
            doc = json.loads(resp.data)
        except ValueError:
            doc = {}
        if resp.status != 200:
            errors = doc.get("errors") or [{"message": f"HTTP {resp.status}"}]
            return AgentOutcome(agent, False, error=str(errors[0].get("message")))
        blobs = tuple((str(b["digest"]), int(b["size"])) for b in doc.get("blobs", []))
        return AgentOutcome(agent, True, blobs)

    with ThreadPoolExecutor(max_workers=min(32, len(agents))) as workers:
        return list(workers.map(one, agents))


def check(outcomes: Sequence[AgentOutcome]) -> None:
    """Raise Unavailable naming the agents that failed."""
    failed = [o for o in outcomes if not o.ok]
    if failed:
        names = "; ".join(f"{o.agent}: {o.error}" for o in failed)
        raise Unavailable(f"{len(failed)} of {len(outcomes)} agents did not preheat: {names}")
