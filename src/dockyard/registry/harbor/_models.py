"""The JSON shapes of Harbor's swagger that dockyard serves, and the functions that fill them.

:data:`DEFINITIONS` is the schema of exactly what these functions emit, with Harbor's field
names, types and descriptions; ``swagger.json`` publishes it and the tests hold every response
to it and to Harbor's own definitions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dockyard.oci import mediatypes as mt
from dockyard.registry.metadata import ArtifactRow, RepositoryRow, TagRow

__all__ = [
    "DEFINITIONS",
    "NEVER",
    "artifact_json",
    "children",
    "harbor_time",
    "repository_json",
    "tag_json",
]

#: What Harbor reports for a time that never happened (an artifact never pulled).
NEVER = "0001-01-01T00:00:00.000Z"


def harbor_time(seconds: float) -> str:
    """A Unix time as Harbor writes it: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _i(description: str) -> dict[str, Any]:
    return {"type": "integer", "format": "int64", "description": description}


def _b(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def _t(description: str) -> dict[str, Any]:
    return _s(description, format="date-time")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _object(doc: str, /, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "description": doc, "properties": properties}


DEFINITIONS: dict[str, dict[str, Any]] = {
    "Error": _object(
        "a model for all the error response coming from harbor",
        code=_s("The error code"),
        message=_s("The error message"),
    ),
    "Errors": _object(
        "The error array that describe the errors got during the handling of request",
        errors={"type": "array", "items": _ref("Error")},
    ),
    "ComponentHealthStatus": _object(
        "The health status of component",
        name=_s("The component name"),
        status=_s('The health status of component. Is either "healthy" or "unhealthy".'),
        error=_s('(optional) The error message when the status is "unhealthy"'),
    ),
    "OverallHealthStatus": _object(
        "The system health status",
        status=_s("The overall health status"),
        components={"type": "array", "items": _ref("ComponentHealthStatus")},
    ),
    "GeneralInfo": _object(
        "General system info",
        current_time=_t("The current time of the server."),
        registry_url=_s("The url of registry against which the docker command should be issued."),
        external_url=_s("The external URL of Harbor, with protocol."),
        auth_mode=_s("The auth mode of current Harbor instance."),
        primary_auth_mode=_b("Whether the current auth mode is a primary one."),
        project_creation_restriction=_s("Who can create projects: 'adminonly' or 'everyone'."),
        self_registration=_b("Whether users may register themselves."),
        has_ca_root=_b("Whether a CA root certificate is ready for download."),
        harbor_version=_s("The build version (dockyard's version)."),
        registry_storage_provider_name=_s("The storage provider's name of the registry"),
        read_only=_b("Whether the registry is in read-only mode."),
        notification_enable=_b("Whether the notification mechanism is enabled."),
    ),
    "Repository": _object(
        "A repository",
        id=_i("The ID of the repository"),
        name=_s("The name of the repository"),
        description=_s("The description of the repository"),
        artifact_count=_i("The count of the artifacts inside the repository"),
        pull_count=_i("The count that the artifact inside the repository pulled"),
        creation_time=_t("The creation time of the repository"),
        update_time=_t("The update time of the repository"),
    ),
    "Tag": _object(
        "A tag",
        repository_id=_i("The ID of the repository that the tag belongs to"),
        artifact_id=_i("The ID of the artifact that the tag attached to"),
        name=_s("The name of the tag"),
        push_time=_t("The push time of the tag"),
        pull_time=_t("The latest pull time of the tag"),
        immutable=_b("The immutable status of the tag"),
    ),
    "NewTag": {
        "type": "object",
        "description": "The request body for creating a tag",
        "required": ["name"],
        "properties": {"name": _s("The name of the tag")},
    },
    "Platform": _object(
        "The platform of a manifest in an index",
        architecture=_s("The architecture that the artifact applys to"),
        os=_s("The OS that the artifact applys to"),
        variant=_s("The variant of the CPU"),
        **{
            "os.version": _s("The version of the OS that the artifact applys to"),
            "os.features": {"type": "array", "items": {"type": "string"}},
        },
    ),
    "Annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    "Reference": _object(
        "A manifest an index lists",
        parent_id=_i("The parent ID of the reference"),
        child_id=_i("The child ID of the reference"),
        child_digest=_s("The digest of the child artifact"),
        platform=_ref("Platform"),
        annotations=_ref("Annotations"),
        urls={"type": "array", "description": "The download URLs", "items": {"type": "string"}},
    ),
    "Label": _object("A label", id=_i("The ID of the label"), name=_s("The name the label")),
    "Artifact": _object(
        "An artifact: a manifest or an index pushed to a repository",
        id=_i("The ID of the artifact"),
        type=_s("The type of the artifact, e.g. IMAGE, CHART, UNKNOWN"),
        media_type=_s("The media type of the artifact"),
        manifest_media_type=_s("The manifest media type of the artifact"),
        artifact_type=_s("The artifact_type in the manifest of the artifact"),
        repository_id=_i("The ID of the repository that the artifact belongs to"),
        repository_name=_s("The name of the repository that the artifact belongs to"),
        digest=_s("The digest of the artifact"),
        size=_i("The size of the artifact"),
        push_time=_t("The push time of the artifact"),
        pull_time=_t("The latest pull time of the artifact"),
        annotations=_ref("Annotations"),
        references={"type": "array", "items": _ref("Reference")},
        tags={"type": "array", "items": _ref("Tag")},
        labels={"type": "array", "items": _ref("Label")},
    ),
}


def repository_json(row: RepositoryRow, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "artifact_count": row.artifact_count,
        "pull_count": 0,
        "creation_time": harbor_time(row.created_at),
        "update_time": harbor_time(row.updated_at),
    }
    if description:
        out["description"] = description
    return out


def tag_json(row: TagRow) -> dict[str, Any]:
    return {
        "repository_id": row.repository_id,
        "artifact_id": row.artifact_id,
        "name": row.name,
        "push_time": harbor_time(row.updated_at),
        "pull_time": NEVER,
        "immutable": False,
    }


_CHART_CONFIG = "application/vnd.cncf.helm.config.v1+json"
_IMAGE_CONFIGS = frozenset({mt.OCI_CONFIG, mt.DOCKER_CONFIG})
_INDEXES = frozenset({mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST})


def _type(media_type: str, config_type: str | None) -> str:
    """Harbor's artifact type, from the manifest's and its config's media types."""
    if media_type in _INDEXES or config_type in _IMAGE_CONFIGS:
        return "IMAGE"
    if config_type == _CHART_CONFIG:
        return "CHART"
    return "UNKNOWN"


def _strings(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}


def _reference(parent: int, entry: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    digest = str(entry.get("digest", ""))
    ref: dict[str, Any] = {"parent_id": parent, "child_digest": digest}
    if digest in ids:
        ref["child_id"] = ids[digest]
    platform = entry.get("platform")
    if isinstance(platform, dict):
        fields = ("architecture", "os", "variant", "os.version")
        shown: dict[str, Any] = {k: str(platform[k]) for k in fields if k in platform}
        features = platform.get("os.features")
        if isinstance(features, list):
            shown["os.features"] = [str(f) for f in features]
        ref["platform"] = shown
    annotations = _strings(entry.get("annotations"))
    if annotations:
        ref["annotations"] = annotations
    urls = entry.get("urls")
    if isinstance(urls, list) and urls:
        ref["urls"] = [str(u) for u in urls]
    return ref


def children(row: ArtifactRow) -> list[str]:
    """The digests an index lists (none for a manifest)."""
    doc = _document(row)
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        return []
    return [str(e["digest"]) for e in entries if isinstance(e, dict) and "digest" in e]


def _document(row: ArtifactRow) -> dict[str, Any]:
    try:
        doc = json.loads(row.content)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _size(doc: dict[str, Any], own: int) -> int:
    """The manifest's bytes plus what it lists: config and layers, or an index's manifests."""
    total = own
    described = [doc.get("config"), *(doc.get("layers") or []), *(doc.get("manifests") or [])]
    for d in described:
        if isinstance(d, dict) and isinstance(d.get("size"), int):
            total += d["size"]
    return total


def artifact_json(
    row: ArtifactRow,
    *,
    tags: list[TagRow] | None,
    labels: bool,
    child_ids: dict[str, int],
) -> dict[str, Any]:
    """Harbor's Artifact for ``row``: ``tags`` None leaves them out (``with_tag=false``)."""
    doc = _document(row)
    config = doc.get("config")
    config_type = str(config.get("mediaType")) if isinstance(config, dict) else None
    artifact_type = doc.get("artifactType") or config_type
    out: dict[str, Any] = {
        "id": row.id,
        "type": _type(row.media_type, config_type),
        "media_type": config_type or row.media_type,
        "manifest_media_type": row.media_type,
        "repository_id": row.repository_id,
        "repository_name": row.repository,
        "digest": row.digest,
        "size": _size(doc, len(row.content)),
        "push_time": harbor_time(row.created_at),
        "pull_time": NEVER,
    }
    if artifact_type:
        out["artifact_type"] = str(artifact_type)
    annotations = _strings(doc.get("annotations"))
    if annotations:
        out["annotations"] = annotations
    entries = doc.get("manifests")
    if isinstance(entries, list):
        refs = [_reference(row.id, e, child_ids) for e in entries if isinstance(e, dict)]
        if refs:
            out["references"] = refs
    if tags is not None:
        out["tags"] = [tag_json(t) for t in tags]
    if labels:
        out["labels"] = []
    return out
