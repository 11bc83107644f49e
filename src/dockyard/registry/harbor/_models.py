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


def _i(description: str, fmt: str | None = "int64") -> dict[str, Any]:
    """An integer; ``fmt`` as Harbor's definition gives it (int64, int32, int or none)."""
    out: dict[str, Any] = {"type": "integer", "description": description}
    if fmt is not None:
        out["format"] = fmt
    return out


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
        project_id=_i("The ID of the project that the repository belongs to"),
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
    "Label": _object(
        "A label: global (scope g) or of a project (scope p), attached to artifacts by hand",
        id=_i("The ID of the label"),
        name=_s("The name the label"),
        description=_s("The description the label"),
        color=_s("The color the label"),
        scope=_s("The scope the label"),
        project_id=_i("The ID of project that the label belongs to"),
        creation_time=_t("The creation time the label"),
        update_time=_t("The update time of the label"),
    ),
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
        accessories={"type": "array", "items": _ref("Accessory")},
        scan_overview=_ref("ScanOverview"),
    ),
    "Accessory": _object(
        "The accessory of the artifact",
        id=_i("The ID of the accessory"),
        artifact_id=_i("The artifact id of the accessory"),
        subject_artifact_id=_i("The subject artifact id of the accessory"),
        subject_artifact_repo=_s("The subject artifact repository name of the accessory"),
        subject_artifact_digest=_s("The subject artifact digest of the accessory"),
        size=_i("The artifact size of the accessory"),
        digest=_s("The artifact digest of the accessory"),
        type=_s("The type of the accessory: signature.cosign, attestation.cosign, …"),
        icon=_s("The icon of the accessory"),
        creation_time=_t("The creation time of the accessory"),
    ),
    "ScanOverview": {
        "type": "object",
        "description": "The scan overview, by the report's MIME type",
        "additionalProperties": _ref("NativeReportSummary"),
    },
    "NativeReportSummary": _object(
        "The summary for the native report",
        scan_status=_s("The status of the report generating process"),
        severity=_s("The overall severity"),
    ),
}


_ARRAY = "array"


def _list(name: str) -> dict[str, Any]:
    return {"type": _ARRAY, "items": _ref(name)}


#: The access model's shapes: projects, members, users, robots, quotas, audit logs.
DEFINITIONS.update(
    {
        "ProjectMetadata": _object(
            'The metadata of the project (Harbor\'s strings: "true"/"false", severities)',
            **{
                key: _s(f"The project's {key} setting")
                for key in (
                    "public",
                    "enable_content_trust",
                    "enable_content_trust_cosign",
                    "prevent_vul",
                    "severity",
                    "auto_scan",
                    "auto_sbom_generation",
                    "reuse_sys_cve_allowlist",
                    "retention_id",
                    "proxy_speed_kb",
                    "max_upstream_conn",
                    "proxy_cache_local_on_not_found",
                    "proxy_referrer_api",
                    "proxy_cache_filter_pattern",
                    "proxy_cache_filter_kind",
                )
            },
        ),
        "CVEAllowlistItem": _object(
            "The item in CVE allowlist", cve_id=_s('The ID of the CVE, such as "CVE-2019-10164"')
        ),
        "CVEAllowlist": _object(
            "The CVE Allowlist for system or project (dockyard keeps none: always empty)",
            id=_i("ID of the allowlist", None),
            project_id=_i("ID of the project which the allowlist belongs to", None),
            items=_list("CVEAllowlistItem"),
            creation_time=_t("The creation time of the allowlist."),
            update_time=_t("The update time of the allowlist."),
        ),
        "Project": _object(
            "A project",
            project_id=_i("Project ID", "int32"),
            owner_id=_i("The owner ID of the project (its creator)", "int32"),
            name=_s("The name of the project."),
            registry_id=_i("The ID of the referenced registry of a proxy cache project"),
            creation_time=_t("The creation time of the project."),
            update_time=_t("The update time of the project."),
            deleted=_b("A deletion mark of the project."),
            owner_name=_s("The owner name of the project."),
            togglable=_b("Whether the project's publicity is updatable (for UI)"),
            current_user_role_id=_i("The highest role ID of the current user here", None),
            current_user_role_ids={
                "type": _ARRAY,
                "items": {"type": "integer", "format": "int32"},
                "description": "The role IDs of the current user here",
            },
            repo_count=_i("The number of the repositories under this project.", None),
            metadata=_ref("ProjectMetadata"),
            cve_allowlist=_ref("CVEAllowlist"),
        ),
        "ProjectReq": _object(
            "The request to create or update a project",
            project_name=_s("The name of the project.", maxLength=255),
            public=_b("deprecated: use metadata.public"),
            metadata=_ref("ProjectMetadata"),
            cve_allowlist=_ref("CVEAllowlist"),
            storage_limit=_i("The storage quota of the project in bytes (-1: unlimited)."),
            registry_id=_i("The ID of the referenced registry (proxy cache projects)"),
        ),
        "ProjectDeletable": _object(
            "Whether the project can be deleted",
            deletable=_b("Whether the project can be deleted."),
            message=_s("The detail message when the project can not be deleted."),
        ),
        "ResourceList": {
            "type": "object",
            "additionalProperties": {"type": "integer", "format": "int64"},
        },
        "ProjectSummaryQuota": _object(
            "The storage quota of a project", hard=_ref("ResourceList"), used=_ref("ResourceList")
        ),
        "ProjectSummary": _object(
            "The summary of a project",
            repo_count=_i("The number of the repositories under this project.", None),
            project_admin_count=_i("The total number of project admin members.", None),
            maintainer_count=_i("The total number of maintainer members.", None),
            developer_count=_i("The total number of developer members.", None),
            guest_count=_i("The total number of guest members.", None),
            limited_guest_count=_i("The total number of limited guest members.", None),
            quota=_ref("ProjectSummaryQuota"),
        ),
        "UserEntity": _object(
            "A user, by id or name",
            user_id=_i("The ID of the user.", None),
            username=_s("The name of the user."),
        ),
        "UserGroup": _object(
            "A user group",
            id=_i("The ID of the user group", None),
            group_name=_s("The name of the user group"),
            group_type=_i(
                "The group type, 1 for LDAP group, 2 for HTTP group, 3 for OIDC group.", None
            ),
            ldap_group_dn=_s("The DN of the LDAP group if group type is 1 (LDAP group)."),
        ),
        "ProjectMember": _object(
            "A new member: a user or a group, with a role",
            role_id=_i(
                "The role id 1 for projectAdmin, 2 for developer, 3 for guest, 4 for "
                "maintainer, 5 for limitedGuest",
                None,
            ),
            member_user=_ref("UserEntity"),
            member_group=_ref("UserGroup"),
        ),
        "ProjectMemberEntity": _object(
            "A member of a project",
            id=_i("the project member id", None),
            project_id=_i("the project id", None),
            entity_name=_s("the name of the user or group member."),
            role_name=_s("the name of the role"),
            role_id=_i("the role id", None),
            entity_id=_i("the id of the user or group", None),
            entity_type=_s("the entity's type, u for user entity, g for group entity."),
        ),
        "RoleRequest": _object(
            "A member's new role",
            role_id=_i(
                "The role id 1 for projectAdmin, 2 for developer, 3 for guest, 4 for "
                "maintainer, 5 for limitedGuest",
                None,
            ),
        ),
        "AuditLog": _object(
            "An audit log entry",
            id=_i("The ID of the audit log entry.", None),
            username=_s("Username of the user in this log entry."),
            resource=_s("Name of the resource in this log entry."),
            resource_type=_s("Type of the resource in this log entry."),
            operation=_s("The operation against the resource in this log entry."),
            op_time=_t("The time when this operation is triggered."),
        ),
        "AuditLogExt": _object(
            "An audit log entry with the operation's result",
            id=_i("The ID of the audit log entry.", None),
            username=_s("The username of the operator in this log entry."),
            resource=_s("Name of the resource in this log entry."),
            resource_type=_s("Type of the resource in this log entry."),
            operation=_s("The operation against the resource in this log entry."),
            operation_description=_s("The operation's detail description"),
            operation_result=_b("the operation's result, true for success, false for fail"),
            op_time=_t("The time when this operation is triggered."),
        ),
        "AuditLogEventType": _object(
            "An event type of the audit log",
            event_type=_s("the event type, such as create_user.", example="create_user"),
        ),
        "UserResp": _object(
            "A user",
            email={"type": "string"},
            realname={"type": "string"},
            comment={"type": "string"},
            user_id={"type": "integer", "format": "int"},
            username={"type": "string"},
            sysadmin_flag={"type": "boolean"},
            admin_role_in_auth=_b("Whether the admin privilege is granted by the directory"),
            creation_time=_t("The creation time of the user."),
            update_time=_t("The update time of the user."),
        ),
        "UserCreationReq": _object(
            "A new local user",
            email={"type": "string", "maxLength": 255},
            realname={"type": "string"},
            comment={"type": "string"},
            password={"type": "string"},
            username={"type": "string", "maxLength": 255},
        ),
        "UserProfile": _object(
            "A user's profile",
            email={"type": "string"},
            realname={"type": "string"},
            comment={"type": "string"},
        ),
        "PasswordReq": _object(
            "A password change",
            old_password=_s("The user's existing password."),
            new_password=_s("New password for marking as to be updated."),
        ),
        "UserSysAdminFlag": _object(
            "Whether a user is a system administrator",
            sysadmin_flag=_b("true-admin, false-not admin."),
        ),
        "OIDCCliSecretReq": _object("A CLI secret", secret=_s("The new secret")),
        "UserSearchRespItem": _object(
            "A user found by name",
            user_id=_i("The ID of the user.", "int"),
            username={"type": "string"},
        ),
        "Permission": _object(
            "A permission the current user holds",
            resource=_s("The permission resoruce"),
            action=_s("The permission action"),
        ),
        "Access": _object(
            "One (resource, action) a robot holds",
            resource=_s("The resource of the access"),
            action=_s("The action of the access"),
            effect=_s("The effect of the access"),
        ),
        "RobotPermission": _object(
            "A robot's accesses in one namespace",
            kind=_s("The kind of the permission: system or project"),
            namespace=_s('The namespace: "/" (system), a project name, or "*" (every project)'),
            access=_list("Access"),
        ),
        "Robot": _object(
            "A robot account",
            id=_i("The ID of the robot"),
            name=_s("The name of the robot"),
            description=_s("The description of the robot"),
            secret=_s("The secret of the robot"),
            level=_s("The level of the robot, project or system"),
            duration=_i("The duration of the robot in days, -1 (never expires) or positive"),
            editable=_b("The editable status of the robot"),
            disable=_b("The disable status of the robot"),
            expires_at=_i("The expiration date of the robot (epoch seconds, -1 never)"),
            permissions=_list("RobotPermission"),
            creator_type=_s("The type of the robot creator, like local(harbor_user) or robot."),
            creator_ref=_i("The reference of the robot creator, like the id of harbor user."),
            creation_time=_t("The creation time of the robot."),
            update_time=_t("The update time of the robot."),
        ),
        "RobotCreate": _object(
            "The request for robot account creation.",
            name=_s("The name of the robot"),
            description=_s("The description of the robot"),
            secret=_s("The secret of the robot"),
            level=_s("The level of the robot, project or system"),
            disable=_b("The disable status of the robot"),
            duration=_i("The duration of the robot in days, -1 (never expires) or positive"),
            permissions=_list("RobotPermission"),
        ),
        "RobotCreated": _object(
            "The response for robot account creation.",
            id=_i("The ID of the robot"),
            name=_s("The name of the robot"),
            secret=_s("The secret of the robot"),
            creation_time=_t("The creation time of the robot."),
            expires_at=_i("The expiration date of the robot"),
        ),
        "RobotSec": _object(
            "The response for refresh/update robot account secret.",
            secret=_s("The secret of the robot"),
        ),
        "QuotaRefObject": {"type": "object", "additionalProperties": {}},
        "Quota": _object(
            "The quota object",
            id=_i("ID of the quota (the project's ID)", None),
            ref=_ref("QuotaRefObject"),
            hard=_ref("ResourceList"),
            used=_ref("ResourceList"),
            creation_time=_t("the creation time of the quota"),
            update_time=_t("the update time of the quota"),
        ),
        "QuotaUpdateReq": _object("The new hard limits for a quota", hard=_ref("ResourceList")),
    }
)


def repository_json(
    row: RepositoryRow, description: str | None = None, project_id: int | None = None
) -> dict[str, Any]:
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
    if project_id is not None:
        out["project_id"] = project_id
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
    labels: list[dict[str, Any]] | None,
    child_ids: dict[str, int],
    pulled_at: float | None = None,
) -> dict[str, Any]:
    """Harbor's Artifact for ``row``: ``tags`` None leaves them out (``with_tag=false``),
    ``labels`` (Harbor's Label objects) likewise (``with_label=false``); ``pulled_at``: its
    last recorded pull (None: never, Harbor's zero time)."""
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
        "pull_time": NEVER if pulled_at is None else harbor_time(pulled_at),
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
    if labels is not None:
        out["labels"] = labels
    return out
