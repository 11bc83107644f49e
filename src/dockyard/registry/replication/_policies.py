"""Replication policies: what goes where, when, and how (Harbor's ``ReplicationPolicy``).

A policy is push-based (``dest_registry``: artifacts of this registry go to an endpoint
registry) or pull-based (``src_registry``: an endpoint's artifacts come here). Its
filters select repositories by name and artifacts by tag (doublestar patterns, ``matches``
or ``excludes``; an untagged artifact is matched as the empty tag, as Harbor does), by label
(every label named present, or not) and by resource type (``image`` or ``artifact``); its
trigger is ``manual``, ``event_based`` (every push that matches is
copied) or ``scheduled`` (Harbor's 6-field cron, seconds first: a manual run at each firing); ``dest_namespace`` with ``dest_namespace_replace_count`` rewrites the repository's
path as Harbor does; ``override`` false leaves a destination tag that exists alone; ``speed``
limits each copy to that many KB/s; ``replicate_deletion`` (event-based push policies)
deletes at the destination what is deleted here. A pull-based policy keeps the flag, as
Harbor's does, and it does nothing there, as in Harbor: only this registry's own deletions
are seen, and Harbor replicates them for policies whose source is this registry.
"""

from __future__ import annotations

import json
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.registry.immutability import BadPattern, compile_pattern
from dockyard.registry.jobs import next_fire, valid_cron
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import page_rows
from dockyard.registry.replication._schema import metadata, policies, registries, tasks

__all__ = [
    "EVENT_BASED",
    "MANUAL",
    "SCHEDULED",
    "ArtifactFacts",
    "Filter",
    "Policy",
    "PolicyNotFound",
    "PolicyStore",
    "accessory_tag",
    "artifact_facts",
    "next_fire",
    "policy_from_json",
    "replace_namespace",
    "valid_cron",
]

MANUAL = "manual"
EVENT_BASED = "event_based"
SCHEDULED = "scheduled"
TRIGGERS = (MANUAL, EVENT_BASED, SCHEDULED)
FILTER_TYPES = ("name", "tag", "label", "resource")
#: Harbor's resource types: ``image`` (a container image or an index of them) is a subset of
#: ``artifact`` (anything a registry stores)
RESOURCE_TYPES = ("image", "artifact")
#: config media types of a container image
_IMAGE_CONFIGS = (
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
)
#: media types of an index (a multi-platform image)
_INDEXES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
#: cosign's tags of a subject's signature, attestation and SBOM
_ACCESSORY = re.compile(r"sha256-[0-9a-f]{64}\.(sig|att|sbom)")


def accessory_tag(tag: str) -> bool:
    """Is ``tag`` one of cosign's ``sha256-<hex>.sig|.att|.sbom`` tags?"""
    return _ACCESSORY.fullmatch(tag) is not None


class PolicyNotFound(NotFound):
    """No replication policy with that id."""


@dataclass(frozen=True, slots=True)
class ArtifactFacts:
    """What the label and resource filters look at: the artifact's labels (each label of its
    image config and each annotation of its manifest, as ``key`` and as ``key=value``) and
    whether it is a container image (or an index of them)."""

    labels: frozenset[str] = frozenset()
    image: bool = True


def artifact_facts(manifest: bytes, config: Callable[[str], bytes | None]) -> ArtifactFacts:
    """The facts of a manifest's bytes; ``config(digest)`` reads its config blob (None: not
    there). A body that is no JSON object has no labels and is no image."""
    try:
        doc = json.loads(manifest)
    except ValueError:
        return ArtifactFacts(image=False)
    if not isinstance(doc, dict):
        return ArtifactFacts(image=False)
    pairs: dict[str, str] = {}
    desc = doc.get("config")
    config_type = str(desc.get("mediaType") or "") if isinstance(desc, dict) else ""
    image = config_type in _IMAGE_CONFIGS or (
        "manifests" in doc and str(doc.get("mediaType") or _INDEXES[0]) in _INDEXES
    )
    if isinstance(desc, dict) and config_type in _IMAGE_CONFIGS and desc.get("digest"):
        raw = config(str(desc["digest"]))
        try:
            found = json.loads(raw).get("config", {}).get("Labels") if raw else None
        except (ValueError, AttributeError):
            found = None
        if isinstance(found, dict):
            pairs.update({str(k): str(v) for k, v in found.items()})
    annotations = doc.get("annotations")
    if isinstance(annotations, dict):
        pairs.update({str(k): str(v) for k, v in annotations.items()})
    labels = {k for k in pairs} | {f"{k}={v}" for k, v in pairs.items()}
    return ArtifactFacts(frozenset(labels), image)


@dataclass(frozen=True, slots=True)
class Filter:
    """``type`` name (the repository's full name), tag, label (``value``: the labels, all
    of which an artifact must carry) or resource (``value``: image or artifact)."""

    type: str
    value: str | tuple[str, ...]
    decoration: str = "matches"

    def json(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"type": self.type, "value": value, "decoration": self.decoration}

    def selects(self, text: str) -> bool:
        """A name or tag filter's verdict on ``text`` (an untagged artifact's tag is "")."""
        assert isinstance(self.value, str)
        matched = compile_pattern(self.value).fullmatch(text) is not None
        return matched if self.decoration == "matches" else not matched

    def selects_facts(self, facts: ArtifactFacts) -> bool:
        """A label or resource filter's verdict (Harbor's: a label filter matches an artifact
        carrying every label it names; ``excludes`` keeps the others)."""
        if self.type == "resource":
            return self.value != "image" or facts.image
        wanted = self.value if isinstance(self.value, tuple) else (self.value,)
        matched = all(label in facts.labels for label in wanted)
        return matched if self.decoration == "matches" else not matched


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    name: str
    dest_registry_id: int
    trigger: str = MANUAL
    description: str = ""
    dest_namespace: str = ""
    dest_namespace_replace_count: int = -1
    filters: tuple[Filter, ...] = ()
    override: bool = True
    enabled: bool = True
    speed: int = -1
    #: Harbor's 6-field cron (seconds first) of a scheduled policy
    cron: str = ""
    creator: str = ""
    creation_time: float = 0.0
    update_time: float = 0.0
    #: the endpoint artifacts come from (pull-based); 0: this registry (push-based)
    src_registry_id: int = 0
    #: deletions here are deleted at the destination (event-based push policies; kept but
    #: without effect on a pull-based one, as in Harbor)
    replicate_deletion: bool = False

    @property
    def pull(self) -> bool:
        return self.src_registry_id != 0

    @property
    def endpoint_id(self) -> int:
        """The endpoint registry on the other side."""
        return self.src_registry_id or self.dest_registry_id

    def selects_repository(self, repository: str) -> bool:
        return all(f.selects(repository) for f in self.filters if f.type == "name")

    def selects_tag(self, tag: str) -> bool:
        """A tag the tag filters let through (cosign's accessory tags travel with their
        subjects: the filters do not apply to them)."""
        if accessory_tag(tag):
            return True
        return all(f.selects(tag) for f in self.filters if f.type == "tag")

    @property
    def selects_untagged(self) -> bool:
        """Whether untagged artifacts are selected: Harbor matches the tag filters' patterns
        against the empty string (no tag filter, ``**`` or an ``excludes`` of ``v*``: yes;
        ``v*``: no)."""
        return all(f.selects("") for f in self.filters if f.type == "tag")

    @property
    def has_tag_filter(self) -> bool:
        return any(f.type == "tag" for f in self.filters)

    @property
    def reads_content(self) -> bool:
        """Whether a label or resource filter needs the artifact's content to decide."""
        return any(f.type in ("label", "resource") for f in self.filters)

    def selects_facts(self, facts: ArtifactFacts) -> bool:
        """What the label and resource filters say of an artifact."""
        return all(f.selects_facts(facts) for f in self.filters
                   if f.type in ("label", "resource"))  # fmt: skip

    def destination(self, repository: str) -> str:
        return replace_namespace(repository, self.dest_namespace, self.dest_namespace_replace_count)


def replace_namespace(repository: str, namespace: str, count: int) -> str:
    """Harbor's rewriting of a source repository's path at the destination: ``count`` -1
    puts the last component under ``namespace``; ``count`` n replaces the first n
    components with ``namespace``; an empty namespace keeps the path."""
    if not namespace:
        return repository
    parts = repository.split("/")
    if count < 0:
        prefix = namespace
    elif count > len(parts) - 1:
        raise InvalidArgument(
            f"the source repository {repository!r} has only {len(parts) - 1} path components "
            f"before its name, but dest_namespace_replace_count is {count}"
        )
    else:
        prefix = posixpath.join(namespace, *parts[count:-1])
    return posixpath.join(prefix, parts[-1])


def _text(body: dict[str, Any], key: str, default: str = "", *, limit: int = 255) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(f"{key} must be a string")
    if len(value) > limit:
        raise InvalidArgument(f"{key} is longer than {limit} characters")
    return value


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise InvalidArgument(f"{key} must be an integer")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArgument(f"{key} must be true or false")
    return value


def _registry_id(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{key} must be an object with the registry's id")
    return _int(value, "id", 0)


def _filters(raw: object) -> tuple[Filter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgument("filters must be a list")
    out = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidArgument(f"filters[{n}] must be an object")
        kind = _text(item, "type")
        if kind not in FILTER_TYPES:
            raise InvalidArgument(
                f"filters[{n}].type {kind[:40]!r} is not one of {', '.join(FILTER_TYPES)}"
            )
        decoration = _text(item, "decoration", "matches") or "matches"
        if decoration not in ("matches", "excludes"):
            raise InvalidArgument(f"filters[{n}].decoration must be matches or excludes")
        if kind == "label":
            labels = _labels(item.get("value"), n)
            if labels:  # Harbor: an empty label filter selects everything
                out.append(Filter(kind, labels, decoration))
            continue
        value = _text(item, "value", limit=1024)
        if kind == "resource":
            if value not in (*RESOURCE_TYPES, ""):
                raise InvalidArgument(f"filters[{n}]: resource must be image or artifact")
            if value == "image":  # artifact (or none): everything
                out.append(Filter(kind, value, "matches"))
            continue
        if not value:
            continue  # Harbor's console sends empty filters: no filter
        try:
            compile_pattern(value)
        except BadPattern as exc:
            raise InvalidArgument(f"filters[{n}].value: {exc.message}") from None
        out.append(Filter(kind, value, decoration))
    return tuple(out)


def _labels(raw: object, n: int) -> tuple[str, ...]:
    """A label filter's value: Harbor's list of label names (a comma list is taken too)."""
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidArgument(f"filters[{n}].value of a label filter must be a list of labels")
    labels = tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
    if len(labels) > 64 or any(len(label) > 1024 for label in labels):
        raise InvalidArgument(f"filters[{n}]: at most 64 labels of 1024 characters each")
    return labels


def policy_from_json(
    body: dict[str, Any], *, creator: str = "", base: Policy | None = None
) -> Policy:
    """A policy from Harbor's ``ReplicationPolicy`` body (``base``: the stored one an
    update starts from; fields left out keep its values)."""
    b = base or Policy(0, "", 0)
    source = _registry_id(body, "src_registry")
    source = b.src_registry_id if source is None else source
    dest = _registry_id(body, "dest_registry")
    dest = b.dest_registry_id if dest is None else dest
    if source and dest:
        raise InvalidArgument(
            "src_registry and dest_registry are both endpoint registries; one side must be "
            "this registry (id 0, or left out)"
        )
    if not source and not dest:
        raise InvalidArgument(
            "name the endpoint registry by id: dest_registry to push to it, src_registry to "
            "pull from it"
        )
    trigger = body.get("trigger")
    kind: str = b.trigger
    settings: object = {}
    if trigger is not None:
        if not isinstance(trigger, dict):
            raise InvalidArgument("trigger must be an object")
        kind = _text(trigger, "type", MANUAL) or MANUAL
        settings = trigger.get("trigger_settings") or {}
    cron = ""
    if kind == SCHEDULED:
        given: object = settings.get("cron") if isinstance(settings, dict) else None
        given = b.cron if given is None and trigger is None else given
        if not isinstance(given, str) or not valid_cron(given):
            raise InvalidArgument(
                f"trigger.trigger_settings.cron {str(given)[:80]!r} is no 6-field cron",
                hint="Harbor's cron has seconds first, e.g. '0 0 * * * *' (hourly)",
            )
        cron = given
    if kind not in TRIGGERS:
        raise InvalidArgument(f"trigger.type must be one of {', '.join(TRIGGERS)}")
    if source and kind == EVENT_BASED:
        raise InvalidArgument(
            "a pull-based policy cannot be event_based (the source's pushes are not seen here)",
            hint="use manual or scheduled",
        )
    deletion = _bool(body, "replicate_deletion", b.replicate_deletion)
    if "replicate_deletion" not in body and body.get("deletion") is not None:
        deletion = _bool(body, "deletion", b.replicate_deletion)  # Harbor's older name
    count = _int(body, "dest_namespace_replace_count", b.dest_namespace_replace_count)
    if count < -1:
        raise InvalidArgument("dest_namespace_replace_count must be -1 or more")
    policy = replace(
        b,
        name=_text(body, "name", b.name).strip(),
        description=_text(body, "description", b.description, limit=1024),
        dest_registry_id=dest,
        src_registry_id=source,
        dest_namespace=_text(body, "dest_namespace", b.dest_namespace).strip("/"),
        dest_namespace_replace_count=count,
        trigger=kind,
        filters=_filters(body["filters"]) if "filters" in body else b.filters,
        override=_bool(body, "override", b.override),
        enabled=_bool(body, "enabled", b.enabled),
        speed=_int(body, "speed", b.speed),
        cron=cron.strip(),
        creator=b.creator or creator,
        replicate_deletion=deletion,
    )
    if not policy.name:
        raise InvalidArgument("the policy needs a name")
    return policy


def _filter(raw: dict[str, Any]) -> Filter:
    value = raw["value"]
    return Filter(raw["type"], tuple(value) if isinstance(value, list) else value,
                  raw["decoration"])  # fmt: skip


def _policy(row: Row[Any]) -> Policy:
    filters = tuple(_filter(f) for f in json.loads(row.filters))
    return Policy(
        row.id, row.name, row.dest_registry_id, row.trigger_type, row.description,
        row.dest_namespace, row.dest_namespace_replace_count, filters, row.override,
        row.enabled, row.speed, row.cron, row.creator, row.creation_time, row.update_time,
        row.src_registry_id, bool(row.replicate_deletion),
    )  # fmt: skip


def _values(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name, "description": policy.description, "src_registry_id": policy.src_registry_id,
        "dest_registry_id": policy.dest_registry_id, "dest_namespace": policy.dest_namespace,
        "dest_namespace_replace_count": policy.dest_namespace_replace_count,
        "filters": json.dumps([f.json() for f in policy.filters]),
        "trigger_type": policy.trigger, "cron": policy.cron, "override": policy.override,
        "enabled": policy.enabled, "replicate_deletion": policy.replicate_deletion, "speed": policy.speed,
        "creator": policy.creator,
    }  # fmt: skip


class PolicyStore:
    """Replication policies in the registry's database (tables created when missing)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.create_tables(metadata)

    def _check_destination(self, conn: Any, policy: Policy) -> None:
        found = conn.execute(
            select(registries.c.id).where(registries.c.id == policy.endpoint_id)
        ).first()
        if found is None:
            side = "src_registry" if policy.pull else "dest_registry"
            raise InvalidArgument(
                f"{side} {policy.endpoint_id} is no endpoint registry",
                hint="create it with POST /api/v2.0/registries first",
            )

    def create(self, policy: Policy, *, now: float | None = None) -> Policy:
        now = time.time() if now is None else now
        try:
            with self.db.write() as conn:
                self._check_destination(conn, policy)
                self._unique(conn, policy.name, 0)
                key = conn.execute(
                    policies.insert().values(**_values(policy), creation_time=now,
                                             update_time=now)
                ).inserted_primary_key  # fmt: skip
        except IntegrityError:
            raise _taken(policy.name) from None
        assert key is not None
        return replace(policy, id=int(key[0]), creation_time=now, update_time=now)

    def get(self, policy_id: int) -> Policy:
        with self.db.read() as conn:
            row = conn.execute(select(policies).where(policies.c.id == policy_id)).first()
        if row is None:
            raise PolicyNotFound(
                f"replication policy {policy_id} not found",
                hint="list /api/v2.0/replication/policies",
            )
        return _policy(row)

    def listing(
        self, *, name: str | None = None, page: int = 1, size: int = 10
    ) -> tuple[list[Policy], int]:
        where = policies.c.name.contains(name, autoescape=True) if name else None
        with self.db.read() as conn:
            found, total = page_rows(conn, policies, where, policies.c.id, page, size)
        return [_policy(r) for r in found], total

    def triggered_by_events(self) -> list[Policy]:
        """The enabled event-based policies."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(policies)
                .where(
                    policies.c.enabled.is_(True),
                    policies.c.trigger_type == EVENT_BASED,
                    policies.c.src_registry_id == 0,
                )
                .order_by(policies.c.id)
            ).all()
        return [_policy(r) for r in rows]

    def scheduled(self) -> list[Policy]:
        """The enabled scheduled policies."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(policies).where(
                    policies.c.enabled.is_(True), policies.c.trigger_type == SCHEDULED
                ).order_by(policies.c.id)
            ).all()  # fmt: skip
        return [_policy(r) for r in rows]

    def claim_fire(self, policy_id: int, fire: float) -> bool:
        """Claim the firing of ``policy_id``'s cron at ``fire`` for this process: True once,
        whichever of the processes sharing the database asks first."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    update(policies)
                    .where(policies.c.id == policy_id, policies.c.last_fire < fire)
                    .values(last_fire=fire)
                ).rowcount
            )

    def update(self, policy: Policy, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        try:
            with self.db.write() as conn:
                self._check_destination(conn, policy)
                self._unique(conn, policy.name, policy.id)
                done = conn.execute(
                    policies.update().where(policies.c.id == policy.id)
                    .values(**_values(policy), update_time=now)
                ).rowcount  # fmt: skip
        except IntegrityError:
            raise _taken(policy.name) from None
        if not done:
            raise PolicyNotFound(f"replication policy {policy.id} not found")

    def delete(self, policy_id: int, *, now: float | None = None) -> None:
        """Delete a policy; its tasks not yet done are stopped (its history stays)."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            done = conn.execute(policies.delete().where(policies.c.id == policy_id)).rowcount
            conn.execute(
                update(tasks)
                .where(tasks.c.policy_id == policy_id, tasks.c.status.in_(("Pending", "Running")))
                .values(status="Stopped", status_message="the policy was deleted",
                        lease_owner="", end_time=now, update_time=now)
            )  # fmt: skip
        if not done:
            raise PolicyNotFound(f"replication policy {policy_id} not found")

    @staticmethod
    def _unique(conn: Any, name: str, own_id: int) -> None:
        found = conn.execute(
            select(policies.c.id).where(policies.c.name == name, policies.c.id != own_id)
        ).first()
        if found is not None:
            raise _taken(name)


def _taken(name: str) -> AlreadyExists:
    return AlreadyExists(
        f"a replication policy named {name!r} exists already", hint="choose another name"
    )
