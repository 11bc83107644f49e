"""The route table: every operation of ``/api/v2.0`` dockyard serves (swagger.json is built
from it)."""

from __future__ import annotations

from dockyard.registry.harbor import (
    _additions,
    _artifacts,
    _audit,
    _audit_ext,
    _comparison,
    _gc,
    _labels,
    _members,
    _metadatas,
    _openapi,
    _permissions,
    _projects,
    _promotion,
    _quotas,
    _registries,
    _replication,
    _repositories,
    _retentions,
    _robots,
    _scanall,
    _scans,
    _summary,
    _system,
    _users,
    _webhooks,
)
from dockyard.registry.harbor._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from dockyard.registry.harbor._router import PathParam, QueryParam, Route
from dockyard.registry.immutability import _api as _immutable

__all__ = ["ROUTES"]

PROJECT = PathParam("project_name", "The name of the project")
REPOSITORY = PathParam(
    "repository_name",
    "The name of the repository. If it contains slash, encode it twice over with URL "
    "encoding. e.g. a/b -> a%2Fb -> a%252Fb",
)
REFERENCE = PathParam("reference", "The reference of the artifact, can be digest or tag")
TAG = PathParam("tag_name", "The name of the tag")

Q = QueryParam(
    "q",
    'Query string: "exact match(k=v)", "fuzzy match(k=~v)", "range(k=[min~max])", '
    '"list with union relationship(k={v1 v2 v3})" and "list with intersection '
    'relationship(k=(v1 v2 v3))", separated by ","',
)
SORT = QueryParam("sort", 'Sort keys, e.g. "field1,-field2" (descending field2)')
PAGE = QueryParam("page", "The page number", "integer", 1, minimum=1)
PAGE_SIZE = QueryParam(
    "page_size", "The size of per page", "integer", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, 1
)
LISTING = (Q, SORT, PAGE, PAGE_SIZE)
WITH_TAG = QueryParam("with_tag", "Whether the tags are included", "boolean", True)
WITH_LABEL = QueryParam("with_label", "Whether the labels are included", "boolean", False)
WITH_ACCESSORY = QueryParam("with_accessory", "Specify whether the accessories are included "
                            "of the returning artifacts.", "boolean", False)  # fmt: skip
WITH_SCAN = QueryParam("with_scan_overview", "Specify whether the scan overview is included "
                       "inside the returning artifacts", "boolean", False)  # fmt: skip
WITH_SBOM = QueryParam("with_sbom_overview", "Accepted as Harbor's; dockyard runs no SBOM "
                       "generation jobs, so no sbom_overview is added", "boolean",
                       False)  # fmt: skip
WITH_INHERITED = QueryParam("with_inherited_accessory", "Specify whether the signatures of the "
                            "OCI indexes listing the artifact are included, in "
                            "inherited_accessories", "boolean", False)  # fmt: skip
WITH_SIGNATURE = QueryParam("with_signature", "Accepted as Harbor's (it marked Notary v1 "
                            "signatures, which Harbor no longer reads)", "boolean",
                            False)  # fmt: skip
ADDITION = PathParam(
    "addition",
    "The type of addition: build_history or sbom for an image "
    "(values.yaml, readme.md, dependencies, license, files: not here)",
)
SBOM_FORMAT = QueryParam(
    "format",
    "dockyard extension: the sbom addition as spdx (the default) or cyclonedx",
    "string",
    "spdx",
)
FILES_QUERY = (
    QueryParam("layer", "The layer's number, 1 for the first", "integer", 1, minimum=1),
    QueryParam("view", "layer: that layer's own files; merged: the filesystem the layers up "
               "to it build, with wasted bytes", "string", "layer"),
    QueryParam("path", "The directory to list, e.g. etc/ssl", "string", ""),
)  # fmt: skip
WITH_IMMUTABLE = QueryParam("with_immutable_status", "Specify whether the immutable status is "
                            "included inside the tags of the returning artifacts.", "boolean",
                            False)  # fmt: skip

PROJECT_REF = PathParam(
    "project_name_or_id",
    "The name or id of the project (a name when the header X-Is-Resource-Name is true)",
)
MEMBER = PathParam("mid", "Member ID.", "integer")
META = PathParam("meta_name", "The name of the metadata.")
USER = PathParam("user_id", "The ID of the user", "integer")
ROBOT = PathParam("robot_id", "Robot ID", "integer")
QUOTA = PathParam("id", "Quota ID (the project's ID)", "integer")
IMMUTABLE_RULE = PathParam("immutable_rule_id", "The ID of the immutable rule", "integer")
RETENTION = PathParam("id", "Retention ID.", "integer")
RETENTION_EXEC = PathParam("eid", "Retention execution ID.", "integer")
RETENTION_TASK = PathParam("tid", "Retention task ID.", "integer")
_RET = "/retentions/{id}"
_RET_EXEC = _RET + "/executions/{eid}"
GC_ID = PathParam("gc_id", "The ID of the gc log", "integer")
PAGING = (PAGE, PAGE_SIZE)
PROJECT_FILTERS = (
    QueryParam("name", "The name of project (contains)."),
    QueryParam("public", "The project is public or private.", "boolean"),
    QueryParam("owner", "The name of project owner."),
    QueryParam("with_detail", "Bool value indicating whether return detailed information of "
               "the project", "boolean", True),
)  # fmt: skip

_REPO = "/projects/{project_name}/repositories/{repository_name}"
_P = "/projects/{project_name_or_id}"
_MEMBER = _P + "/members/{mid}"
_META = _P + "/metadatas/{meta_name}"
_USER = "/users/{user_id}"
_ROBOT = "/robots/{robot_id}"
_ARTIFACT = _REPO + "/artifacts/{reference}"
COMPARE_WITH = QueryParam("with", "The artifact to compare with (required): a tag or a digest")
POLICY = PathParam("id", "The ID of the promotion policy", "integer")
LABEL = PathParam("label_id", "Label ID", "integer")
ARTIFACT_LABEL = PathParam("label_id", "The ID of the label that removed from the artifact.",
                           "integer")  # fmt: skip
LABEL_QUERY = (
    QueryParam("name", "The label name."),
    QueryParam("scope", "The label scope. Valid values are g and p. g for global labels and p "
               "for project labels."),
    QueryParam("project_id", "Relevant project ID, required when scope is p.", "integer"),
)  # fmt: skip

_REGISTRY = "/registries/{id}"
REGISTRY_ID = PathParam("id", "The ID of the registry", "integer")
_REP_POLICY = "/replication/policies/{id}"
REP_POLICY = PathParam("id", "Replication policy ID", "integer")
_REP_EXEC = "/replication/executions/{id}"
REP_EXEC = PathParam("id", "The ID of the execution.", "integer")
REP_TASK = PathParam("task_id", "The task ID.", "integer")
NAME = QueryParam("name", "Deprecated, use `query` instead. The name of the registry.")
_HOOK = _P + "/webhook/policies"
_HOOK_EXEC = _HOOK + "/{webhook_policy_id}/executions"
HOOK = PathParam("webhook_policy_id", "The ID of the webhook policy", "integer")
EXECUTION = PathParam("execution_id", "Execution ID", "integer")
TASK = PathParam("task_id", "Task ID", "integer")

ROUTES: list[Route] = [
    Route("GET", "/ping", _system.get_ping, "getPing", "Ping the API server", "ping",
          response="string"),
    Route("GET", "/health", _system.get_health, "getHealth",
          "Check the status of the registry's components", "health",
          response="OverallHealthStatus"),
    Route("GET", "/systeminfo", _system.get_systeminfo, "getSystemInfo",
          "Get general system info", "systeminfo", response="GeneralInfo"),
    Route("GET", "/systeminfo/volumes", _system.get_volumes, "getVolumes",
          "Get the storage disk's total and free bytes (system administrators)", "systeminfo",
          response="SystemInfo"),
    Route("GET", "/systeminfo/getcert", _system.get_cert, "getCert",
          "Get the default root certificate (404: there is none)", "systeminfo",
          response="string"),
    Route("GET", "/repositories", _repositories.list_all_repositories, "listAllRepositories",
          "List all authorized repositories", "repository", response="[Repository]",
          query=LISTING, paged=True),
    Route("GET", "/projects/{project_name}/repositories", _repositories.list_repositories,
          "listRepositories", "List repositories of the specified project", "repository",
          response="[Repository]", params=(PROJECT,), query=LISTING, paged=True),
    Route("GET", _REPO, _repositories.get_repository, "getRepository",
          "Get the repository specified by name", "repository", response="Repository",
          params=(PROJECT, REPOSITORY)),
    Route("PUT", _REPO, _repositories.update_repository, "updateRepository",
          "Update the repository's description", "repository",
          params=(PROJECT, REPOSITORY), body="Repository"),
    Route("DELETE", _REPO, _repositories.delete_repository, "deleteRepository",
          "Delete the repository: every artifact and tag in it", "repository",
          params=(PROJECT, REPOSITORY)),
    Route("GET", _REPO + "/artifacts", _artifacts.list_artifacts, "listArtifacts",
          'List artifacts; q supports tags=*, tags=nil, tags=v, tags=~v, tags={a b}, '
          'tags=(a b), digest=…, push_time=[min~max], labels=(id1 id2)', "artifact", response="[Artifact]",
          params=(PROJECT, REPOSITORY),
          query=(*LISTING, WITH_TAG, WITH_LABEL, WITH_IMMUTABLE, WITH_ACCESSORY, WITH_SCAN,
                 WITH_SBOM, WITH_INHERITED),
          paged=True),
    Route("GET", _P + "/artifacts", _artifacts.list_artifacts_of_project,
          "listArtifactsOfProject", "List artifacts of the specified project (q, sort and "
          "flags as listArtifacts)", "artifact", response="[Artifact]", params=(PROJECT_REF,),
          query=(*LISTING, WITH_TAG, WITH_LABEL, WITH_IMMUTABLE, WITH_ACCESSORY, WITH_SCAN,
                 WITH_SBOM, WITH_INHERITED,
                 QueryParam("latest_in_repository", "Accepted as Harbor's (it applies only "
                            "with an artifact_type or media_type filter)", "boolean", False)),
          paged=True),
    Route("GET", _ARTIFACT, _artifacts.get_artifact, "getArtifact",
          "Get the artifact specified by a digest or a tag", "artifact", response="Artifact",
          params=(PROJECT, REPOSITORY, REFERENCE),
          query=(PAGE, PAGE_SIZE, WITH_TAG, WITH_LABEL, WITH_IMMUTABLE, WITH_ACCESSORY,
                 WITH_SCAN, WITH_SBOM, WITH_INHERITED, WITH_SIGNATURE)),
    Route("DELETE", _ARTIFACT, _artifacts.delete_artifact, "deleteArtifact",
          "Delete the artifact specified by a digest or a tag, with all its tags", "artifact",
          params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("GET", _ARTIFACT + "/tags", _artifacts.list_tags, "listTags",
          "List tags of the specific artifact", "artifact", response="[Tag]",
          params=(PROJECT, REPOSITORY, REFERENCE), query=(*LISTING, WITH_IMMUTABLE), paged=True),
    Route("POST", _ARTIFACT + "/tags", _artifacts.create_tag, "createTag",
          "Create a tag for the specified artifact", "artifact", status=201,
          params=(PROJECT, REPOSITORY, REFERENCE), body="NewTag"),
    Route("DELETE", _ARTIFACT + "/tags/{tag_name}", _artifacts.delete_tag, "deleteTag",
          "Delete the tag of the specified artifact", "artifact",
          params=(PROJECT, REPOSITORY, REFERENCE, TAG)),
    Route("POST", _ARTIFACT + "/labels", _labels.add_artifact_label, "addLabel",
          "Add label to the specified artiact (the body's id names a global label or one of "
          "the project's)", "artifact", params=(PROJECT, REPOSITORY, REFERENCE), body="Label"),
    Route("DELETE", _ARTIFACT + "/labels/{label_id}", _labels.remove_artifact_label,
          "removeLabel", "Remove the label from the specified artiact.", "artifact",
          params=(PROJECT, REPOSITORY, REFERENCE, ARTIFACT_LABEL)),
    Route("GET", _ARTIFACT + "/accessories", _additions.list_accessories, "listAccessories",
          "List accessories of the specific artifact (signatures, attestations, SBOMs)",
          "artifact", response="[Accessory]", params=(PROJECT, REPOSITORY, REFERENCE),
          query=PAGING, paged=True),
    Route("GET", _ARTIFACT + "/additions/vulnerabilities", _additions.get_vulnerabilities,
          "getVulnerabilitiesAddition", "Get the vulnerabilities addition of the specific "
          "artifact (412 when the registry does not scan)", "artifact", response="json",
          params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("POST", _ARTIFACT + "/scan", _scans.scan_artifact, "scanArtifact",
          "Scan the artifact (an index: its images) again now; 202 once queued (412 when the "
          "registry does not scan)", "scan", status=202, params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("POST", _ARTIFACT + "/scan/stop", _scans.stop_scan_artifact, "stopScanArtifact",
          "Cancelling a scan job for a particular artifact (its reports turn Stopped; 400 when "
          "it was never scanned)", "scan", status=202, params=(PROJECT, REPOSITORY, REFERENCE),
          body="ScanType"),
    Route("GET", _ARTIFACT + "/additions/{addition}", _additions.get_addition, "getAddition",
          "Get the addition of the specific artifact: an image's build_history or sbom",
          "artifact", response="json", params=(PROJECT, REPOSITORY, REFERENCE, ADDITION),
          query=(SBOM_FORMAT,)),
    # the artifact page's reads (dockyard extensions)
    Route("GET", _ARTIFACT + "/layers", _additions.get_layers, "getArtifactLayers",
          "dockyard extension: the image's layers with the command that made each, and its "
          "config", "artifact", response="object", params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("GET", _ARTIFACT + "/files", _additions.get_files, "getArtifactFiles",
          "dockyard extension: a directory of one layer, or of the filesystem the layers "
          "build with wasted bytes marked", "artifact", response="object",
          params=(PROJECT, REPOSITORY, REFERENCE), query=FILES_QUERY),
    Route("GET", _ARTIFACT + "/packages", _additions.get_packages, "getArtifactPackages",
          "dockyard extension: the packages of the image's SBOM", "artifact",
          response="[object]", params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("GET", _ARTIFACT + "/referrers", _additions.get_referrers, "getArtifactReferrers",
          "dockyard extension: what refers to the artifact, each signature and attestation "
          "with its verification state", "artifact", response="[object]",
          params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("GET", _ARTIFACT + "/compare", _comparison.get_comparison, "compareArtifacts",
          "dockyard extension: how the artifact `with` names differs from this one: layers, "
          "files and config (as dockyard diff), packages, vulnerabilities fixed and "
          "introduced", "artifact", response="object", params=(PROJECT, REPOSITORY, REFERENCE),
          query=(COMPARE_WITH,)),
    # promotion (a dockyard extension)
    Route("POST", _ARTIFACT + "/promote", _promotion.promote, "promoteArtifact",
          "dockyard extension: move a tag (e.g. prod) to this artifact if every gate holds "
          "(the project's promotion policies and the request's)", "promotion",
          response="Promotion", params=(PROJECT, REPOSITORY, REFERENCE),
          body="PromotionRequest"),
    Route("GET", _P + "/promotion_policies", _promotion.list_policies, "listPromotionPolicies",
          "dockyard extension: the project's tags that require gates", "promotion",
          response="[PromotionPolicy]", params=(PROJECT_REF,)),
    Route("POST", _P + "/promotion_policies", _promotion.create_policy,
          "createPromotionPolicy", "dockyard extension: make tags require gates", "promotion",
          status=201, params=(PROJECT_REF,), body="PromotionPolicy"),
    Route("GET", _P + "/promotion_policies/{id}", _promotion.get_policy,
          "getPromotionPolicy", "dockyard extension: one promotion policy", "promotion",
          response="PromotionPolicy", params=(PROJECT_REF, POLICY)),
    Route("PUT", _P + "/promotion_policies/{id}", _promotion.replace_policy,
          "updatePromotionPolicy", "dockyard extension: replace a promotion policy",
          "promotion", params=(PROJECT_REF, POLICY), body="PromotionPolicy"),
    Route("DELETE", _P + "/promotion_policies/{id}", _promotion.delete_policy,
          "deletePromotionPolicy", "dockyard extension: delete a promotion policy",
          "promotion", params=(PROJECT_REF, POLICY)),
    # projects
    Route("GET", "/projects", _projects.list_projects, "listProjects",
          "List projects: public ones, the caller's, or (system administrators) all", "project",
          response="[Project]", query=(*LISTING, *PROJECT_FILTERS), paged=True),
    Route("HEAD", "/projects", _projects.head_project, "headProject",
          "Check if the project name user provided already exists", "project",
          query=(QueryParam("project_name", "Project name for checking exists."),)),
    Route("POST", "/projects", _projects.create_project, "createProject",
          "Create a new project (Location: its id, or its name with "
          "X-Resource-Name-In-Location: true)", "project", status=201, body="ProjectReq"),
    Route("GET", _P, _projects.get_project, "getProject", "Return specific project detail "
          "information", "project", response="Project", params=(PROJECT_REF,)),
    Route("PUT", _P, _projects.update_project, "updateProject",
          "Update the project's metadata", "project", params=(PROJECT_REF,), body="ProjectReq"),
    Route("DELETE", _P, _projects.delete_project, "deleteProject",
          "Delete a project without repositories", "project", params=(PROJECT_REF,)),
    Route("GET", _P + "/_deletable", _projects.get_project_deletable, "getProjectDeletable",
          "Get the deletable status of the project", "project", response="ProjectDeletable",
          params=(PROJECT_REF,)),
    Route("GET", _P + "/summary", _projects.get_project_summary, "getProjectSummary",
          "Get summary of the project", "project", response="ProjectSummary",
          params=(PROJECT_REF,)),
    Route("GET", "/projects/{project_name}/logs", _audit.list_project_logs, "getLogs",
          "Get recent logs of the projects", "project", response="[AuditLog]",
          params=(PROJECT,), query=LISTING, paged=True),
    Route("GET", "/projects/{project_name}/auditlog-exts", _audit_ext.list_project_log_exts,
          "getLogExts", "Get recent logs of the projects, with each operation's result",
          "project", response="[AuditLogExt]", params=(PROJECT,), query=LISTING, paged=True),
    # project metadata
    Route("GET", _P + "/metadatas/", _metadatas.list_metadatas, "listProjectMetadatas",
          "Get the metadata of the specific project", "projectMetadata", response="object",
          params=(PROJECT_REF,)),
    Route("POST", _P + "/metadatas/", _metadatas.add_metadatas, "addProjectMetadatas",
          "Add metadata for the specific project (one key)", "projectMetadata",
          params=(PROJECT_REF,), body="object"),
    Route("GET", _META, _metadatas.get_metadata, "getProjectMetadata",
          "Get the specific metadata of the specific project", "projectMetadata",
          response="object", params=(PROJECT_REF, META)),
    Route("PUT", _META, _metadatas.update_metadata, "updateProjectMetadata",
          "Update the specific metadata for the specific project", "projectMetadata",
          params=(PROJECT_REF, META), body="object"),
    Route("DELETE", _META, _metadatas.delete_metadata, "deleteProjectMetadata",
          "Delete the specific metadata for the specific project", "projectMetadata",
          params=(PROJECT_REF, META)),
    # immutable tag rules
    Route("GET", _P + "/immutabletagrules", _immutable.list_rules, "ListImmuRules",
          "List all immutable tag rules of current project", "immutable",
          response="[ImmutableRule]", params=(PROJECT_REF,), query=(*PAGING, Q, SORT),
          paged=True),
    Route("POST", _P + "/immutabletagrules", _immutable.create_rule, "CreateImmuRule",
          "Add an immutable tag rule to current project", "immutable", status=201,
          params=(PROJECT_REF,), body="ImmutableRule"),
    Route("PUT", _P + "/immutabletagrules/{immutable_rule_id}", _immutable.update_rule,
          "UpdateImmuRule", "Update the immutable tag rule or enable or disable the rule",
          "immutable", params=(PROJECT_REF, IMMUTABLE_RULE), body="ImmutableRule"),
    Route("DELETE", _P + "/immutabletagrules/{immutable_rule_id}", _immutable.delete_rule,
          "DeleteImmuRule", "Delete the immutable tag rule.", "immutable",
          params=(PROJECT_REF, IMMUTABLE_RULE)),
    # members
    Route("GET", _P + "/members", _members.list_members, "listProjectMembers",
          "Get all project member information", "member", response="[ProjectMemberEntity]",
          params=(PROJECT_REF,), paged=True,
          query=(*PAGING, QueryParam("entityname", "The entity name to search."))),
    Route("POST", _P + "/members", _members.create_member, "createProjectMember",
          "Create project member", "member", status=201, params=(PROJECT_REF,),
          body="ProjectMember"),
    Route("GET", _MEMBER, _members.get_member, "getProjectMember",
          "Get the project member information", "member", response="ProjectMemberEntity",
          params=(PROJECT_REF, MEMBER)),
    Route("PUT", _MEMBER, _members.update_member, "updateProjectMember",
          "Update project member", "member", params=(PROJECT_REF, MEMBER), body="RoleRequest"),
    Route("DELETE", _MEMBER, _members.delete_member, "deleteProjectMember",
          "Delete project member", "member", params=(PROJECT_REF, MEMBER)),
    # users (the fixed paths before /users/{user_id})
    Route("GET", "/users/current", _users.current_user, "getCurrentUserInfo",
          "Get current user info.", "user", response="UserResp"),
    Route("GET", "/users/current/permissions", _permissions.current_permissions,
          "getCurrentUserPermissions", "Get current user permissions.", "user",
          response="[Permission]",
          query=(QueryParam("scope", "The scope for the permission, e.g. /project/1"),
                 QueryParam("relative", "If true, the resources in the response are relative "
                            "to the scope", "boolean", False))),
    Route("GET", "/users/search", _users.search_users, "searchUsers",
          "Search users by username", "user", response="[UserSearchRespItem]", paged=True,
          query=(*PAGING, QueryParam("username", "Username for filtering results."))),
    Route("GET", "/users", _users.list_users, "listUsers", "List users", "user",
          response="[UserResp]", query=LISTING, paged=True),
    Route("POST", "/users", _users.create_user, "createUser",
          "Create a local user (system administrators)", "user", status=201,
          body="UserCreationReq"),
    Route("GET", _USER, _users.get_user, "getUser", "Get a user's profile.", "user",
          response="UserResp", params=(USER,)),
    Route("PUT", _USER, _users.update_profile, "updateUserProfile",
          "Update user's profile.", "user", params=(USER,), body="UserProfile"),
    Route("DELETE", _USER, _users.delete_user, "deleteUser",
          "Mark a registered user as be removed.", "user", params=(USER,)),
    Route("PUT", _USER + "/password", _users.update_password, "updateUserPassword",
          "Change the password on a user that already exists.", "user", params=(USER,),
          body="PasswordReq"),
    Route("PUT", _USER + "/sysadmin", _users.set_sysadmin, "setUserSysAdmin",
          "Update a registered user to change to be an administrator of Harbor.", "user",
          params=(USER,), body="UserSysAdminFlag"),
    Route("PUT", _USER + "/cli_secret", _users.set_cli_secret, "setCliSecret",
          "Set the user's CLI secret (a made-up one, when empty, is answered once)", "user",
          response="OIDCCliSecretReq", params=(USER,), body="OIDCCliSecretReq"),
    # robots
    Route("GET", "/robots", _robots.list_robots, "ListRobot",
          "Get robot account (q=Level=system, or q=Level=project,ProjectID=1)", "robot",
          response="[Robot]", query=LISTING, paged=True),
    Route("POST", "/robots", _robots.create_robot, "CreateRobot",
          "Create a robot account (its secret is answered once)", "robot", status=201,
          response="RobotCreated", body="RobotCreate"),
    Route("GET", _ROBOT, _robots.get_robot, "GetRobotByID", "Get a robot account",
          "robot", response="Robot", params=(ROBOT,)),
    Route("PUT", _ROBOT, _robots.update_robot, "UpdateRobot", "Update a robot account",
          "robot", params=(ROBOT,), body="Robot"),
    Route("PATCH", _ROBOT, _robots.refresh_secret, "RefreshSec",
          "Refresh the robot secret (a made-up one is answered once)", "robot",
          response="RobotSec", params=(ROBOT,), body="RobotSec"),
    Route("DELETE", _ROBOT, _robots.delete_robot, "DeleteRobot", "Delete a robot account",
          "robot", params=(ROBOT,)),
    # quotas
    Route("GET", "/quotas", _quotas.list_quotas, "listQuotas", "List quotas", "quota",
          response="[Quota]", paged=True,
          query=(*PAGING,
                 QueryParam("reference", "The reference type of quota (project)."),
                 QueryParam("reference_id", "The reference id of quota (a project id)."),
                 QueryParam("sort", 'Sort keys: id, creation_time, update_time, hard.storage, '
                            'used.storage, e.g. "-used.storage"'))),
    Route("GET", "/quotas/{id}", _quotas.get_quota, "getQuota",
          "Get the specified quota", "quota", response="Quota", params=(QUOTA,)),
    Route("PUT", "/quotas/{id}", _quotas.update_quota, "updateQuota",
          "Update the specified quota", "quota", params=(QUOTA,), body="QuotaUpdateReq"),
    # audit logs
    Route("GET", "/audit-logs", _audit.list_audit_logs, "listAuditLogs",
          "Get recent logs of the projects which the user is a member with project admin "
          "role, or all for system administrators", "auditlog", response="[AuditLog]",
          query=LISTING, paged=True),
    Route("GET", "/auditlog-exts", _audit_ext.list_audit_log_exts, "listAuditLogExts",
          "Get recent logs, with each operation's result (q also takes op_result=true|false), "
          "of the projects whose logs the user may list, or all for system administrators",
          "auditlog", response="[AuditLogExt]", paged=True,
          query=(*LISTING, QueryParam(
              "bucket", "dockyard: instead of the entries, count them per operation and per "
              "this many seconds of the q's op_time=[start~end] range", "integer"))),
    Route("GET", "/auditlog-exts/events", _audit_ext.list_audit_log_event_types,
          "listAuditLogEventTypes", "Get all event types of audit log", "auditlog",
          response="[AuditLogEventType]"),
    # tag retention
    Route("GET", "/retentions/metadatas", _retentions.get_metadatas, "getRentenitionMetadata",
          "Get Retention Metadatas", "Retention", response="RetentionMetadata"),
    Route("POST", "/retentions", _retentions.create_retention, "createRetention",
          "Create Retention Policy (one per project; the project's retention_id names it)",
          "Retention", status=201, body="RetentionPolicy"),
    Route("GET", _RET, _retentions.get_retention, "getRetention", "Get Retention Policy",
          "Retention", response="RetentionPolicy", params=(RETENTION,)),
    Route("PUT", _RET, _retentions.update_retention, "updateRetention",
          "Update Retention Policy", "Retention", params=(RETENTION,), body="RetentionPolicy"),
    Route("DELETE", _RET, _retentions.delete_retention, "deleteRetention",
          "Delete Retention Policy", "Retention", params=(RETENTION,)),
    Route("POST", _RET + "/executions", _retentions.trigger_execution,
          "triggerRetentionExecution", "Trigger a Retention Execution, if dry_run is True, "
          "nothing would be deleted actually.", "Retention", status=201, params=(RETENTION,),
          body="object"),
    Route("GET", _RET + "/executions", _retentions.list_executions, "listRetentionExecutions",
          "Get Retention executions", "Retention", response="[RetentionExecution]",
          params=(RETENTION,), query=PAGING, paged=True),
    Route("PATCH", _RET_EXEC, _retentions.operate_execution, "operateRetentionExecution",
          'Stop a Retention execution, only support "stop" action now.', "Retention",
          params=(RETENTION, RETENTION_EXEC), body="object"),
    Route("GET", _RET_EXEC + "/tasks", _retentions.list_tasks, "listRetentionTasks",
          "Get Retention tasks, each repository as a task.", "Retention",
          response="[RetentionExecutionTask]", params=(RETENTION, RETENTION_EXEC),
          query=PAGING, paged=True),
    Route("GET", _RET_EXEC + "/tasks/{tid}", _retentions.get_task_log, "getRetentionTaskLog",
          "Get Retention job task log, tags ratain or deletion detail will be shown in a "
          "table.", "Retention", response="string",
          params=(RETENTION, RETENTION_EXEC, RETENTION_TASK)),
    # garbage collection (/system/gc/schedule before /system/gc/{gc_id})
    Route("GET", "/system/gc", _gc.get_gc_history, "getGCHistory", "Get gc results.", "gc",
          response="[GCHistory]", query=LISTING, paged=True),
    Route("GET", "/system/gc/schedule", _gc.get_gc_schedule, "getGCSchedule",
          "Get gc's schedule (no body when none is set).", "gc", response="GCHistory"),
    Route("POST", "/system/gc/schedule", _gc.create_gc_schedule, "createGCSchedule",
          "Create a gc schedule; type Manual runs one now (Location: the run), None removes "
          "the schedule. parameters: delete_untagged, dry_run, workers (1-10), time_window "
          "(hours)", "gc", status=201, body="Schedule"),
    Route("PUT", "/system/gc/schedule", _gc.update_gc_schedule, "updateGCSchedule",
          "Update gc's schedule (as POST)", "gc", body="Schedule"),
    Route("GET", "/system/gc/{gc_id}", _gc.get_gc, "getGC", "Get gc status.", "gc",
          response="GCHistory", params=(GC_ID,)),
    Route("PUT", "/system/gc/{gc_id}", _gc.stop_gc, "stopGC",
          "Stop the specific GC execution (after its current batch)", "gc", params=(GC_ID,)),
    Route("GET", "/system/gc/{gc_id}/log", _gc.get_gc_log, "getGCLog", "Get gc job log.",
          "gc", response="string", params=(GC_ID,)),
    # the dashboard's vulnerability chart (Harbor's /security/summary counts vulnerabilities,
    # system-wide, for system administrators)
    Route("GET", "/vulnerabilities/summary", _summary.get_vulnerability_summary,
          "getVulnerabilitySummary", "dockyard extension: the artifacts of the caller's "
          "projects counted by their worst vulnerability (an index by its images'), in "
          "SecuritySummary's field names; 412 when the registry does not scan", "securityhub",
          response="object"),
    # scan all (Harbor's scanAll)
    Route("GET", "/scans/all/metrics", _scanall.get_scan_all_metrics, "getLatestScanAllMetrics",
          "Get the metrics of the latest scan all process", "scanAll", response="Stats"),
    Route("GET", "/system/scanAll/schedule", _scanall.get_scan_all_schedule,
          "getScanAllSchedule", "Get scan all's schedule (type None when none is set).",
          "scanAll", response="Schedule"),
    Route("POST", "/system/scanAll/schedule", _scanall.create_scan_all_schedule,
          "createScanAllSchedule", "Create a schedule or a manual trigger for the scan all "
          "job; type Manual scans every image now, None removes the schedule", "scanAll",
          status=201, body="Schedule"),
    Route("POST", "/system/scanAll/stop", _scanall.stop_scan_all, "stopScanAll",
          "Stop scanAll job execution (its unfinished scans turn Stopped; 400 when there never "
          "was one)", "scanAll", status=202),
    Route("PUT", "/system/scanAll/schedule", _scanall.update_scan_all_schedule,
          "updateScanAllSchedule", "Update scan all's schedule (as POST)", "scanAll",
          body="Schedule"),
    # webhooks
    Route("GET", _HOOK, _webhooks.list_policies, "ListWebhookPoliciesOfProject",
          "List project webhook policies.", "webhook", response="[WebhookPolicy]",
          params=(PROJECT_REF,), query=(SORT, Q, PAGE, PAGE_SIZE), paged=True),
    Route("POST", _HOOK, _webhooks.create_policy, "CreateWebhookPolicyOfProject",
          "Create project webhook policy (secret: dockyard's write-only HMAC key)", "webhook",
          status=201, params=(PROJECT_REF,), body="WebhookPolicy"),
    Route("GET", _HOOK + "/{webhook_policy_id}", _webhooks.get_policy,
          "GetWebhookPolicyOfProject", "Get project webhook policy", "webhook",
          response="WebhookPolicy", params=(PROJECT_REF, HOOK)),
    Route("PUT", _HOOK + "/{webhook_policy_id}", _webhooks.update_policy,
          "UpdateWebhookPolicyOfProject", "Update webhook policy of a project.", "webhook",
          params=(PROJECT_REF, HOOK), body="WebhookPolicy"),
    Route("DELETE", _HOOK + "/{webhook_policy_id}", _webhooks.delete_policy,
          "DeleteWebhookPolicyOfProject", "Delete webhook policy of a project", "webhook",
          params=(PROJECT_REF, HOOK)),
    Route("GET", _HOOK_EXEC, _webhooks.list_executions, "ListExecutionsOfWebhookPolicy",
          "List executions for a specific webhook policy", "webhook", response="[Execution]",
          params=(PROJECT_REF, HOOK), query=PAGING, paged=True),
    Route("GET", _HOOK_EXEC + "/{execution_id}/tasks", _webhooks.list_tasks,
          "ListTasksOfWebhookExecution", "List tasks for a specific webhook execution",
          "webhook", response="[Task]", params=(PROJECT_REF, HOOK, EXECUTION), query=PAGING,
          paged=True),
    Route("GET", _HOOK_EXEC + "/{execution_id}/tasks/{task_id}/log", _webhooks.task_log,
          "GetLogsOfWebhookTask", "Get logs for a specific webhook task", "webhook",
          response="string", params=(PROJECT_REF, HOOK, EXECUTION, TASK)),
    Route("GET", _P + "/webhook/lasttrigger", _webhooks.last_trigger, "LastTrigger",
          "Get project webhook policy last trigger info (deprecated in Harbor)", "webhook",
          response="[WebhookLastTrigger]", params=(PROJECT_REF,)),
    Route("GET", _P + "/webhook/events", _webhooks.supported_events, "GetSupportedEventTypes",
          "Get supported event types and notify types.", "webhook",
          response="SupportedWebhookEventTypes", params=(PROJECT_REF,)),
    # endpoint registries and replication (system administrators)
    Route("GET", "/registries", _registries.list_registries, "listRegistries",
          "List the registries", "registry", response="[Registry]", query=(*LISTING, NAME),
          paged=True),
    Route("POST", "/registries", _registries.create_registry, "createRegistry",
          "Create a registry (its credential's secret is written, never answered)",
          "registry", status=201, body="Registry"),
    Route("POST", "/registries/ping", _registries.ping_registry, "pingRegistry",
          "Check status of a registry (400 saying why it cannot be reached)", "registry",
          body="RegistryPing"),
    Route("GET", _REGISTRY, _registries.get_registry, "getRegistry", "Get the specific "
          "registry", "registry", response="Registry", params=(REGISTRY_ID,)),
    Route("PUT", _REGISTRY, _registries.update_registry, "updateRegistry",
          "Update the registry (a blank access_secret keeps the stored one)", "registry",
          params=(REGISTRY_ID,), body="RegistryUpdate"),
    Route("DELETE", _REGISTRY, _registries.delete_registry, "deleteRegistry",
          "Delete the specific registry (412 while a policy uses it)", "registry",
          params=(REGISTRY_ID,)),
    Route("GET", _REGISTRY + "/info", _registries.get_registry_info, "getRegistryInfo",
          "Get the registry info", "registry", response="RegistryInfo",
          params=(REGISTRY_ID,)),
    Route("GET", "/replication/adapters", _registries.list_adapters,
          "listRegistryProviderTypes", "List registry adapters", "replication",
          response="[string]"),
    Route("GET", "/replication/policies", _replication.list_policies,
          "listReplicationPolicies", "List replication policies", "replication",
          response="[ReplicationPolicy]", query=(*LISTING, NAME), paged=True),
    Route("POST", "/replication/policies", _replication.create_policy,
          "createReplicationPolicy", "Create a replication policy (push: "
          "dest_registry; pull: src_registry)", "replication", status=201,
          body="ReplicationPolicy"),
    Route("GET", _REP_POLICY, _replication.get_policy, "getReplicationPolicy",
          "Get the specific replication policy", "replication",
          response="ReplicationPolicy", params=(REP_POLICY,)),
    Route("PUT", _REP_POLICY, _replication.update_policy, "updateReplicationPolicy",
          "Update the replication policy", "replication", params=(REP_POLICY,),
          body="ReplicationPolicy"),
    Route("DELETE", _REP_POLICY, _replication.delete_policy, "deleteReplicationPolicy",
          "Delete the specific replication policy (its pending tasks are stopped)",
          "replication", params=(REP_POLICY,)),
    Route("GET", "/replication/executions", _replication.list_executions,
          "listReplicationExecutions", "List replication executions", "replication",
          response="[ReplicationExecution]", paged=True,
          query=(SORT, PAGE, PAGE_SIZE,
                 QueryParam("policy_id", "The ID of the policy that the executions belong "
                            "to.", "integer"),
                 QueryParam("status", "The execution status."),
                 QueryParam("trigger", "The trigger mode."))),
    Route("POST", "/replication/executions", _replication.start_execution,
          "startReplication", "Start one replication execution", "replication",
          status=201, body="StartReplicationExecution"),
    Route("GET", _REP_EXEC, _replication.get_execution, "getReplicationExecution",
          "Get one specific replication execution", "replication",
          response="ReplicationExecution", params=(REP_EXEC,)),
    Route("PUT", _REP_EXEC, _replication.stop_execution, "stopReplication",
          "Stop the specific replication execution", "replication", params=(REP_EXEC,)),
    Route("GET", _REP_EXEC + "/tasks", _replication.list_tasks, "listReplicationTasks",
          "List replication tasks for a specific execution", "replication",
          response="[ReplicationTask]", params=(REP_EXEC,), paged=True,
          query=(SORT, PAGE, PAGE_SIZE, QueryParam("status", "The task status."),
                 QueryParam("resource_type", "The resource type."))),
    Route("GET", _REP_EXEC + "/tasks/{task_id}/log", _replication.task_log,
          "getReplicationLog", "Get the log of the specific replication task",
          "replication", response="string", params=(REP_EXEC, REP_TASK)),
    # labels (global: system administrators; project: the project's label permissions)
    Route("GET", "/labels", _labels.list_labels, "ListLabels",
          "List labels by name, scope (g or p) and project_id; q takes name=v and name=~v",
          "label", response="[Label]", query=(*LISTING, *LABEL_QUERY), paged=True),
    Route("POST", "/labels", _labels.create_label, "CreateLabel", "Post creates a label",
          "label", status=201, body="Label"),
    Route("GET", "/labels/{label_id}", _labels.get_label, "GetLabelByID",
          "Get the label specified by ID.", "label", response="Label", params=(LABEL,)),
    Route("PUT", "/labels/{label_id}", _labels.update_label, "UpdateLabel",
          "Update the label properties (name, description, color).", "label",
          params=(LABEL,), body="Label"),
    Route("DELETE", "/labels/{label_id}", _labels.delete_label, "DeleteLabel",
          "Delete the label specified by ID (and take it off every artifact).", "label",
          params=(LABEL,)),
    Route("GET", "/swagger.json", _openapi.get_swagger, "getSwagger",
          "This API's own description (Swagger 2.0)", "swagger", response="object"),
]  # fmt: skip
