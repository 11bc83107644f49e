"""The artifact page's additions, in-process: a layer's files and the filesystem the layers
build (a file two layers wrote marked as waste), browsed directory by directory; SBOM
downloads as SPDX and CycloneDX with the packages the image holds; a cosign signature (tag
layout) and an OCI referrer listed with their digests. A user who may not read the artifact
gets none of it; file names are text, never markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import (
    close_app,
    projects_app,
    push_cosign_signature,
    push_files_image,
    push_with_history,
    sign_in,
    table_rows,
)
from _infra.harbor_api import check_list
from _infra.projects_registry import PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient, push_image
from dockyard.oci import mediatypes
from dockyard.registry import RegistryApp

NAME = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
SITE = "usr/lib/python3.11/site-packages"


@dataclass
class Served:
    app: RegistryApp
    digest: str
    signature: tuple[str, str]
    referrer: str
    not_tar: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-artifact") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    access.users.create("stranger", PASSWORD)
    layers = [
        {"etc/app.conf": b"a" * 1000, f"etc/{NAME}": b"x",
         f"{SITE}/idna-3.6.dist-info/METADATA": b"Metadata-Version: 2.1\nName: idna\nVersion: 3.6\n"},
        {"etc/app.conf": b"b" * 3000, "srv/data.bin": b"d" * 10},
    ]  # fmt: skip
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        digest = push_files_image(dev, "team/app", "v1", layers, ["ADD . /", "RUN make"])
        signature = push_cosign_signature(dev, "team/app", digest)
        pushed = push_image(dev, "team/app", None, seed="sbom",
                            subject={"mediaType": mediatypes.OCI_MANIFEST, "digest": digest,
                                     "size": len(_manifest(client, digest))},
                            artifactType="application/vnd.example.sbom")  # fmt: skip
        not_tar = push_with_history(dev, "team/app", "text").digest
    yield Served(app, digest, signature, pushed.digest, not_tar)
    close_app(app)


def _manifest(client: ASGIClient, digest: str) -> bytes:
    r = client.get(f"/v2/team/app/manifests/{digest}", headers=basic("dev", PASSWORD))
    assert r.status_code == 200
    return r.content


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        assert sign_in(c, "guest", PASSWORD).status_code == 303  # guests may read artifacts
        yield c


def _files(client: ASGIClient, served: Served, query: str) -> str:
    r = client.get(f"/projects/team/files?repo=app&digest={served.digest}&{query}")
    assert r.status_code == 200, r.text
    return r.text


def test_the_file_tree_of_a_layer_and_of_the_layers_so_far(
    client: ASGIClient, served: Served
) -> None:
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.digest}").text
    assert f"/projects/team/files?repo=app&amp;digest={served.digest.replace(':', '%3A')}" in page
    # layer 2 alone: only what it wrote
    rows = table_rows(_files(client, served, "layer=2"), "Files in /")
    assert [r[0] for r in rows] == ["etc/", "srv/"]
    rows = table_rows(_files(client, served, "layer=2&path=etc"), "Files in /etc")
    assert [r[0] for r in rows] == ["app.conf"] and rows[0][4] == "2"
    # layers 1 and 2 together: app.conf written twice is waste, and so is its directory
    merged = _files(client, served, "layer=2&view=merged")
    rows = table_rows(merged, "Files in /")
    assert [(r[0], r[5]) for r in rows] == [("etc/", "wasted"), ("srv/", ""), ("usr/", "")]
    assert re.search(r"more than one layer waste ([^<]*) in all", merged), merged
    page = _files(client, served, "layer=2&view=merged&path=etc")
    rows = table_rows(page, "Files in /etc")
    conf = next(r for r in rows if r[0] == "app.conf")
    assert conf == ["app.conf", "file", "2.9 KiB", "644", "2", "wasted"], rows
    assert NAME not in page and [ESCAPED, "file", "1 B", "644", "1", ""] in rows
    # a path is cleaned, and a missing directory is 404
    rows = table_rows(_files(client, served, "layer=1&path=../../etc/"), "Files in /etc")
    assert {r[0] for r in rows} == {"app.conf", ESCAPED}
    r = client.get(f"/projects/team/files?repo=app&digest={served.digest}&layer=1&path=nope")
    assert r.status_code == 404 and "no directory" in r.text
    r = client.get(f"/projects/team/files?repo=app&digest={served.digest}&layer=3")
    assert r.status_code == 404 and "2 layers" in r.text
    # layers that are no tar archives: said so, not a server error
    r = client.get(f"/projects/team/files?repo=app&digest={served.not_tar}&layer=1")
    assert r.status_code == 400 and "not a tar archive" in r.text


def test_sbom_downloads(client: ASGIClient, served: Served) -> None:
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.digest}").text
    assert "SPDX 2.3 (JSON)" in page and "CycloneDX 1.5 (JSON)" in page
    base = f"/projects/team/sbom?repo=app&digest={served.digest}"
    spdx = client.get(base + "&format=spdx")
    assert spdx.status_code == 200 and spdx.headers["content-type"] == "application/json"
    assert spdx.headers["content-disposition"].startswith('attachment; filename="app-')
    doc = spdx.json()
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert any(p["name"] == "idna" and p["versionInfo"] == "3.6" for p in doc["packages"])
    bom = client.get(base + "&format=cyclonedx").json()
    assert bom["bomFormat"] == "CycloneDX"
    assert any(c["name"] == "idna" and c["version"] == "3.6" for c in bom["components"])
    r = client.get(base + "&format=xml")
    assert r.status_code == 400 and "spdx, cyclonedx" in r.text


def test_signatures_and_referrers(client: ASGIClient, served: Served) -> None:
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.digest}").text
    rows = table_rows(page, "Signatures and other referrers")
    by_digest = {r[0]: r for r in rows}
    sig_manifest, sig_layer = served.signature
    tag = served.digest.replace(":", "-") + ".sig"
    assert by_digest[sig_manifest][2] == f"tag {tag}"
    assert by_digest[sig_manifest][4] == sig_layer
    assert by_digest[served.referrer][1:3] == ["application/vnd.example.sbom", "referrer"]
    assert by_digest[served.referrer][4] == "none"
    assert "not verified here" in page


def test_a_stranger_gets_none_of_it(served: Served) -> None:
    with ASGIClient(served.app) as stranger:
        assert sign_in(stranger, "stranger", PASSWORD).status_code == 303
        for path in (f"files?repo=app&digest={served.digest}&layer=1",
                     f"sbom?repo=app&digest={served.digest}&format=spdx",
                     f"artifact?repo=app&digest={served.digest}"):  # fmt: skip
            r = stranger.get(f"/projects/team/{path}")
            assert r.status_code in (403, 404), path
            assert "app.conf" not in r.text and "idna" not in r.text
            assert "content-disposition" not in r.headers


def test_the_api_agrees_with_the_pages(client: ASGIClient, served: Served) -> None:
    """The artifact page's layers, files, packages, SBOM and referrers, and the repository
    page's signed badge, are what ``/api/v2.0`` answers the same user (Harbor's shapes where
    Harbor defines them); a user who may not read the artifact gets neither."""
    guest, stranger = basic("guest", PASSWORD), basic("stranger", PASSWORD)
    at = f"/api/v2.0/projects/team/repositories/app/artifacts/{served.digest}"
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.digest}").text
    layers = client.get(at + "/layers", headers=guest).json()["layers"]
    assert [x["created_by"] for x in layers] == ["ADD . /", "RUN make"]
    assert all(x["created_by"] in page and x["digest"][7:19] in page for x in layers)
    history = client.get(at + "/additions/build_history", headers=guest).json()
    assert [h["created_by"] for h in history] == ["ADD . /", "RUN make"]
    files = client.get(at + "/files", params={"layer": "2", "view": "merged", "path": "etc"},
                       headers=guest).json()  # fmt: skip
    conf = next(r for r in files["rows"] if r["name"] == "app.conf")
    assert (conf["layer"], conf["wasted"], files["layer"]) == (2, True, 2)
    rows = table_rows(_files(client, served, "layer=2&view=merged&path=etc"), "Files in /etc")
    assert ["app.conf", "file", "2.9 KiB", "644", "2", "wasted"] in rows
    packages = client.get(at + "/packages", headers=guest).json()
    assert {"name": "idna", "version": "3.6", "type": "python", "licenses": []} in packages
    spdx = client.get(at + "/additions/sbom", headers=guest).json()
    download = client.get(f"/projects/team/sbom?repo=app&digest={served.digest}&format=spdx")
    unique = ("documentNamespace",)  # each document names itself anew
    assert {k: v for k, v in download.json().items() if k not in unique} == {
        k: v for k, v in spdx.items() if k not in unique
    }
    r = client.get(at + "/additions/readme.md", headers=guest)
    assert r.status_code == 404
    assert client.get(at + "/additions/nope", headers=guest).status_code == 400
    # accessories (Harbor's) and the referrers extension name the same artifacts
    accessories = check_list(client.get(at + "/accessories", headers=guest), "Accessory")
    kinds = {a["digest"]: a["type"] for a in accessories}
    assert kinds == {served.signature[0]: "signature.cosign", served.referrer: "subject.accessory"}
    referrers = client.get(at + "/referrers", headers=guest).json()
    assert {r["digest"] for r in referrers} == set(kinds)
    sig = next(r for r in referrers if r["digest"] == served.signature[0])
    assert [s["digest"] for s in sig["signatures"]] == [served.signature[1]]
    assert all(r["digest"][7:19] in page for r in referrers)
    # the listing with accessories and scan overview is Harbor's Artifact; the badge agrees
    listed = client.get("/api/v2.0/projects/team/repositories/app/artifacts", headers=guest,
                        params={"with_accessory": "true", "with_scan_overview": "true"})  # fmt: skip
    artifacts = check_list(listed, "Artifact")
    mine = next(a for a in artifacts if a["digest"] == served.digest)
    assert [a["type"] for a in mine["accessories"]] == list(kinds.values())
    assert "scan_overview" not in mine  # this registry does not scan
    repository = client.get("/projects/team/repository?name=app").text
    assert "signed" in repository
    # a stranger gets none of it, from the API or the pages
    r = client.get(at + "/additions/vulnerabilities", headers=guest)
    assert r.status_code == 412 and "does not scan" in r.text  # and the page has no such table
    assert "Vulnerabilities" not in page
    for tail in ("/layers", "/files", "/packages", "/referrers", "/accessories",
                 "/additions/build_history", "/additions/sbom",
                 "/additions/vulnerabilities"):  # fmt: skip
        assert client.get(at + tail, headers=stranger).status_code in (403, 404), tail
