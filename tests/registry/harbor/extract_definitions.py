"""Extract the Harbor swagger definitions the API tests validate against.

Usage: python extract_definitions.py HARBOR_SWAGGER_YAML > harbor_definitions.json

The input is Harbor's ``api/v2.0/swagger.yaml`` (github.com/goharbor/harbor, v2.16.0); the
output keeps the named definitions and every definition they reference, unchanged.
"""

from __future__ import annotations

import json
import re
import sys

import yaml

ROOTS = (
    "Artifact", "AuditLog", "AuditLogEventType", "AuditLogExt", "Errors", "GeneralInfo",
    "NewTag", "OIDCCliSecretReq",
    "OverallHealthStatus", "PasswordReq", "Permission", "Project", "ProjectDeletable",
    "ProjectMember", "ProjectMemberEntity", "ProjectReq", "ProjectSummary", "Quota",
    "QuotaUpdateReq", "Repository", "RoleRequest", "Robot", "RobotCreate", "RobotCreated",
    "RobotSec", "Tag", "UserCreationReq", "UserProfile", "UserResp", "UserSearchRespItem",
    "UserSysAdminFlag",
    # system info
    "SystemInfo",
    # garbage collection
    "GCHistory", "Schedule",
    # scan all
    "Stats",
    # webhooks
    "Execution", "SupportedWebhookEventTypes", "Task", "WebhookPolicy",
    # immutable tag rules
    "ImmutableRule",
    # replication
    "Registry", "RegistryInfo", "RegistryPing", "RegistryUpdate", "ReplicationExecution",
    "ReplicationPolicy", "ReplicationTask", "StartReplicationExecution",
)  # fmt: skip
SOURCE = "goharbor/harbor v2.16.0, api/v2.0/swagger.yaml, #/definitions"


def extract(swagger: dict[str, object]) -> dict[str, object]:
    definitions = swagger["definitions"]
    assert isinstance(definitions, dict)
    keep: dict[str, object] = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = definitions[name]
        todo += re.findall(r"#/definitions/(\w+)", json.dumps(definitions[name]))
    return {"source": SOURCE, "definitions": dict(sorted(keep.items()))}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        document = yaml.safe_load(f)
    json.dump(extract(document), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
