"""``/api/v2.0`` of a real ``dockyard registry serve`` process, with images pushed by skopeo:
every answer checked against Harbor's swagger definitions (held strictly), paging at its
boundaries, hostile names and queries, and deletes that skopeo then sees."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from _infra import backend, run_command
from _infra.harbor_api import check_error, check_list, check_one, validate
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import RegistryProcess, push_image, start_registry
from dockyard.registry.auth import htpasswd_line

pytestmark = pytest.mark.slow

API = "/api/v2.0"
MANY = 12  # repositories in project "many", for paging


def _layout(root: Path, seed: str) -> Path:
    where = root / f"layout-{seed}"
    oci_layout(where, [gzip_tar(f"{seed}.txt", seed.encode() * 50)])
    return where


def _skopeo_push(layout: Path, host: str, ref: str) -> None:
    run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
         f"oci:{layout}:t", f"docker://{host}/{ref}"],
        timeout=120,
    )  # fmt: skip


def _skopeo_inspect(host: str, ref: str) -> subprocess.CompletedProcess[str]:
    return run_command(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{ref}"],
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    root = tmp_path_factory.mktemp("harbor")
    env = {"REGISTRY_STORAGE_DELETE_ENABLED": "true"}
    with start_registry(root / "data", env=env) as server:
        a, b = _layout(root, "a"), _layout(root, "b")
        for layout, ref in [
            (a, "team/app:v1"), (a, "team/app:latest"), (b, "team/app:v2"),
            (a, "team/sub/deep:v1"),
            (a, "del/tag:v1"), (a, "del/tag:keep"), (b, "del/art:v1"), (b, "del/art:v1b"),
            (a, "del/art:other"), (a, "del/repo:v1"),
        ]:  # fmt: skip
            _skopeo_push(layout, server.host, ref)
        with httpx.Client(base_url=server.url) as client:
            for i in range(MANY):
                push_image(client, f"many/r{i:02d}", "v1", seed=f"m{i}")
        yield server


@pytest.fixture
def api(served: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url + API, timeout=30) as client:
        yield client


def test_ping_health_systeminfo_and_request_ids(api: httpx.Client) -> None:
    r = api.get("/ping", headers={"X-Request-Id": "abc-123"})
    assert (r.status_code, r.text, r.headers["x-request-id"]) == (200, "Pong", "abc-123")
    assert r.headers["content-type"].startswith("text/plain")
    health = check_one(api.get("/health"), "OverallHealthStatus")
    assert health["status"] == "healthy"
    assert {c["name"] for c in health["components"]} == {"core", "database", "registry"}
    info = check_one(api.get("/systeminfo"), "GeneralInfo")
    assert info["harbor_version"] and info["read_only"] is False
    assert info["registry_url"] == api.base_url.netloc.decode()
    # a fresh id for each request without one; an insane one is replaced
    first, second = api.get("/ping"), api.get("/ping", headers={"X-Request-Id": "x" * 500})
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(second.headers["x-request-id"]) == 36


def test_project_repositories_page_by_page(api: httpx.Client) -> None:
    path = f"{API}/projects/many/repositories"
    seen: list[str] = []
    r = api.get("/projects/many/repositories", params={"page_size": 5, "sort": "name"})
    for number in (1, 2, 3):
        items = check_list(r, "Repository")
        assert r.headers["x-total-count"] == str(MANY)
        seen += [i["name"] for i in items]
        prev = f'<{path}?page={number - 1}&page_size=5&sort=name>; rel="prev"'
        nxt = f'<{path}?page={number + 1}&page_size=5&sort=name>; rel="next"'
        expected = {1: nxt, 2: f"{prev} , {nxt}", 3: prev}[number]
        assert r.headers["link"] == expected
        if number < 3:
            r = api.get(r.headers["link"].split(" , ")[-1][1:].split(">")[0].removeprefix(API))
    assert seen == [f"many/r{i:02d}" for i in range(MANY)]
    # exactly full pages: no next; past the end: empty, counted, no links
    r = api.get("/projects/many/repositories", params={"page_size": 4, "page": 3})
    assert len(check_list(r, "Repository")) == 4 and r.headers["link"].endswith('rel="prev"')
    for page in ("4", str(2**63 - 1)):
        r = api.get("/projects/many/repositories", params={"page_size": 100, "page": page})
        assert check_list(r, "Repository") == [] and r.headers["x-total-count"] == str(MANY)
        assert "link" not in r.headers
    r = api.get("/projects/many/repositories", params={"page_size": 100})
    assert len(check_list(r, "Repository")) == MANY and "link" not in r.headers
    assert len(check_list(api.get("/projects/many/repositories"), "Repository")) == 10


@pytest.mark.parametrize(
    "params",
    [
        {"q": "name"}, {"q": "name=[a~b~c]"}, {"q": "name={a b"}, {"q": "name=" + "a" * 2000},
        {"q": "owner=me"}, {"sort": "password"}, {"sort": "name;drop table repositories"},
    ],
)  # fmt: skip
def test_bad_listing_parameters_are_harbor_bad_requests(
    api: httpx.Client, params: dict[str, str]
) -> None:
    check_error(api.get("/projects/many/repositories", params=params), 400, "BAD_REQUEST")
    check_error(api.get("/repositories", params=params), 400, "BAD_REQUEST")


def test_all_repositories_filtered(api: httpx.Client) -> None:
    r = api.get("/repositories", params={"q": "name=~app", "page_size": 100})
    assert [i["name"] for i in check_list(r, "Repository")] == ["team/app"]
    r = api.get("/repositories", params={"q": "name={team/app del/tag}", "sort": "-name"})
    assert [i["name"] for i in check_list(r, "Repository")] == ["team/app", "del/tag"]
    # an SQL-looking query is only text: no match, no error
    r = api.get("/repositories", params={"q": "name=x' OR '1'='1"})
    assert check_list(r, "Repository") == [] and r.headers["x-total-count"] == "0"
    r = api.get("/repositories", params={"q": "name=~%_"})  # LIKE wildcards are literal
    assert check_list(r, "Repository") == []


def test_repository_get_update_and_double_encoded_names(api: httpx.Client) -> None:
    repo = check_one(api.get("/projects/team/repositories/sub%252Fdeep"), "Repository")
    assert (repo["name"], repo["artifact_count"]) == ("team/sub/deep", 1)
    # encoded once, Harbor's router splits the path: no such endpoint
    check_error(api.get("/projects/team/repositories/sub%2Fdeep"), 404, "NOT_FOUND")
    r = api.put("/projects/team/repositories/app", json={"description": "the app ✓"})
    assert r.status_code == 200 and r.headers["x-request-id"]
    repo = check_one(api.get("/projects/team/repositories/app"), "Repository")
    assert (repo["description"], repo["artifact_count"]) == ("the app ✓", 2)
    check_error(api.put("/projects/team/repositories/app", content=b"[1]"), 400, "BAD_REQUEST")
    check_error(api.put("/projects/team/repositories/app", content=b"{"), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "name",
    ["x' OR 1=1--", "app;DROP TABLE tags", "tëst", "日本", "app%00", "..%2F..%2Fetc", "A"],
)
def test_hostile_and_unicode_names_are_not_found(api: httpx.Client, name: str) -> None:
    encoded = quote(quote(name, safe=""), safe="")
    for path in (
        f"/projects/team/repositories/{encoded}",
        f"/projects/team/repositories/{encoded}/artifacts",
        f"/projects/team/repositories/app/artifacts/{encoded}",
        f"/projects/{encoded}/repositories",
    ):
        check_error(api.get(path), 404, "NOT_FOUND")
    check_error(api.delete(f"/projects/team/repositories/{encoded}"), 404, "NOT_FOUND")


def test_artifacts_tags_and_queries(api: httpx.Client) -> None:
    base = "/projects/team/repositories/app/artifacts"
    items = check_list(api.get(base), "Artifact")
    assert len(items) == 2
    by_tags = {tuple(sorted(t["name"] for t in a["tags"])): a for a in items}
    assert set(by_tags) == {("latest", "v1"), ("v2",)}
    a = by_tags[("latest", "v1")]
    assert a["type"] == "IMAGE" and a["repository_name"] == "team/app"
    assert a["digest"].startswith("sha256:") and a["size"] > 0
    assert a["manifest_media_type"] == "application/vnd.oci.image.manifest.v1+json"
    for q, expected in [("tags=v1", 1), ("tags=~lat", 1), ("tags=*", 2), ("tags=nil", 0),
                        ("tags={v1 v2}", 2), ("tags=(v1 latest)", 1), ("tags=(v1 v2)", 0),
                        (f"digest={a['digest']}", 1),
                        ("push_time=[2000-01-01T00:00:00~]", 2), ("push_time=[~1]", 0)]:  # fmt: skip
        r = api.get(base, params={"q": q})
        assert len(check_list(r, "Artifact")) == expected, q
        assert r.headers["x-total-count"] == str(expected)
    untagged = check_list(api.get(base, params={"with_tag": "false"}), "Artifact")
    assert all("tags" not in x for x in untagged)
    labelled = check_list(api.get(base, params={"with_label": "true"}), "Artifact")
    assert all(x["labels"] == [] for x in labelled)
    check_error(api.get(base, params={"with_tag": "maybe"}), 400, "BAD_REQUEST")
    check_error(api.get(base, params={"q": "tags=[a~b]"}), 400, "BAD_REQUEST")
    # one artifact by tag and by digest: the same
    by_tag = check_one(api.get(f"{base}/v1"), "Artifact")
    by_digest = check_one(api.get(f"{base}/{a['digest']}"), "Artifact")
    assert by_tag == by_digest == a
    check_error(api.get(f"{base}/nope"), 404, "NOT_FOUND")
    check_error(api.get(f"{base}/sha256:{'0' * 64}"), 404, "NOT_FOUND")
    check_error(api.get(f"{base}/sha256:nothex"), 400, "BAD_REQUEST")
    tags = check_list(api.get(f"{base}/v1/tags", params={"sort": "name"}), "Tag")
    assert [t["name"] for t in tags] == ["latest", "v1"]
    r = api.get(f"{base}/v1/tags", params={"page_size": 1, "q": "name=~l"})
    assert [t["name"] for t in check_list(r, "Tag")] == ["latest"]
    assert r.headers["x-total-count"] == "1" and "link" not in r.headers


def test_create_tag_then_pull_it(api: httpx.Client, served: RegistryProcess) -> None:
    base = "/projects/team/repositories/app/artifacts/v2/tags"
    r = api.post(base, json={"name": "release-2"})
    assert r.status_code == 201 and r.content == b"", r.text
    assert r.headers["location"] == f"{API}{base}/release-2"
    assert _skopeo_inspect(served.host, "team/app:release-2").returncode == 0
    check_error(api.post(base, json={"name": "release-2"}), 409, "CONFLICT")
    check_error(api.post(base, json={"name": "v1"}), 409, "CONFLICT")  # on another artifact
    check_error(api.post(base, json={"name": "-bad"}), 400, "BAD_REQUEST")
    check_error(api.post(base, json={"nom": "x"}), 400, "BAD_REQUEST")
    check_error(api.post(base, content=b"x" * (65 << 10)), 413, "REQUEST_ENTITY_TOO_LARGE")
    validate({"name": "release-2"}, {"$ref": "#/definitions/NewTag"})


def test_delete_tag_then_skopeo_cannot_pull_it(api: httpx.Client, served: RegistryProcess) -> None:
    base = "/projects/del/repositories/tag/artifacts"
    # the tag must be on the artifact the path names
    check_error(api.delete(f"{base}/keep/tags/nope"), 404, "NOT_FOUND")
    r = api.delete(f"{base}/keep/tags/v1")
    assert r.status_code == 200, r.text
    failed = _skopeo_inspect(served.host, "del/tag:v1")
    assert failed.returncode != 0 and "manifest unknown" in failed.stderr.lower(), failed.stderr
    assert _skopeo_inspect(served.host, "del/tag:keep").returncode == 0
    check_error(api.get(f"{base}/v1"), 404, "NOT_FOUND")
    check_error(api.delete(f"{base}/keep/tags/v1"), 404, "NOT_FOUND")


def test_delete_artifact_by_tag_removes_every_tag(
    api: httpx.Client, served: RegistryProcess
) -> None:
    base = "/projects/del/repositories/art/artifacts"
    digest = check_one(api.get(f"{base}/v1"), "Artifact")["digest"]
    assert api.delete(f"{base}/v1").status_code == 200
    for ref in ("del/art:v1", "del/art:v1b", f"del/art@{digest}"):
        failed = _skopeo_inspect(served.host, ref)
        assert failed.returncode != 0 and "manifest unknown" in failed.stderr.lower(), ref
    assert _skopeo_inspect(served.host, "del/art:other").returncode == 0
    check_error(api.delete(f"{base}/{digest}"), 404, "NOT_FOUND")
    assert len(check_list(api.get(base), "Artifact")) == 1


def test_delete_repository(api: httpx.Client, served: RegistryProcess) -> None:
    assert api.delete("/projects/del/repositories/repo").status_code == 200
    check_error(api.get("/projects/del/repositories/repo"), 404, "NOT_FOUND")
    check_error(api.delete("/projects/del/repositories/repo"), 404, "NOT_FOUND")
    failed = _skopeo_inspect(served.host, "del/repo:v1")
    assert failed.returncode != 0
    names = [i["name"] for i in check_list(api.get("/projects/del/repositories"), "Repository")]
    assert "del/repo" not in names
    check_error(api.get("/projects/nosuch/repositories"), 404, "NOT_FOUND")


def test_unknown_endpoints_and_methods(api: httpx.Client) -> None:
    check_error(api.get("/scanners"), 404, "NOT_FOUND")  # Harbor has it; dockyard does not
    check_error(api.get("/repositories/extra"), 404, "NOT_FOUND")
    # projects, users, robots … exist only with the access model: 412 here
    check_error(api.get("/projects"), 412, "PRECONDITION")
    r = api.patch("/projects/team/repositories/app")
    check_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "DELETE, GET, PUT"


def test_swagger_json_describes_what_answers(api: httpx.Client) -> None:
    doc = api.get("/swagger.json").json()
    assert doc["basePath"] == API and doc["swagger"] == "2.0"
    # the access model's endpoints (projects, users, robots …) answer 412 without it
    access = {"project", "projectMetadata", "member", "user", "robot", "quota", "auditlog",
              "Retention", "promotion", "immutable", "gc", "webhook", "registry",
              "replication", "scanAll", "securityhub"}  # fmt: skip
    plain = [p for p, ops in doc["paths"].items() if "get" in ops and "{" not in p]
    assert {"/ping", "/health", "/systeminfo", "/repositories", "/swagger.json"} <= set(plain)
    for path, ops in doc["paths"].items():
        concrete = (
            path.replace("{project_name}", "team").replace("{repository_name}", "app")
            .replace("{reference}", "v1").replace("{tag_name}", "latest")
            .replace("{project_name_or_id}", "team").replace("{mid}", "1")
            .replace("{meta_name}", "public").replace("{user_id}", "1")
            .replace("{robot_id}", "1").replace("{id}", "1")
            .replace("{eid}", "1").replace("{tid}", "1").replace("{gc_id}", "1")
            .replace("{webhook_policy_id}", "1").replace("{execution_id}", "1")
            .replace("{task_id}", "1").replace("{addition}", "build_history")
            .replace("{label_id}", "1")
        )  # fmt: skip
        if path.endswith("/compare"):  # `with` is required: v1 with itself
            concrete += "?with=v1"
        if path == "/labels":  # scope is required (g: the global labels)
            concrete += "?scope=g"
        if "get" in ops:
            # a registry that does not scan has no vulnerability reports: 412 too
            unscanned = path.endswith("/additions/vulnerabilities")
            expected = 412 if ops["get"]["tags"][0] in access or unscanned else 200
            if path == "/systeminfo/getcert":  # no root CA to give: 404, as Harbor then
                expected = 404
            if path == "/labels/{label_id}":  # no label 1 yet
                expected = 404
            if path == "/systeminfo/volumes" and backend.cluster():  # blobs on S3: no disk
                expected = 404
            assert api.get(concrete).status_code == expected, concrete


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RegistryProcess]:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(htpasswd_line("alice", "s3cret", cost=4) + "\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "Harbor Realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
    }
    with start_registry(tmp_path / "data", env=env) as server:
        with httpx.Client(base_url=server.url, auth=("alice", "s3cret")) as client:
            push_image(client, "team/app", "v1")
        yield server


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_htpasswd_registry_guards_the_api(guarded: RegistryProcess) -> None:
    with httpx.Client(base_url=guarded.url + API) as api:
        # as in Harbor, anonymous callers list what they may see: here nothing
        r = api.get("/repositories")
        assert check_list(r, "Repository") == [] and r.headers["x-total-count"] == "0"
        r = api.get("/projects/team/repositories")
        check_error(r, 401, "UNAUTHORIZED")
        assert r.headers["www-authenticate"] == 'Basic realm="Harbor Realm"'
        check_error(api.get("/repositories", headers=_basic("alice", "wrong")), 401, "UNAUTHORIZED")
        check_error(api.get("/projects/team/repositories/app/artifacts"), 401, "UNAUTHORIZED")
        check_error(api.delete("/projects/team/repositories/app"), 401, "UNAUTHORIZED")
        # open to everyone, as in Harbor; systeminfo says less to strangers
        assert api.get("/ping").text == "Pong"
        check_one(api.get("/health"), "OverallHealthStatus")
        info = check_one(api.get("/systeminfo"), "GeneralInfo")
        assert "registry_url" not in info and "external_url" not in info
        alice = _basic("alice", "s3cret")
        info = check_one(api.get("/systeminfo", headers=alice), "GeneralInfo")
        assert info["project_creation_restriction"] == "adminonly"
        items = check_list(api.get("/repositories", headers=alice), "Repository")
        assert [i["name"] for i in items] == ["team/app"]
        # storage.delete.enabled is off by default: deletes are refused, nothing changes
        r = api.delete("/projects/team/repositories/app/artifacts/v1", headers=alice)
        check_error(r, 412, "PRECONDITION")
        r = api.delete("/projects/team/repositories/app/artifacts/v1/tags/v1", headers=alice)
        check_error(r, 412, "PRECONDITION")
        check_one(
            api.get("/projects/team/repositories/app/artifacts/v1", headers=alice), "Artifact"
        )
