"""``dockyard ui`` as a real process on 127.0.0.1 over a local store whose images were
imported and built by ``dockyard`` itself: the image list (search, sort), an image's layers
with the command that made each and its size (as ``dockyard history`` says), its files and
the wasted bytes (as ``dockyard analyze`` counts them), two images compared (as ``dockyard
diff``), its vulnerabilities from the store's database (as ``dockyard scan``), its packages
and SBOM downloads (as ``dockyard sbom``), the commands to use it (a digest reference the
store resolves), markup in
labels, commands and file names rendered as text, and the guards: read-only, the console's
security headers, loopback unless a token is given (and then asked of every request), and a
``Host`` that is not loopback refused."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra.ui import HOSTILE, RunningUi, UiStore, make_ui_store, running_ui
from dockyard.errors import InvalidArgument
from dockyard.ui import MIN_TOKEN, check_listen

TOKEN = "t" * MIN_TOKEN + "-ui-test"


@dataclass(frozen=True)
class Served:
    store: UiStore
    ui: RunningUi
    client: httpx.Client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("ui")
    store = make_ui_store(work / "store", work)
    with running_ui(store.root) as ui, httpx.Client(base_url=ui.url, timeout=60) as client:
        yield Served(store, ui, client)


def _rows(page: str, caption: str) -> list[list[str]]:
    """The cells (tags stripped, entities decoded) of the table with this caption."""
    found = re.search(
        rf"<caption>{re.escape(html.escape(caption))}</caption>.*?<tbody>(.*?)</tbody>", page, re.S
    )
    assert found, f"no table {caption!r}"
    return [
        [html.unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]  # fmt: skip


def _id(served: Served, ref: str) -> str:
    out = run_dockyard("inspect", ref, "--format", "{{.Id}}", root=served.store.root)
    return str(out.stdout.strip())


@pytest.mark.slow
def test_the_image_list_searches_and_sorts(served: Served) -> None:
    page = served.client.get("/")
    assert page.status_code == 200
    names = [row[0] for row in _rows(page.text, "Images")]
    assert sorted(names) == ["app:v1", "app:v2", "base:1", "py:1"]
    found = served.client.get("/", params={"q": "APP:V"}).text
    assert [row[0] for row in _rows(found, "Images")] == ["app:v2", "app:v1"]  # newest first
    by_name = served.client.get("/", params={"sort": "name", "order": "asc"}).text
    assert [row[0] for row in _rows(by_name, "Images")] == sorted(names)
    by_size = _rows(served.client.get("/", params={"sort": "size"}).text, "Images")
    assert by_size[-1][0] == "py:1"  # two small layers; the others hold busybox
    short = _id(served, "app:v1").split(":")[1][:12]
    assert [r[1] for r in _rows(served.client.get("/", params={"q": short}).text, "Images")] == [
        short
    ]
    labelled = served.client.get("/", params={"q": "org.example.note"}).text
    assert [row[0] for row in _rows(labelled, "Images")] == ["app:v1"]
    bad = served.client.get("/", params={"sort": "colour"})
    assert bad.status_code == 400 and "sort by one of created, size, name" in bad.text


@pytest.mark.slow
def test_an_image_page_lists_each_step_with_its_command_and_size(served: Served) -> None:
    page = served.client.get("/image", params={"id": "app:v1"})
    assert page.status_code == 200
    steps = _rows(page.text, "Layers: each step, the command that made it and its size")
    history = json.loads(
        "[" + ",".join(run_dockyard("history", "app:v1", "--no-trunc", "--format", "json",
                                    root=served.store.root).stdout.split("\n")[:-1]) + "]"
    )  # fmt: skip
    assert [s[1] for s in steps] == [h["CreatedBy"] or "not recorded" for h in reversed(history)]
    with_layers = [s for s in steps if s[3] != "no layer"]
    assert len(with_layers) == 4 and steps[1][1].startswith("LABEL org.example.note=")
    assert with_layers[1][2] == with_layers[3][2] and with_layers[1][2].endswith("KiB")
    facts = dict((r[0], r[1]) for r in _rows(page.text, "Image"))
    assert facts["Image ID"] == _id(served, "app:v1") and facts["Tags"] == "app:v1"
    assert _rows(page.text, "Labels") == [["org.example.note", HOSTILE]]
    assert 'href="/vulnerabilities?id=' in page.text


def test_files_and_wasted_bytes_as_dockyard_analyze_counts_them(served: Served) -> None:
    analysis = json.loads(
        run_dockyard("analyze", "app:v1", "--format", "json", root=served.store.root).stdout
    )
    wasted = sum(f["sizeBytes"] for f in analysis["inefficientFiles"])
    merged = served.client.get(
        "/files", params={"id": "app:v1", "layer": "4", "view": "merged", "path": "data"}
    )
    assert merged.status_code == 200
    assert _rows(merged.text, "Files in /data") == [
        ["big.bin", "file", "48.0 KiB", "644", "4", "wasted"]
    ]
    assert f"waste {_size(wasted)} in all" in merged.text
    root = _rows(served.client.get("/files", params={"id": "app:v1", "layer": "4",
                                                      "view": "merged"}).text, "Files in /")  # fmt: skip
    assert {"app/", "bin/", "data/", "etc/"} <= {r[0] for r in root}
    alone = served.client.get("/files", params={"id": "app:v1", "layer": "3", "path": "app"})
    assert _rows(alone.text, "Files in /app") == [[f"{HOSTILE}.txt", "file", "6 B", "644", "3", ""]]
    missing = served.client.get("/files", params={"id": "app:v1", "layer": "9"})
    assert missing.status_code == 404 and "there is no layer 9" in missing.text
    assert served.client.get("/files", params={"id": "app:v1", "layer": "x"}).status_code == 400


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def test_two_images_compared_as_dockyard_diff(served: Served) -> None:
    diff = json.loads(
        run_dockyard("diff", "app:v1", "app:v2", "--format", "json", root=served.store.root).stdout
    )
    page = served.client.get("/compare", params={"a": "app:v1", "b": "app:v2"})
    assert page.status_code == 200
    files = {(r[0], r[1]) for r in _rows(page.text, "Files")}
    ours = {("added", f["path"]) for f in diff["files"] if f["status"] == "added"}
    assert ours and ours <= files
    assert ("removed", f"/app/{HOSTILE}.txt") in files and ("added", "/data/other.bin") in files
    layers = _rows(page.text, "Layers")
    assert [r[0] for r in layers].count("shared") == 1
    assert layers[-2][:2] == ["added", "COPY config.txt /etc/app/config.txt # buildkit"]
    form = served.client.get("/compare").text
    assert '<select id="a" name="a">' in form and form.count("<option") == 8


def test_vulnerabilities_from_the_stores_database_filtered(served: Served) -> None:
    page = served.client.get("/vulnerabilities", params={"id": "py:1"})
    assert page.status_code == 200, page.text
    found = {(r[0], r[1], r[2], r[3], r[4]) for r in _rows(page.text, "Vulnerabilities")}
    assert ("HIGH", "PYSEC-2024-60", "idna", "3.6", "3.7") in found
    assert ("MEDIUM", "PYSEC-2023-212", "urllib3", "1.26.17", "1.26.18") in found
    high = served.client.get("/vulnerabilities", params={"id": "py:1", "severity": "high"}).text
    assert {r[0] for r in _rows(high, "Vulnerabilities")} == {"HIGH"}
    none = served.client.get("/vulnerabilities", params={"id": "app:v2"}).text
    assert _rows(none, "Vulnerabilities") == [["none"]]


def _names_and_versions(packages: list[dict[str, object]], version: str) -> set[tuple[str, str]]:
    return {(str(p["name"]), str(p[version])) for p in packages if p.get(version)}


def test_packages_and_sboms_as_dockyard_sbom_writes_them(served: Served) -> None:
    client = served.client
    cli = {
        fmt: json.loads(run_dockyard("sbom", "py:1", "--format", fmt,
                                     root=served.store.root).stdout)
        for fmt in ("spdx-json", "cyclonedx-json")
    }  # fmt: skip
    expected = {("idna", "3.6"), ("urllib3", "1.26.17")}
    # SPDX's packages also name the image and its OS
    listed = _names_and_versions(cli["spdx-json"]["packages"], "versionInfo")
    assert expected < listed
    page = client.get("/packages", params={"id": "py:1"})
    assert page.status_code == 200
    assert {(r[0], r[1]) for r in _rows(page.text, "Packages (2 of 2)")} == expected
    assert all(r[2] == "python" for r in _rows(page.text, "Packages (2 of 2)"))
    idna = client.get("/packages", params={"id": "py:1", "q": "IDNA"}).text
    assert [r[:2] for r in _rows(idna, "Packages (1 of 2)")] == [["idna", "3.6"]]
    # the downloads: the same packages as dockyard sbom's, in each format
    spdx = client.get("/sbom", params={"id": "py:1", "format": "spdx"})
    assert spdx.status_code == 200 and spdx.headers["content-type"] == "application/json"
    short = _id(served, "py:1").split(":")[1][:12]
    assert spdx.headers["content-disposition"] == f'attachment; filename="{short}.spdx.json"'
    assert spdx.json()["spdxVersion"] == cli["spdx-json"]["spdxVersion"]
    assert _names_and_versions(spdx.json()["packages"], "versionInfo") == listed
    cdx = client.get("/sbom", params={"id": "py:1", "format": "cyclonedx"})
    assert cdx.status_code == 200 and cdx.headers["content-disposition"].endswith('.cdx.json"')
    assert cdx.json()["bomFormat"] == "CycloneDX"
    components = _names_and_versions(cli["cyclonedx-json"]["components"], "version")
    assert expected <= components
    assert _names_and_versions(cdx.json()["components"], "version") == components
    bad = client.get("/sbom", params={"id": "py:1", "format": "xml"})
    assert bad.status_code == 400 and "must be one of spdx, cyclonedx" in bad.text
    image = client.get("/image", params={"id": "py:1"}).text
    assert f'href="/packages?id=sha256%3A{_id(served, "py:1").split(":")[1]}"' in image
    assert "format=cyclonedx" in image and "format=spdx" in image


def _field(page: str, ident: str) -> str:
    found = re.search(rf'<input id="{ident}" readonly value="([^"]*)">', page)
    assert found is not None, f"no field {ident}"
    return html.unescape(found.group(1))


def test_the_image_page_says_how_to_use_it(served: Served) -> None:
    page = served.client.get("/image", params={"id": "py:1"}).text
    assert _field(page, "use-run") == "dockyard run --rm py:1"
    by_digest = _field(page, "use-digest")
    assert by_digest.startswith("py@sha256:")
    # the reference names this very image in the store
    assert _id(served, by_digest) == _id(served, "py:1")
    push = _field(page, "use-push")
    assert push == "dockyard tag py:1 localhost:5000/py:1 && dockyard push localhost:5000/py:1"
    assert 'data-copy="use-run"' in page


def test_markup_in_labels_commands_and_file_names_is_text(served: Served) -> None:
    for path, params in (
        ("/", {}),
        ("/image", {"id": "app:v1"}),
        ("/files", {"id": "app:v1", "layer": "3", "path": "app"}),
        ("/compare", {"a": "app:v1", "b": "app:v2"}),
        ("/", {"q": HOSTILE}),
        ("/image", {"id": HOSTILE}),
    ):
        text = served.client.get(path, params=params).text
        assert HOSTILE not in text and "<img" not in text, path
    assert html.escape(HOSTILE) in served.client.get("/image", params={"id": "app:v1"}).text


def test_the_consoles_headers_no_other_changes_and_loopback_hosts_only(served: Served) -> None:
    page = served.client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    css = served.client.get("/static/console.css")
    assert css.status_code == 200 and "prefers-color-scheme:dark" in css.text
    for method in ("POST", "PUT", "DELETE"):
        refused = served.client.request(method, "/image", params={"id": "app:v1"})
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    rebound = served.client.get(
        "/", headers={"Host": f"attacker.example:{served.ui.url.split(':')[-1]}"}
    )
    assert rebound.status_code == 421 and "app:v1" not in rebound.text
    assert served.client.get("/nothing").status_code == 404
    assert served.client.get("/image", params={"id": "nosuch:1"}).status_code == 404


@pytest.mark.slow
def test_a_token_is_asked_of_every_request(tmp_path: Path, served: Served) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with running_ui(served.store.root, "--token-file", str(token_file)) as ui:
        assert httpx.get(ui.url).status_code == 401
        assert httpx.get(ui.url, auth=("me", "wrong" * 5)).status_code == 401
        asked = httpx.get(ui.url + "image?id=app:v1")
        assert asked.headers["www-authenticate"] == 'Basic realm="dockyard ui"'
        assert "app:v1" not in asked.text
        page = httpx.get(ui.url, auth=("anyone", TOKEN))
        assert page.status_code == 200 and "app:v1" in page.text


def test_anything_but_loopback_is_refused_without_allow_remote_and_a_token(
    served: Served,
) -> None:
    for args, says in (
        (("--listen", "0.0.0.0"), "--allow-remote"),
        (("--listen", "0.0.0.0", "--allow-remote"), "and a token"),
    ):
        out = run_dockyard("ui", "--port", "0", *args, root=served.store.root, check=False,
                           env={"DOCKYARD_UI_TOKEN": ""}, timeout=60)  # fmt: skip
        assert out.returncode != 0 and says in out.stderr, (args, out.stderr)
        assert "http://" not in out.stdout  # nothing was bound
    refused: list[tuple[str, int, bool, str | None, str]] = [
        ("0.0.0.0", 0, True, "short", "at least"),
        ("192.0.2.1", 0, False, TOKEN, "--allow-remote"),  # a token alone is not consent
        ("example.org", 0, True, TOKEN, "takes an IP address"),
        ("127.0.0.1", 70000, False, None, "between 0 and 65535"),
    ]
    for host, port, allow, token, says in refused:
        with pytest.raises(InvalidArgument, match=says):
            check_listen(host, port, allow_remote=allow, token=token)
    assert check_listen("localhost", 0).host == "127.0.0.1"
    assert check_listen("::1", 0).loopback
    remote = check_listen("192.0.2.1", 8080, allow_remote=True, token=TOKEN)
    assert not remote.loopback and remote.token == TOKEN


@pytest.mark.slow
def test_delete_needs_the_pages_token_and_does_what_rmi_does(served: Served) -> None:
    """Last in the module: it deletes images the other tests read."""
    client = served.client
    page = client.get("/image", params={"id": "py:1"}).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None and 'action="/delete"' in page
    py = _id(served, "py:1")
    for form in ({"id": py}, {"id": py, "csrf": "forged"}):
        refused = client.post("/delete", data=form)
        assert refused.status_code == 403 and "token" in refused.text
    assert "py:1" in client.get("/").text
    base = client.post("/delete", data={"id": _id(served, "base:1"), "csrf": token.group(1)})
    assert base.status_code == 409 and "dependent child images" in base.text
    done = client.post("/delete", data={"id": py, "csrf": token.group(1)})
    assert done.status_code == 303 and done.headers["location"].startswith("/?deleted=")
    # the server closes the connection after a form (its body may be unread): it says so, so
    # the client's next request does not race the close on a kept-alive connection
    assert done.headers.get("connection") == "close"
    after = client.get(done.headers["location"]).text
    assert f"Deleted image <code>{py.split(':')[1][:12]}</code>" in after
    assert "py:1" not in [row[0] for row in _rows(after, "Images")]
    listed = run_dockyard("images", "--format", "json", root=served.store.root).stdout
    assert "py" not in {json.loads(line)["Repository"] for line in listed.splitlines()}
