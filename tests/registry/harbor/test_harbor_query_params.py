"""Harbor's query parameters and endpoints around artifacts, quotas and system info, through the
real app with the access model: getArtifact's ``page``/``page_size`` of accessories and
``with_inherited_accessory`` (the signatures of the indexes listing an artifact), the flags
Harbor accepts and no longer acts on (``with_signature``, ``with_sbom_overview``),
``listArtifactsOfProject``, ``sort`` on ``listQuotas``, ``/systeminfo/volumes`` and
``/systeminfo/getcert`` — every answer validated against Harbor's definitions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from _infra import backend
from _infra.harbor_api import check_error, check_list, check_one
from _infra.projects_registry import ADMIN_PASSWORD, projects_env
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    PushedImage,
    RegistryProcess,
    descriptor,
    push_blob,
    push_image,
    sha256,
    start_registry,
)

pytestmark = pytest.mark.slow

API = "/api/v2.0"
PW = "Passw0rd1"


@dataclass
class Reg:
    server: RegistryProcess

    def client(self, user: str | None = "admin") -> httpx.Client:
        auth: Any = None if user is None else (user, ADMIN_PASSWORD if user == "admin" else PW)
        return httpx.Client(base_url=self.server.url, auth=auth, timeout=60)

    def get(self, path: str, user: str | None = "admin", **params: str) -> httpx.Response:
        with self.client(user) as c:
            return c.get(f"{API}{path}", params=params)

    def project(self, name: str) -> int:
        with self.client() as admin:
            r = admin.post(f"{API}/projects", json={"project_name": name})
            assert r.status_code == 201, r.text
            return int(r.headers["location"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reg]:
    root = tmp_path_factory.mktemp("harbor-params") / "data"
    with start_registry(root, env=projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
                        ) as server:  # fmt: skip
        it = Reg(server)
        with it.client() as admin:
            for user in ("owner", "outsider"):
                body = {"username": user, "password": PW, "realname": user,
                        "email": f"{user}@example.test"}  # fmt: skip
                assert admin.post(f"{API}/users", json=body).status_code == 201
        it.project("team")
        yield it


def _admin(reg: Reg) -> httpx.Client:
    return reg.client()


def _put(reg: Reg, name: str, ref: str, body: bytes, media_type: str) -> str:
    with _admin(reg) as admin:
        r = admin.put(f"/v2/{name}/manifests/{ref}", content=body,
                      headers={"content-type": media_type})  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.headers["docker-content-digest"])


def _push(reg: Reg, name: str, tag: str | None, seed: str) -> PushedImage:
    with _admin(reg) as admin:
        return push_image(admin, name, tag, seed=seed)


def _cosign_signature(reg: Reg, name: str, subject: str, seed: str) -> str:
    """A cosign-style signature of ``subject``: a manifest under tag ``sha256-<hex>.sig``."""
    config = json.dumps({"seed": f"sig-{seed}"}).encode()
    layer = f"signature of {subject} ({seed})".encode()
    with _admin(reg) as admin:
        for blob in (config, layer):
            push_blob(admin, name, blob)
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [descriptor(layer, "application/vnd.dev.cosign.simplesigning.v1+json")],
    }).encode()  # fmt: skip
    return _put(reg, name, subject.replace(":", "-") + ".sig", body, OCI_MANIFEST)


def _referrer(reg: Reg, name: str, subject: PushedImage, seed: str) -> str:
    """An OCI referrer of ``subject`` (an SBOM-like artifact with ``subject``)."""
    config = b"{}"
    layer = f"sbom of {subject.digest} ({seed})".encode()
    with _admin(reg) as admin:
        for blob in (config, layer):
            push_blob(admin, name, blob)
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": descriptor(config, "application/vnd.oci.empty.v1+json"),
        "layers": [descriptor(layer, "application/spdx+json")],
        "subject": descriptor(subject.manifest, OCI_MANIFEST),
    }).encode()  # fmt: skip
    return _put(reg, name, sha256(body), body, OCI_MANIFEST)


def _artifact(reg: Reg, repo: str, ref: str, **params: str) -> dict[str, Any]:
    r = reg.get(f"/projects/team/repositories/{repo}/artifacts/{ref}", **params)
    return dict(check_one(r, "Artifact"))


def test_get_artifact_pages_its_accessories(reg: Reg) -> None:
    image = _push(reg, "team/app", "1", "app")
    signature = _cosign_signature(reg, "team/app", image.digest, "one")
    sbom = _referrer(reg, "team/app", image, "one")
    whole = _artifact(reg, "app", "1", with_accessory="true")
    assert {a["digest"] for a in whole["accessories"]} == {signature, sbom}
    pages = [
        _artifact(reg, "app", "1", with_accessory="true", page=str(n), page_size="1")
        for n in (1, 2, 3)
    ]
    assert [len(p["accessories"]) for p in pages] == [1, 1, 0]
    assert {pages[0]["accessories"][0]["digest"], pages[1]["accessories"][0]["digest"]} == {
        signature, sbom,
    }  # fmt: skip
    for bad in ({"page": "0"}, {"page_size": "101"}, {"page_size": "x"}):
        r = reg.get("/projects/team/repositories/app/artifacts/1", with_accessory="true", **bad)
        check_error(r, 422, "UNPROCESSABLE_ENTITY")


def _index(reg: Reg, children: list[PushedImage], tag: str) -> str:
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [descriptor(c.manifest, OCI_MANIFEST,
                                 platform={"architecture": arch, "os": "linux"})
                      for c, arch in zip(children, ("amd64", "arm64"), strict=False)],
    }).encode()  # fmt: skip
    return _put(reg, "team/multi", tag, body, OCI_INDEX)


def test_with_inherited_accessory_gives_a_child_its_index_s_signatures(reg: Reg) -> None:
    amd = _push(reg, "team/multi", None, "amd64")
    arm = _push(reg, "team/multi", None, "arm64")
    index = _index(reg, [amd, arm], "1")
    signature = _cosign_signature(reg, "team/multi", index, "index")
    child = _artifact(reg, "multi", amd.digest, with_inherited_accessory="true")
    [inherited] = child["inherited_accessories"]
    assert inherited["digest"] == signature
    assert inherited["subject_artifact_digest"] == index  # the index's, not the child's
    assert inherited["type"] == "signature.cosign"
    # off by default, and never among the child's own accessories
    plain = _artifact(reg, "multi", amd.digest, with_accessory="true")
    assert "inherited_accessories" not in plain and plain["accessories"] == []
    # a child signed in its own right inherits nothing
    _cosign_signature(reg, "team/multi", arm.digest, "own")
    own = _artifact(reg, "multi", arm.digest, with_inherited_accessory="true")
    assert "inherited_accessories" not in own
    # an artifact no index lists inherits nothing; on the listing the flag is taken too
    top = _artifact(reg, "multi", index, with_inherited_accessory="true")
    assert "inherited_accessories" not in top
    r = reg.get("/projects/team/repositories/multi/artifacts", with_inherited_accessory="true",
                q="tags=1")  # fmt: skip
    assert [a["digest"] for a in check_list(r, "Artifact")] == [index]


def test_flags_harbor_accepts_and_no_longer_acts_on(reg: Reg) -> None:
    _push(reg, "team/flags", "1", "flags")
    got = _artifact(reg, "flags", "1", with_signature="true", with_sbom_overview="true")
    assert "sbom_overview" not in got  # no SBOM generation jobs here, as Harbor without any
    r = reg.get("/projects/team/repositories/flags/artifacts", with_sbom_overview="true")
    assert ["sbom_overview" in a for a in check_list(r, "Artifact")] == [False]
    for name in ("with_signature", "with_sbom_overview", "with_inherited_accessory"):
        r = reg.get("/projects/team/repositories/flags/artifacts/1", **{name: "maybe"})
        check_error(r, 400, "BAD_REQUEST")


def test_list_artifacts_of_project(reg: Reg) -> None:
    listed_id = reg.project("listed")
    reg.project("listedmore")
    a = _push(reg, "listed/a", "1", "a")
    c = _push(reg, "listed/b/c", "2", "c")
    _push(reg, "listedmore/y", "1", "y")  # a project whose name only starts alike
    r = reg.get("/projects/listed/artifacts")
    listed = check_list(r, "Artifact")
    assert r.headers["x-total-count"] == "2"
    assert {(x["repository_name"], x["digest"]) for x in listed} == {
        ("listed/a", a.digest), ("listed/b/c", c.digest),
    }  # fmt: skip
    assert {x["tags"][0]["name"] for x in listed} == {"1", "2"}
    r = reg.get("/projects/listed/artifacts", q="tags=2")
    assert [x["repository_name"] for x in check_list(r, "Artifact")] == ["listed/b/c"]
    r = reg.get("/projects/listed/artifacts", page_size="1")
    assert len(check_list(r, "Artifact")) == 1 and 'rel="next"' in r.headers["link"]
    assert len(check_list(reg.get(f"/projects/{listed_id}/artifacts"), "Artifact")) == 2
    check_error(reg.get("/projects/listed/artifacts", "outsider"), 403, "FORBIDDEN")
    check_error(reg.get("/projects/listed/artifacts", None), 401, "UNAUTHORIZED")
    check_error(reg.get("/projects/nowhere/artifacts"), 404, "NOT_FOUND")


def test_quotas_sort_as_harbor(reg: Reg) -> None:
    ids = {p: reg.project(p) for p in ("qa", "qb", "qc")}
    with _admin(reg) as admin:
        for project, hard in (("qa", 3 << 20), ("qb", 1 << 20)):  # qc: unlimited (-1)
            r = admin.put(f"{API}/quotas/{ids[project]}", json={"hard": {"storage": hard}})
            assert r.status_code == 200, r.text
    _push(reg, "qb/app", "1", "used")

    def order(sort: str) -> list[str]:
        names = [q["ref"]["name"] for q in check_list(reg.get("/quotas", sort=sort), "Quota")]
        return [n for n in names if n in ids]

    assert order("hard.storage") == ["qc", "qb", "qa"]
    assert order("-hard.storage") == ["qa", "qb", "qc"]
    assert order("-used.storage")[0] == "qb"
    assert order("-id") == ["qc", "qb", "qa"]
    assert order("id") == ["qa", "qb", "qc"]
    assert sorted(order("-update_time")) == sorted(order("creation_time")) == sorted(ids)
    check_error(reg.get("/quotas", sort="owner"), 400, "BAD_REQUEST")


def test_systeminfo_volumes_and_getcert(reg: Reg) -> None:
    if backend.cluster():  # blobs on S3: no local disk to report, 404 as Harbor's may answer
        check_error(reg.get("/systeminfo/volumes"), 404, "NOT_FOUND")
    else:
        [storage] = check_one(reg.get("/systeminfo/volumes"), "SystemInfo")["storage"]
        assert storage["total"] >= storage["free"] > 0
    check_error(reg.get("/systeminfo/volumes", "owner"), 403, "FORBIDDEN")
    check_error(reg.get("/systeminfo/volumes", None), 401, "UNAUTHORIZED")
    # no CA root to give, as /systeminfo says: 404, as Harbor answers then
    assert check_one(reg.get("/systeminfo"), "GeneralInfo")["has_ca_root"] is False
    check_error(reg.get("/systeminfo/getcert"), 404, "NOT_FOUND")
