"""The route table: every operation of ``/api/v2.0`` dockyard serves (swagger.json is built
from it)."""

from __future__ import annotations

from dockyard.registry.harbor import _artifacts, _openapi, _repositories, _system
from dockyard.registry.harbor._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from dockyard.registry.harbor._router import PathParam, QueryParam, Route

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

_REPO = "/projects/{project_name}/repositories/{repository_name}"
_ARTIFACT = _REPO + "/artifacts/{reference}"

ROUTES: list[Route] = [
    Route("GET", "/ping", _system.get_ping, "getPing", "Ping the API server", "ping",
          response="string"),
    Route("GET", "/health", _system.get_health, "getHealth",
          "Check the status of the registry's components", "health",
          response="OverallHealthStatus"),
    Route("GET", "/systeminfo", _system.get_systeminfo, "getSystemInfo",
          "Get general system info", "systeminfo", response="GeneralInfo"),
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
          'tags=(a b), digest=…, push_time=[min~max]', "artifact", response="[Artifact]",
          params=(PROJECT, REPOSITORY), query=(*LISTING, WITH_TAG, WITH_LABEL), paged=True),
    Route("GET", _ARTIFACT, _artifacts.get_artifact, "getArtifact",
          "Get the artifact specified by a digest or a tag", "artifact", response="Artifact",
          params=(PROJECT, REPOSITORY, REFERENCE), query=(WITH_TAG, WITH_LABEL)),
    Route("DELETE", _ARTIFACT, _artifacts.delete_artifact, "deleteArtifact",
          "Delete the artifact specified by a digest or a tag, with all its tags", "artifact",
          params=(PROJECT, REPOSITORY, REFERENCE)),
    Route("GET", _ARTIFACT + "/tags", _artifacts.list_tags, "listTags",
          "List tags of the specific artifact", "artifact", response="[Tag]",
          params=(PROJECT, REPOSITORY, REFERENCE), query=LISTING, paged=True),
    Route("POST", _ARTIFACT + "/tags", _artifacts.create_tag, "createTag",
          "Create a tag for the specified artifact", "artifact", status=201,
          params=(PROJECT, REPOSITORY, REFERENCE), body="NewTag"),
    Route("DELETE", _ARTIFACT + "/tags/{tag_name}", _artifacts.delete_tag, "deleteTag",
          "Delete the tag of the specified artifact", "artifact",
          params=(PROJECT, REPOSITORY, REFERENCE, TAG)),
    Route("GET", "/swagger.json", _openapi.get_swagger, "getSwagger",
          "This API's own description (Swagger 2.0)", "swagger", response="object"),
]  # fmt: skip
