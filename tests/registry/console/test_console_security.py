"""The console's security, in-process: sessions and their cookie, CSRF on every change,
session fixation, what a user without permission sees, and markup in data rendered inert."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from _infra.console import close_app, csrf_of, projects_app, push_with_history, sign_in
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    basic,
    team_with_people,
)
from _infra.registry_server import (
    OCI_MANIFEST,
    ASGIClient,
    AuthedClient,
    make_manifest,
    push_blob,
    sha256,
)
from dockyard.registry import RegistryApp
from dockyard.registry.access import AccessService

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@dataclass
class Served:
    app: RegistryApp
    access: AccessService
    digest: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    access.users.create("outsider", PASSWORD)
    with ASGIClient(app) as client:
        pushed = push_with_history(
            AuthedClient(client, basic("dev", PASSWORD)),
            "team/app",
            "v1",
            commands=("ADD rootfs.tar /", f"RUN echo {IMG}"),
            annotations={"org.example.note": SCRIPT, SCRIPT: "key"},
        )
    yield Served(app, access, pushed.digest)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    """A browser of its own (its own cookie jar) on the module's registry."""
    with ASGIClient(served.app) as c:
        yield c


def _session_cookie(response_headers: list[str]) -> str:
    found = [h for h in response_headers if h.startswith("dockyard_session=")]
    assert len(found) == 1, response_headers
    return found[0]


def test_sign_in_sets_a_strict_session_cookie(client: ASGIClient) -> None:
    r = sign_in(client, "dev", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = _session_cookie(r.headers.get_list("set-cookie"))
    flags = [p.strip() for p in cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Path=/" in flags
    assert "Secure" not in flags  # plain HTTP: a Secure cookie would never come back
    home = client.get("/")
    assert home.status_code == 200 and "dev" in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_cookie_is_secure_behind_tls(client: ASGIClient) -> None:
    form = client.get("/login", headers={"x-forwarded-proto": "https"})
    assert "Secure" in form.headers["set-cookie"].split("; ")
    login_cookie = form.headers["set-cookie"].split(";")[0]  # httpx keeps Secure ones for https
    r = client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "username": "dev", "password": PASSWORD},
        headers={"x-forwarded-proto": "https", "cookie": login_cookie},
    )
    assert r.status_code == 303
    assert "Secure" in _session_cookie(r.headers.get_list("set-cookie")).split("; ")


def test_wrong_password_is_refused_and_audited(client: ASGIClient, served: Served) -> None:
    r = sign_in(client, IMG, "nope")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    assert "dockyard_session" not in r.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303


def test_session_fixation_an_old_id_is_never_kept(client: ASGIClient, served: Served) -> None:
    planted = "attacker-chosen-id"
    client.client.cookies.set("dockyard_session", planted, domain="registry.test")
    r = sign_in(client, "dev", PASSWORD)
    assert r.status_code == 303
    first = client.client.cookies.get("dockyard_session")
    assert first and first != planted
    r = sign_in(client, "dev", PASSWORD)  # signing in again rotates the id too
    second = client.client.cookies.get("dockyard_session")
    assert second and second != first
    assert served.app.console is not None
    # the id from before the second sign-in is gone from the database
    with ASGIClient(served.app) as other:
        other.client.cookies.set("dockyard_session", first, domain="registry.test")
        assert other.get("/").status_code == 303


def test_sign_in_form_needs_its_token(client: ASGIClient) -> None:
    r = client.post("/login", data={"username": "dev", "password": PASSWORD})
    assert r.status_code == 403
    assert "dockyard_session" not in r.headers.get("set-cookie", "")


def _projects(served: Served) -> list[str]:
    admin = served.access.identity_of("admin")
    assert admin is not None
    return [p.name for p in served.access.list_projects(admin).items]


def test_every_change_needs_the_csrf_token(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    token = csrf_of(client.get("/").text)
    assert "<td>guest</td>" in client.get("/projects/team").text
    ref = served.access.projects.ref("team")
    assert ref is not None
    member_id = served.access.members.list(ref[0], entityname="guest").items[0].id
    changes = [
        ("/projects", {"project_name": "sneaky"}),
        ("/projects/team/members", {"username": "outsider", "role_id": "1"}),
        (f"/projects/team/members/{member_id}/delete", {}),
        ("/logout", {}),
    ]
    for path, form in changes:
        for csrf in (None, "", token[:-2] + "xx"):
            data = dict(form) if csrf is None else {**form, "csrf": csrf}
            r = client.post(path, data=data)
            assert r.status_code == 403, (path, csrf, r.status_code)
    assert "sneaky" not in _projects(served)
    page = client.get("/projects/team").text
    assert "outsider" not in page  # nothing changed
    assert served.access.members.list(ref[0], entityname="guest").items
    assert client.get("/").status_code == 200  # still signed in: the logout was refused too
    # with the token, each one works
    r = client.post("/projects", data={"project_name": "made-here", "csrf": token})
    assert r.status_code == 303 and "made-here" in _projects(served)
    r = client.post(f"/projects/team/members/{member_id}/delete", data={"csrf": token})
    assert r.status_code == 303
    assert not served.access.members.list(ref[0], entityname="guest").items
    r = client.post("/logout", data={"csrf": token})
    assert r.status_code == 303 and client.get("/").status_code == 303


def test_a_user_without_permission_sees_nothing(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "outsider", PASSWORD).status_code == 303
    home = client.get("/").text
    assert "team" not in home
    repo = "/projects/team/repository?name=app"
    artifact = f"/projects/team/artifact?repo=app&digest={served.digest}"
    for path in ("/projects/team", repo, artifact):
        r = client.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert "team/app" not in r.text and served.digest not in r.text
        assert "ADD rootfs.tar" not in r.text
    # nor can they change it
    token = csrf_of(home)
    r = client.post("/projects/team/members", data={"username": "outsider", "role_id": "1",
                                                    "csrf": token})  # fmt: skip
    assert r.status_code in (403, 404)
    # and the API refuses them the same
    api = client.get("/api/v2.0/projects/team/repositories", headers=basic("outsider", PASSWORD))
    assert api.status_code == 403


def test_markup_in_data_is_rendered_inert(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    page = client.get(f"/projects/team/artifact?repo=app&digest={served.digest}")
    assert page.status_code == 200
    assert "ADD rootfs.tar /" in page.text  # the layer's command is shown
    for raw in (SCRIPT, IMG):
        assert raw not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page.text
    audit = client.get("/audit")  # the failed sign-in of a user named like markup
    assert audit.status_code == 200 and IMG not in audit.text
    for path in ("/", "/projects/team", "/projects/team/repository?name=app", "/audit"):
        r = client.get(path)
        assert r.status_code == 200 and len(r.content) < 200_000
        assert "<script>" not in r.text.replace(
            '<script src="/static/console.js" defer></script>', ""
        )


def test_search_and_sort_of_a_repository(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "dev", PASSWORD).status_code == 303
    page = client.get("/projects/team/repository", params={"name": "app", "q": "v1"})
    assert page.status_code == 200 and served.digest[:19] in page.text
    page = client.get("/projects/team/repository", params={"name": "app", "q": "nomatch"})
    assert served.digest[:19] not in page.text
    # three artifacts pushed one after the other, in each order the page offers
    dev = AuthedClient(client, basic("dev", PASSWORD))
    pushed = [push_with_history(dev, "team/sorted", tag, commands=(f"RUN step {tag}",)).digest
              for tag in ("a", "b", "c")]  # fmt: skip
    orders = {
        "-push_time": pushed[::-1],
        "push_time": pushed,
        "digest": sorted(pushed),
    }
    assert len({tuple(o) for o in orders.values()}) == 3  # each order tells the others apart
    for sort, expected in orders.items():
        page = client.get("/projects/team/repository", params={"name": "sorted", "sort": sort})
        assert page.status_code == 200, page.text
        shown = sorted(pushed, key=lambda d: page.text.index(d[:19]))
        assert shown == expected, sort
        assert f'<option value="{sort}" selected>' in page.text
        # the page's order is the API's
        api = dev.get("/api/v2.0/projects/team/repositories/sorted/artifacts",
                      params={"sort": sort})  # fmt: skip
        assert [a["digest"] for a in api.json()] == expected, sort
    # no sort, or one the page does not offer: newest first
    for params in ({}, {"sort": "size"}):
        page = client.get("/projects/team/repository", params={"name": "sorted", **params})
        assert page.status_code == 200
        assert sorted(pushed, key=lambda d: page.text.index(d[:19])) == orders["-push_time"]
        assert '<option value="-push_time" selected>' in page.text


def test_markup_in_names_and_tags_is_refused_at_push(client: ASGIClient, served: Served) -> None:
    """A repository name or a tag holding markup never reaches a page: the registry's name
    rules refuse the push itself (an upload to such a repository, a manifest under such a
    tag), and nothing of it is stored."""
    dev = AuthedClient(client, basic("dev", PASSWORD))
    for name in (f"team/{quote(SCRIPT, safe='')}", "team/a%22onmouseover=%22x"):
        r = dev.post(f"/v2/{name}/blobs/uploads/")
        assert r.status_code in (400, 404), (name, r.status_code)
        assert r.json()["errors"][0]["code"] == "NAME_INVALID", r.text
    pushed = push_with_history(dev, "team/tagged", "ok")  # its blobs are there: only the tag is bad
    for tag in (quote(IMG, safe=""), "%3Cb%3E", "v1%22%3E"):
        r = dev.put(f"/v2/team/tagged/manifests/{tag}", content=pushed.manifest,
                    headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 400, (tag, r.status_code)
        assert "invalid tag" in r.json()["errors"][0]["message"], r.text
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    admin = basic("admin", ADMIN_PASSWORD)
    listed = client.get("/api/v2.0/projects/team/repositories/tagged/artifacts", headers=admin)
    assert [t["name"] for a in listed.json() for t in a.get("tags") or ()] == ["ok"]
    repos = client.get("/api/v2.0/projects/team/repositories", headers=admin).json()
    assert all(re.fullmatch(r"[a-z0-9/._-]+", r["name"]) for r in repos), repos
    for path in ("/projects/team", "/projects/team/repository?name=tagged"):
        page = client.get(path).text
        assert "<b>" not in page and "onmouseover" not in page and "alert(" not in page


def test_labels_and_annotations_render_inert(client: ASGIClient, served: Served) -> None:
    """An image's labels (its config's) and its manifest's annotations, keys and values,
    are text on the registry console's artifact page."""
    dev = AuthedClient(client, basic("dev", PASSWORD))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": {"org.example.title": SCRIPT, IMG: "key"}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()  # fmt: skip
    layer = b"labelled" * 64
    for blob in (config, layer):
        push_blob(dev, "team/labelled", blob)
    manifest = make_manifest(config, [layer], annotations={"org.example.note": IMG})
    r = dev.put("/v2/team/labelled/manifests/v1", content=manifest,
                headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    page = client.get(f"/projects/team/artifact?repo=labelled&digest={sha256(manifest)}")
    assert page.status_code == 200
    assert "org.example.title" in page.text and "org.example.note" in page.text
    for raw in (SCRIPT, IMG):
        assert raw not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=" in page.text
