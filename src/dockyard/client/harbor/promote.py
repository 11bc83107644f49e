"""Promotion calls (a dockyard extension of Harbor's API): move an environment tag to an
artifact when its gates hold, and the projects' promotion policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from dockyard.client.harbor._client import HarborClient
from dockyard.client.harbor._http import segment
from dockyard.errors import Unavailable

__all__ = [
    "create_promotion_policy",
    "delete_promotion_policy",
    "list_promotion_policies",
    "promote",
    "requirements",
]

_BY_NAME = {"X-Is-Resource-Name": "true"}


def _repository(name: str) -> str:
    """A repository below its project as Harbor wants it in a path: encoded twice."""
    return quote(quote(name, safe=""), safe="")


def requirements(
    *,
    signature_keys: Sequence[str] = (),
    require_signature: bool = False,
    max_severity: str | None = None,
    attestations: Sequence[str] = (),
    attestation_keys: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``require`` JSON: PEM keys, a severity, predicate types."""
    out: dict[str, Any] = {}
    if signature_keys or require_signature:
        out["signature"] = {"keys": list(signature_keys)}
    if max_severity is not None:
        out["scan"] = {"max_severity": max_severity}
    if attestations:
        out["attestation"] = [
            {"predicate_type": kind, "keys": list(attestation_keys)} for kind in attestations
        ]
    return out


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unavailable(f"{what}: the registry did not answer with a JSON object")
    return value


def promote(
    client: HarborClient,
    project: str,
    repository: str,
    reference: str,
    tag: str,
    require: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``POST …/artifacts/{reference}/promote``: the promotion (each gate's evidence)."""
    path = (
        f"/projects/{segment(project)}/repositories/{_repository(repository)}"
        f"/artifacts/{segment(reference)}/promote"
    )
    what = f"promote {project}/{repository}@{reference} to {tag}"
    body = {"tag": tag, "require": dict(require or {})}
    resp = client.api.request("POST", path, what=what, body=body)
    return _object(resp.json(), what)


def list_promotion_policies(client: HarborClient, project: str) -> list[dict[str, Any]]:
    what = f"list the promotion policies of {project}"
    resp = client.api.request(
        "GET", f"/projects/{segment(project)}/promotion_policies", what=what, headers=_BY_NAME
    )
    items = resp.json()
    if not isinstance(items, list):
        raise Unavailable(f"{what}: the registry did not answer with a list")
    return [_object(i, what) for i in items]


def create_promotion_policy(
    client: HarborClient, project: str, tags: Sequence[str], require: Mapping[str, Any]
) -> int | None:
    """The new policy's id."""
    resp = client.api.request(
        "POST",
        f"/projects/{segment(project)}/promotion_policies",
        what=f"create a promotion policy in {project}",
        body={"tags": list(tags), "require": dict(require)},
        headers=_BY_NAME,
        ok=(201,),
    )
    return client.api.location_id(resp)


def delete_promotion_policy(client: HarborClient, project: str, policy_id: int) -> None:
    client.api.request(
        "DELETE",
        f"/projects/{segment(project)}/promotion_policies/{policy_id}",
        what=f"delete promotion policy {policy_id} of {project}",
        headers=_BY_NAME,
    )
