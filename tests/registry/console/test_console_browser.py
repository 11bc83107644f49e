"""The console in a real browser (Debian's chromium through Playwright) against a real
``dockyard registry serve`` in projects mode, with scanning on: sign in, create a project,
add a member, push with docker, set the quota, make a robot, find the image,
see it counted on the dashboard, compare it with a second tag, its layers and its vulnerabilities,
sign out; a user without permission sees nothing; an open registry (what ``make serve`` runs)
shows its repositories, an artifact, its files and a comparison with nobody signing in.
Every page is checked by axe-core (no
serious or critical violations), logs no JavaScript error and no failed request, stays under
200 KB, and is photographed at desktop and phone width: into
``$DOCKYARD_TEST_ARTIFACTS/console-screenshots`` (``make test`` sets it: CI keeps them), else
the module's temporary folder; each test ends by checking its pages' PNGs are there."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Response,
    sync_playwright,
)

from _infra import DockerDaemon, run_command, run_dockyard
from _infra.console import (
    push_cosign_signature,
    push_files_image,
    push_with_history,
    python_packages_layout,
)
from _infra.harbor_api import check_list
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, projects_env
from _infra.registry_server import RegistryProcess, start_registry
from _infra.scan_env import VULNDB
from _infra.webhook_sink import WebhookReceiver

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
#: old versions with known advisories in the shared test data: PYSEC-2024-60 (idna) is HIGH,
#: PYSEC-2023-212 (urllib3) MEDIUM
PACKAGES = {"urllib3": "1.26.17", "idna": "3.6"}
COMMANDS = ("ADD os-release /etc/", "RUN pip install urllib3==1.26.17 idna==3.6")
SCRIPT = "<script>alert(1)</script>"
#: an advisory whose text is markup and whose references are a script and a web address
HOSTILE_ADVISORY = {
    "id": "DYXSS-1",
    "modified": "2026-01-01T00:00:00Z",
    "summary": f"{SCRIPT} in idna",
    "details": '<img src=x onerror="alert(2)">',
    "database_specific": {"severity": "LOW"},
    "references": [{"type": "WEB", "url": "javascript:alert(3)"},
                   {"type": "ADVISORY", "url": "https://example.org/DYXSS-1?a=1&b=<i>"}],
    "affected": [{"package": {"ecosystem": "PyPI", "name": "idna"},
                  "ranges": [{"type": "ECOSYSTEM",
                              "events": [{"introduced": "0"}, {"fixed": "3.7"}]}]}],
}  # fmt: skip


@dataclass
class Watched:
    """What went wrong on a page: JavaScript errors, console errors, failed requests."""

    problems: list[str] = field(default_factory=list)


@dataclass
class Console:
    server: RegistryProcess
    browser: Browser
    #: where this run's screenshots are kept (emptied when the module starts)
    kept: Path


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make js-deps` (npm ci)")
    work = tmp_path_factory.mktemp("console-browser")
    kept = work / "screenshots"
    if extra := os.environ.get("DOCKYARD_TEST_ARTIFACTS"):
        kept = Path(extra) / "console-screenshots"
        shutil.rmtree(kept, ignore_errors=True)  # only this run's pages: none left from before
    store = work / "store"
    # only the advisories of the packages the images hold: a small database, a quick import
    advisories = work / "advisories"
    advisories.mkdir()
    for path in (VULNDB / "osv" / "PyPI").glob("*.json"):
        if any(f'"name": "{name}"' in path.read_text() for name in PACKAGES):
            shutil.copy(path, advisories)
    assert len(list(advisories.iterdir())) >= 2
    (advisories / "DYXSS-1.json").write_text(json.dumps(HOSTILE_ADVISORY))
    run_dockyard("db", "import", advisories, root=store)
    config = work / "config.yml"
    config.write_text(f"version: 0.1\nscanning:\n  on-push: true\n  db: {store}\n")
    env = projects_env(work / "data", DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with (
        start_registry(work / "data", "--config", str(config), env=env) as server,
        sync_playwright() as playwright,
    ):
        for name in ("dev", "outsider"):
            r = httpx.post(
                f"{server.url}/api/v2.0/users",
                json={"username": name, "password": PASSWORD, "email": f"{name}@example.org",
                      "realname": name},
                headers=basic("admin", ADMIN_PASSWORD),
            )  # fmt: skip
            assert r.status_code == 201, r.text
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield Console(server, browser, kept)
        finally:
            browser.close()


def _context(console: Console, width: str = "desktop") -> BrowserContext:
    # axe is injected as an inline script, which the console's CSP forbids
    return console.browser.new_context(viewport=WIDTHS[width], bypass_csp=True)  # type: ignore[arg-type]


def _watch(page: Page, origin: str) -> Watched:
    """Problems on ``page``, which may ask nothing of any server but ``origin`` (no CDN)."""
    watched = Watched()

    def request(req: Request) -> None:
        if not req.url.startswith((origin + "/", "data:", "about:")):
            watched.problems.append(f"a request outside {origin}: {req.url}")

    page.on("request", request)
    page.on("pageerror", lambda exc: watched.problems.append(f"JavaScript error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            watched.problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("requestfailed", lambda req: watched.problems.append(f"failed: {req.url}"))
    page.on("dialog", lambda dialog: watched.problems.append(f"dialog: {dialog.message}"))

    def response(resp: Response) -> None:
        if resp.status >= 400:
            watched.problems.append(f"{resp.status}: {resp.url}")

    page.on("response", response)
    return watched


def _check(console: Console, page: Page, name: str, tmp_path: Path) -> None:
    """axe, size, and screenshots at both widths of the page now shown (into
    ``console.kept``; ``tmp_path``: the test's own files, none of them screenshots)."""
    html = page.content()  # before axe is injected
    assert len(html.encode()) < 200_000, f"{name} is {len(html)} bytes"
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"""
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"
    console.kept.mkdir(parents=True, exist_ok=True)
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)  # type: ignore[arg-type]
        shot = console.kept / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        if width == "phone":  # readable: nothing wider than the screen but scrolling tables
            overflow = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            assert not overflow, f"{name} scrolls sideways at phone width"
    page.set_viewport_size(WIDTHS["desktop"])  # type: ignore[arg-type]


def _kept(console: Console, *names: str) -> None:
    """The screenshots of the pages ``names``, at desktop and phone width, are PNG files where
    the run keeps them."""
    for name in names:
        for width in WIDTHS:
            shot = console.kept / f"{name}-{width}.png"
            assert shot.is_file(), f"no screenshot {shot}"
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG"


def _dark(console: Console, page: Page, name: str, tmp_path: Path) -> None:
    """The page again with the system set to dark mode: dark colours, and axe's contrast
    checks (part of :func:`_check`) pass in them too."""
    page.emulate_media(color_scheme="dark")
    page.reload()  # without the axe script the check before added
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background
    _check(console, page, f"{name}-dark", tmp_path)
    page.emulate_media(color_scheme="light")
    page.reload()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(13, 17, 23)", background


def _sign_in(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url + "/")
    assert page.url.endswith("/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def _docker_push(
    dockerd: DockerDaemon, server: RegistryProcess, layout: Path, user: str, ref: str,
    tmp_path: Path,
) -> str:  # fmt: skip
    """The layout's image loaded into dockerd and pushed by ``docker push`` as ``user``
    (docker compresses the layers itself: the digest is the one docker reports)."""
    target = f"{server.host}/{ref}"
    tmp_path.mkdir(exist_ok=True)
    archive = tmp_path / "image.tar"
    run_command(["skopeo", "copy", "--quiet", f"oci:{layout}:1",
                 f"docker-archive:{archive}:{target}"])  # fmt: skip
    dockerd.run("load", "-i", str(archive))
    config = tmp_path / "docker-config"
    config.mkdir()
    login = dockerd.run("--config", str(config), "login", server.host, "-u", user,
                        "--password-stdin", input=PASSWORD).stdout  # fmt: skip
    assert "Login Succeeded" in login
    pushed = dockerd.run("--config", str(config), "push", target).stdout
    dockerd.run("rmi", target)
    found = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed)
    assert found is not None, pushed
    return found.group(1)


def test_a_project_from_creation_to_vulnerabilities(
    console: Console, dockerd: DockerDaemon, tmp_path: Path
) -> None:
    url = console.server.url
    context = _context(console)
    page = context.new_page()
    watched = _watch(page, url)

    page.goto(url + "/")
    _check(console, page, "login", tmp_path)
    _sign_in(page, url, "admin", ADMIN_PASSWORD)
    _check(console, page, "projects", tmp_path)

    page.fill("#project_name", "shop")
    page.click("text=Create project")
    page.wait_for_url(url + "/projects/shop")
    page.fill("#member", "dev")
    page.select_option("#role", "2")  # developer: may push
    page.click("text=Add member")
    page.wait_for_url(url + "/projects/shop")
    members = page.locator("table", has_text="Members")
    assert members.locator("tr", has_text="dev").locator("td").nth(2).inner_text() == "developer"

    layout = tmp_path / "layout"
    python_packages_layout(layout, PACKAGES, COMMANDS)
    digest = _docker_push(dockerd, console.server, layout, "dev", "shop/pyold:1", tmp_path)
    # a second tag with idna 3.7 (which fixes PYSEC-2024-60), compared with the first below;
    # pushed now so that its scan runs while the other pages are looked at
    python_packages_layout(tmp_path / "layout2", {**PACKAGES, "idna": "3.7"}, COMMANDS)
    _docker_push(dockerd, console.server, tmp_path / "layout2", "dev", "shop/pyold:2",
                 tmp_path / "second")  # fmt: skip
    page.reload()
    _check(console, page, "project", tmp_path)  # after the push: a repository and a member
    _robot_and_quota(console, page, tmp_path)
    page.click("text=shop/pyold")
    rows = page.locator("table", has_text="Artifacts").locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["2", "1"], rows  # newest first
    page.fill("#q", "no-such-tag")
    page.click("text=Show")
    assert digest[:19] not in page.content()
    page.fill("#q", "1")
    page.click("text=Show")
    _check(console, page, "repository", tmp_path)
    page.click(f"text={digest[:19]}")
    layers = page.locator("table", has_text="Layers")
    assert COMMANDS[1] in layers.inner_text() and COMMANDS[0] in layers.inner_text()
    pull = page.input_value("#pull-docker")
    assert pull == f"docker pull {console.server.host}/shop/pyold@{digest}"
    assert page.input_value("#pull-dockyard").startswith("dockyard pull ")

    # the scan runs after the push: reload until its findings are there
    findings = page.locator("table", has_text="Vulnerabilities").locator("tbody tr")
    for _ in range(150):
        if "PYSEC-2024-60" in findings.all_inner_texts().__str__():
            break
        page.wait_for_timeout(200)
        page.reload()
    everything = findings.all_inner_texts()
    assert any("PYSEC-2024-60" in row for row in everything), everything
    assert any("PYSEC-2023-212" in row for row in everything), everything
    page.select_option("#severity", "HIGH")
    page.click("text=Filter")
    high = findings.all_inner_texts()
    assert high and all("HIGH" in row for row in high), high
    assert any("PYSEC-2024-60" in row for row in high)
    assert not any("PYSEC-2023-212" in row for row in high)  # MEDIUM: filtered out
    # each finding links to its advisory: idna's fix commit, from the OSV record's references
    idna = findings.filter(has_text="PYSEC-2024-60")
    advisory = idna.locator("a[href='https://github.com/kjd/idna/commit/"
                            "1d365e17e10d72d0b7876316fc7b9ca0eebdd38d']")  # fmt: skip
    assert advisory.count() == 1
    # the page's findings are Harbor's vulnerabilities addition, as the API gives it to dev
    r = httpx.get(f"{console.server.url}/api/v2.0/projects/shop/repositories/pyold/artifacts/"
                  f"{digest}/additions/vulnerabilities", headers=basic("dev", PASSWORD))  # fmt: skip
    assert r.status_code == 200, r.text
    (report,) = r.json().values()
    assert report["scan_status"] == "Success" and report["severity"] == "High", report
    # when the scan ran: the report's generated_at, on the page above the findings
    made = report["generated_at"]
    assert page.locator("#scan-time").inner_text() == f"Scanned at {made}"
    assert page.locator("#scan-time time").get_attribute("datetime") == made
    listed = {(v["id"], v["severity"].upper(), v["package"]) for v in report["vulnerabilities"]}
    with_overview = check_list(
        httpx.get(
            f"{console.server.url}/api/v2.0/projects/shop/repositories/pyold/artifacts",
            params={"with_scan_overview": "true", "with_accessory": "true"},
            headers=basic("dev", PASSWORD),
        ),
        "Artifact",
    )  # held to Harbor's definitions
    overview = next(a for a in with_overview if a["digest"] == digest)["scan_overview"]
    assert [x["severity"] for x in overview.values()] == ["High"], overview
    page.select_option("#severity", "")
    page.click("text=Filter")
    shown = {tuple(row.split("\t")[:3]) for row in findings.all_inner_texts()}
    assert shown == listed or len(report["vulnerabilities"]) > 100, (shown, listed)
    _check(console, page, "artifact", tmp_path)
    _dark(console, page, "artifact", tmp_path)
    _vulnerability_filters_and_hostile_text(page)

    page.click("text=Dashboard")
    vulns = page.locator("table", has_text="Artifacts by their worst vulnerability (table)")
    assert "High1" in vulns.inner_text().replace("\t", "").replace(" ", ""), vulns.inner_text()
    # the chart is the API's summary for the signed-in user (dev), count for count
    r = httpx.get(f"{console.server.url}/api/v2.0/vulnerabilities/summary",
                  headers=basic("dev", PASSWORD))  # fmt: skip
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["high_cnt"] == 1 and summary["total_artifact"] >= 1, summary
    chart = [row.split("\t") for row in vulns.locator("tbody tr").all_inner_texts()]
    fields = ["critical_cnt", "high_cnt", "medium_cnt", "low_cnt", "unknown_cnt", "none_cnt",
              "unscanned_cnt"]  # fmt: skip
    assert [int(c[1]) for c in chart] == [summary[f] for f in fields], (chart, summary)
    storage = page.locator("table", has_text="Storage used by project (table)")
    assert "shop" in storage.inner_text()
    for _ in range(50):  # the audit writer's batch
        if (
            page.locator("#activity-chart rect.push").count()
            and "Pushes\t2" in page.locator("table", has_text="Pushes and pulls").first.inner_text()
        ):
            break
        page.wait_for_timeout(200)
        page.reload()
    totals = page.locator("table", has_text="Pushes and pulls").first.inner_text()
    assert "Pushes\t2\t2" in totals, totals
    _check(console, page, "dashboard", tmp_path)
    _dark(console, page, "dashboard", tmp_path)
    _compare(console, page, tmp_path)
    # both scanned now: the repository page's badges say so, with the platform of each
    page.goto(url + "/projects/shop/repository?name=pyold")
    artifacts = page.locator("table", has_text="Artifacts").locator("tbody tr")
    for tag, worst in (("1", "worst: HIGH"), ("2", "worst: MEDIUM")):
        row = artifacts.filter(has=page.locator("td:first-child", has_text=tag)).inner_text()
        assert "linux/amd64" in row and worst in row, row

    page.click("text=Audit log")
    assert "shop" in page.locator("table").inner_text()
    _check(console, page, "audit", tmp_path)

    page.click("text=Sign out")
    page.wait_for_url(url + "/login")
    page.goto(url + "/projects/shop")
    assert page.url.endswith("/login")  # the session is gone
    assert not watched.problems, watched.problems
    context.close()
    _kept(console, "login", "projects", "project", "project-robot", "repository", "artifact",
          "artifact-dark", "dashboard", "dashboard-dark", "compare", "compare-reversed",
          "audit")  # fmt: skip


def _vulnerability_filters_and_hostile_text(page: Page) -> None:
    """The findings filtered by text and by having a fix; an advisory written as markup with
    a ``javascript:`` reference shows as text, with only its web address as a link."""
    findings = page.locator("table", has_text="Vulnerabilities").locator("tbody tr")
    page.select_option("#severity", "")
    page.fill("#vuln-q", "urllib3")
    page.click("text=Filter")
    rows = findings.all_inner_texts()
    assert rows and all("urllib3" in row for row in rows), rows
    assert page.locator("#vuln-count").inner_text().startswith(f"{len(rows)} of ")
    page.fill("#vuln-q", "in idna")  # the hostile advisory's title
    page.check("#fixable")
    page.click("text=Filter")
    rows = findings.all_inner_texts()
    assert len(rows) == 1 and "DYXSS-1" in rows[0], rows
    assert f"{SCRIPT} in idna" in rows[0]  # the markup is the text shown
    assert "javascript:alert(3)" in rows[0]  # as text …
    cell = findings.first
    assert cell.locator("a[href^='javascript']").count() == 0  # … never a link
    assert cell.locator("a[href^='https://example.org/DYXSS-1']").count() == 1
    assert cell.locator("script, img").count() == 0
    # a long report goes page by page, the filters kept
    page.goto(page.url.split("?")[0] + "?" + "&".join(
        f"{k}={v}" for k, v in [("repo", "pyold"), ("digest", _query(page.url, "digest")),
                                ("q", "idna"), ("page_size", "1")]))  # fmt: skip
    first = findings.all_inner_texts()
    pager = page.get_by_role("navigation", name="findings pages")
    assert len(first) == 1 and "Page 1 of " in pager.inner_text(), first
    pager.get_by_role("link", name="Next page").click()
    second = findings.all_inner_texts()
    assert len(second) == 1 and second != first and "idna" in second[0], second
    assert "Page 2 of " in page.get_by_role("navigation", name="findings pages").inner_text()


def _query(url: str, name: str) -> str:
    found = re.search(rf"[?&]{name}=([^&]*)", url)
    assert found is not None, url
    return found.group(1)


def _robot_and_quota(console: Console, page: Page, tmp_path: Path) -> None:
    """On the project page: a robot made (its secret shown once, and working), the storage
    limit set by the administrator and shown as used of the limit."""
    url = console.server.url
    page.fill("#quota-limit", "1")
    page.select_option("#quota-unit", "GiB")
    page.click("text=Set limit")
    page.wait_for_url(url + "/projects/shop")
    assert "used of 1.0 GiB" in page.locator("#quota-text").inner_text()
    assert page.locator("#quota-meter").get_attribute("max") == str(1 << 30)
    page.fill("#robot_name", "ci")
    page.fill("#robot_description", "<b>deploys</b>")
    page.check("input[name=access_push]")
    page.click("text=Create robot")
    secret = page.input_value("#robot-secret")
    page.click("button[data-copy=robot-secret]")
    assert page.locator("button[data-copy=robot-secret]").inner_text() == "Copied"
    robots = page.locator("table", has_text="Robot accounts")
    assert "<b>deploys</b>" in robots.inner_text()  # text, not markup
    _check(console, page, "project-robot", tmp_path)
    r = httpx.get(f"{url}/api/v2.0/projects/shop/repositories",
                  headers=basic("robot$shop+ci", secret))  # fmt: skip
    assert r.status_code == 200 and "shop/pyold" in r.text
    page.goto(url + "/projects/shop")
    assert secret not in page.content()  # shown once


def _compare(console: Console, page: Page, tmp_path: Path) -> None:
    """Tags 1 and 2 compared: PYSEC-2024-60 fixed by idna 3.7, the os-release layer shared."""
    url = console.server.url
    page.goto(url + "/projects/shop/repository?name=pyold")
    page.select_option("#a", "1")
    page.select_option("#b", "2")
    page.click("button:has-text('Compare')")
    fixed = page.locator("table", has_text="Vulnerabilities fixed and introduced")
    for _ in range(150):  # the second image's scan
        if fixed.count() and "PYSEC-2024-60" in fixed.inner_text():
            break
        page.wait_for_timeout(200)
        page.reload()
    rows = fixed.locator("tbody tr").all_inner_texts()
    assert any(r.startswith("fixed") and "PYSEC-2024-60" in r for r in rows), rows
    # the page's table is the API's comparison, as dev reads it
    r = httpx.get(f"{url}/api/v2.0/projects/shop/repositories/pyold/artifacts/1/compare",
                  params={"with": "2"}, headers=basic("dev", PASSWORD))  # fmt: skip
    assert r.status_code == 200, r.text
    from_api = {(v["status"], v["id"]) for v in r.json()["vulnerabilities"]}
    assert {tuple(row.split("\t")[:2]) for row in rows} == from_api, (rows, from_api)
    assert not any(r.startswith("introduced") for r in rows), rows
    packages = page.locator("table", has_text="Packages").locator("tbody tr").all_inner_texts()
    assert any("idna" in r and "3.6" in r and "3.7" in r for r in packages), packages
    layers = page.locator("table", has_text="Layers").locator("tbody tr").all_inner_texts()
    assert sum(r.startswith("shared") for r in layers) == 1, layers  # os-release
    _check(console, page, "compare", tmp_path)
    # the other way round (2 against 1): idna goes back to 3.6, PYSEC-2024-60 is introduced
    page.goto(url + "/projects/shop/repository?name=pyold")
    page.select_option("#a", "2")
    page.select_option("#b", "1")
    page.click("button:has-text('Compare')")
    back = page.locator("table", has_text="Vulnerabilities fixed and introduced")
    rows = back.locator("tbody tr").all_inner_texts()
    assert any(r.startswith("introduced") and "PYSEC-2024-60" in r for r in rows), rows
    assert not any(r.startswith("fixed") for r in rows), rows
    r = httpx.get(f"{url}/api/v2.0/projects/shop/repositories/pyold/artifacts/2/compare",
                  params={"with": "1"}, headers=basic("dev", PASSWORD))  # fmt: skip
    assert r.status_code == 200, r.text
    from_api = {(v["status"], v["id"]) for v in r.json()["vulnerabilities"]}
    assert ("introduced", "PYSEC-2024-60") in from_api, from_api
    assert {tuple(row.split("\t")[:2]) for row in rows} == from_api, (rows, from_api)
    _check(console, page, "compare-reversed", tmp_path)


def test_a_user_without_permission_sees_neither_pages_nor_data(
    console: Console, tmp_path: Path
) -> None:
    """… and the error pages they get (403, 404) pass axe too. The private project is made
    here, and the administrator shown it first, whatever ran before."""
    url = console.server.url
    admin = basic("admin", ADMIN_PASSWORD)
    r = httpx.post(f"{url}/api/v2.0/projects", json={"project_name": "vault"}, headers=admin)
    assert r.status_code == 201, r.text
    base = {"etc/os-release": b"ID=vault\n"}
    with httpx.Client(base_url=url, headers=admin) as api:
        one = push_files_image(api, "vault/keys", "1", [base, {"srv/key-1": b"1\n"}],
                               ["ADD os-release /etc/", "COPY key-1 /srv/"])  # fmt: skip
        push_files_image(api, "vault/keys", "2", [base, {"srv/key-2": b"2\n"}],
                         ["ADD os-release /etc/", "COPY key-2 /srv/"])  # fmt: skip
    layer = "/srv/key-1"  # a file only tag 1 has: the comparison lists it
    # there is something to hide: the administrator reads it all
    r = httpx.get(f"{url}/api/v2.0/projects/vault/repositories", headers=admin)
    assert r.status_code == 200 and "vault/keys" in r.text, r.text
    r = httpx.get(f"{url}/api/v2.0/projects/vault/repositories/keys/artifacts/1/compare",
                  params={"with": "2"}, headers=admin)  # fmt: skip
    assert r.status_code == 200 and layer in r.text, r.text
    context = _context(console, "phone")
    page = context.new_page()
    _sign_in(page, url, "admin", ADMIN_PASSWORD)
    assert "vault" in page.locator("main").inner_text()
    page.goto(url + "/projects/vault/repository?name=keys")
    assert one[:19] in page.content()
    context.close()

    context = _context(console, "phone")
    page = context.new_page()
    _sign_in(page, url, "outsider", PASSWORD)
    assert "vault" not in page.locator("main").inner_text()
    for path in ("/projects/vault", "/projects/vault/repository?name=keys",
                 f"/projects/vault/artifact?repo=keys&digest={one}"):  # fmt: skip
        response = page.goto(url + path)
        assert response is not None and response.status in (403, 404), path
        assert one[:19] not in page.content(), path
        assert "keys" not in page.locator("table").all_inner_texts().__str__(), path
        assert re.search(r"outsider may not|not found", page.content())
    response = page.goto(url + "/admin/gc")  # an administrator's page
    assert response is not None and response.status == 403
    _check(console, page, "error-403", tmp_path)
    response = page.goto(url + "/no/such/page")
    assert response is not None and response.status == 404
    _check(console, page, "error-404", tmp_path)
    outsider = basic("outsider", PASSWORD)
    r = httpx.get(f"{url}/api/v2.0/projects/vault/repositories", headers=outsider)
    assert r.status_code == 403
    # neither the comparison nor the vulnerability summary gives them anything of vault
    r = httpx.get(f"{url}/api/v2.0/projects/vault/repositories/keys/artifacts/1/compare",
                  params={"with": "2"}, headers=outsider)  # fmt: skip
    assert r.status_code in (403, 404) and layer not in r.text and one not in r.text
    r = httpx.get(f"{url}/api/v2.0/vulnerabilities/summary", headers=outsider)
    assert r.status_code == 200 and r.json()["total_artifact"] == 0, r.text
    r = httpx.get(f"{url}/api/v2.0/vulnerabilities/summary", headers=admin)
    assert r.status_code == 200 and r.json()["total_artifact"] >= 2, r.text
    r = httpx.get(f"{url}/api/v2.0/vulnerabilities/summary")
    assert r.status_code == 401, r.text
    context.close()
    _kept(console, "error-403", "error-404")


def test_policies_and_garbage_collection(console: Console, tmp_path: Path) -> None:
    """A retention rule added and dry-run (its result table), an immutability rule, a webhook
    and its delivery log after a push, and a garbage collection dry run with its log."""
    url = console.server.url
    admin = basic("admin", ADMIN_PASSWORD)
    r = httpx.post(f"{url}/api/v2.0/projects", json={"project_name": "ops"}, headers=admin)
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=url, headers=admin) as api:
        for tag in ("1", "2", "3"):
            push_with_history(api, "ops/app", tag)
    context = _context(console)
    page = context.new_page()
    watched = _watch(page, url)
    _sign_in(page, url, "admin", ADMIN_PASSWORD)
    page.goto(url + "/projects/ops")
    page.click("text=Policies")
    page.wait_for_url(url + "/projects/ops/policies")

    page.select_option("#template", "latestPushedK")
    page.fill("#rule-value", "2")
    page.click("text=Save rule")
    page.wait_for_url(url + "/projects/ops/policies")
    rules = page.locator("table", has_text="Retention rules").locator("tbody tr")
    assert "the most recently pushed 2 artifacts" in rules.first.inner_text()
    page.fill("#imm_tag_pattern", "1")
    page.click("text=Add immutability rule")
    page.wait_for_url(url + "/projects/ops/policies")
    with WebhookReceiver() as receiver:
        page.fill("#webhook_name", "ci")
        page.fill("#webhook_address", f"{receiver.url}/hook")
        page.check("input[name=event_PUSH_ARTIFACT]")
        page.click("text=Add webhook")
        page.wait_for_url(url + "/projects/ops/policies")
        _check(console, page, "policies", tmp_path)

        page.click("button:has-text('Dry run')")
        page.wait_for_url(re.compile(r".*/projects/ops/retention/runs/\d+$"))
        for _ in range(100):  # the run goes on in the background
            if page.locator("#run-status").inner_text() not in ("Pending", "Running"):
                break
            page.wait_for_timeout(100)
            page.reload()
        assert page.locator("#run-status").inner_text() == "Success"
        results = page.locator("table", has_text="ops/app").locator("tbody tr").all_inner_texts()
        # tag 1 would go, but the immutability rule keeps it (and the log says why)
        outcomes = [row.split("\t")[-1] for row in results]
        assert sorted(outcomes[:3]) == ["IMMUTABLE", "RETAIN", "RETAIN"], outcomes
        assert "immutab" in outcomes[3], outcomes
        _check(console, page, "retention-dry-run", tmp_path)

        with httpx.Client(base_url=url, headers=admin) as api:
            push_files_image(api, "ops/app", "4",
                             [{"etc/os-release": b"ID=ops\n"}, {"srv/app/run.sh": b"#!/bin/sh\n"}],
                             ["ADD os-release /etc/", "COPY run.sh /srv/app/"])  # fmt: skip
        receiver.wait_for(1)
        page.goto(url + "/projects/ops/policies")
        page.get_by_role("link", name="ci", exact=True).click()
        page.wait_for_url(re.compile(r".*/projects/ops/webhooks/\d+$"))
        deliveries = page.locator("table", has_text="Deliveries").locator("tbody tr")
        for _ in range(100):  # the worker records the attempt after the answer
            if "Success" in deliveries.first.inner_text():
                break
            page.wait_for_timeout(100)
            page.reload()
        assert "PUSH_ARTIFACT" in deliveries.first.inner_text()
        assert "Success" in deliveries.first.inner_text()
        _check(console, page, "webhook", tmp_path)

    _files_and_signatures(console, page, tmp_path)
    page.click("text=Garbage collection")
    page.wait_for_url(url + "/admin/gc")
    page.check("#gc-dry-run")
    page.click("text=Run garbage collection")
    page.wait_for_url(re.compile(r".*/admin/gc/\d+$"))
    for _ in range(100):
        if page.locator("#gc-status").inner_text() not in ("Pending", "Running"):
            break
        page.wait_for_timeout(100)
        page.reload()
    assert page.locator("#gc-status").inner_text() == "Success"
    assert page.locator("#gc-log").inner_text().strip()
    _check(console, page, "gc-run", tmp_path)
    page.click("text=Back to garbage collection")
    assert "dry run" in page.locator("table", has_text="Garbage collection runs").inner_text()
    _check(console, page, "gc", tmp_path)
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.wait_for_url(url + "/admin/jobs")
    ops = page.locator("table", has_text="Retention and webhook deliveries").locator(
        "tr", has_text="ops"
    )
    # the retention dry run above; the webhook's latest delivery is the signature's push, made
    # after its receiver closed (so still being retried)
    assert "(dry run): Success" in ops.inner_text() and "ci: " in ops.inner_text()
    # scan every image again: the run's counts until it is done, then a schedule
    page.click("button:has-text('Scan all now')")
    page.wait_for_url(url + "/admin/jobs")
    for _ in range(300):
        if page.locator("#scan-all").inner_text().startswith("Done:"):
            break
        page.wait_for_timeout(200)
        page.reload()
    state = page.locator("#scan-all").inner_text()
    done = re.match(r"Done: (\d+) of (\d+) images \(.*\); started by Manual\.", state)
    assert done is not None and done.group(1) == done.group(2) and int(done.group(1)) >= 4, state
    page.select_option("#scan-type", "Daily")
    page.click("text=Save scan schedule")
    page.wait_for_url(url + "/admin/jobs")
    assert "Daily (cron" in page.locator("#scan-all-schedule").inner_text()
    _check(console, page, "jobs", tmp_path)
    page.get_by_role("link", name="Replication", exact=True).click()
    page.wait_for_url(url + "/admin/replication")
    page.fill("#reg-name", "nowhere")
    page.fill("#reg-url", "http://127.0.0.1:9")
    page.click("text=Add and test the connection")
    assert "failed" in page.locator("#connection").inner_text()
    assert page.locator("#pol-name").count() == 1  # the policy form, now there is a registry
    _check(console, page, "replication", tmp_path)
    # a policy to that registry, replicated now: its execution's page (nothing listens there:
    # the copy retries, then fails)
    page.fill("#pol-name", "to-nowhere")
    page.fill("#pol-name-filter", "ops/**")
    page.click("text=Add the policy")
    page.wait_for_url(url + "/admin/replication")
    page.get_by_role("button", name="Replicate to-nowhere now").click()
    page.wait_for_url(re.compile(r".*/admin/replication/executions/\d+$"))
    assert page.locator("#exec-status").inner_text() in ("InProgress", "Failed")
    assert "to-nowhere" in page.locator("main").inner_text()
    _check(console, page, "replication-execution", tmp_path)
    assert not watched.problems, watched.problems
    context.close()
    _kept(console, "policies", "retention-dry-run", "webhook", "packages", "files", "gc-run", "gc",
          "jobs", "replication", "replication-execution")  # fmt: skip


def _files_and_signatures(console: Console, page: Page, tmp_path: Path) -> None:
    """The artifact ops/app:4: a cosign signature listed with its digest, the SBOM links,
    and the files of its layers browsed down to a file."""
    url = console.server.url
    with httpx.Client(base_url=url, headers=basic("admin", ADMIN_PASSWORD)) as api:
        digest = api.get("/api/v2.0/projects/ops/repositories/app/artifacts/4").json()["digest"]
        signature, layer = push_cosign_signature(api, "ops/app", digest)
    page.goto(url + f"/projects/ops/artifact?repo=app&digest={digest}")
    referrers = page.locator("table", has_text="Signatures and other referrers")
    assert signature in referrers.inner_text() and layer in referrers.inner_text()
    assert page.locator("#sbom a").count() == 2
    page.get_by_role("link", name="Browse the packages as a table").click()
    page.wait_for_url(re.compile(r".*/projects/ops/packages\?.*"))
    _check(console, page, "packages", tmp_path)
    page.go_back()
    page.get_by_role("link", name="Filesystem up to layer 2").click()
    rows = page.locator("table", has_text="Files in /").locator("tbody tr")
    assert rows.count() >= 1
    first = rows.first.locator("a")
    name = first.inner_text()
    first.click()
    assert page.locator("table", has_text=f"Files in /{name.rstrip('/')}").count() == 1
    _check(console, page, "files", tmp_path)


def test_the_open_registry_in_a_browser(console: Console, tmp_path: Path) -> None:
    """What ``make serve`` runs (no auth): the console at ``/`` with nobody signing in — every
    repository, with and without a namespace, the push help, a repository, an artifact with
    its pull command, its files, and two tags compared; checked like every other page."""
    base = {"etc/os-release": b"ID=open\n"}
    with start_registry(tmp_path / "open" / "data") as server:
        url = server.url
        with httpx.Client(base_url=url) as api:
            one = push_files_image(api, "team/app", "1", [base, {"srv/one": b"1\n"}],
                                   ["ADD os-release /etc/", "COPY one /srv/"])  # fmt: skip
            push_files_image(api, "team/app", "2", [base, {"srv/two": b"2\n"}],
                             ["ADD os-release /etc/", "COPY two /srv/"])  # fmt: skip
            solo = push_files_image(api, "busybox", "latest", [base], ["ADD os-release /etc/"])
        context = _context(console)
        page = context.new_page()
        watched = _watch(page, url)
        page.goto(url + "/")
        assert page.url == url + "/"  # no sign-in page
        assert "open registry: no sign-in" in page.locator("header").inner_text()
        assert page.get_by_role("button", name="Sign out").count() == 0
        names = page.locator("table", has_text="Repositories").locator("tbody tr td:first-child")
        assert names.all_inner_texts() == ["busybox", "team/app"]
        assert (
            f"docker push {server.host}/busybox:latest" in page.locator("#push-help").inner_text()
        )
        _check(console, page, "open-home", tmp_path)

        page.click("text=team/app")
        rows = page.locator("table", has_text="Artifacts").locator("tbody tr").all_inner_texts()
        assert [r.split("\t")[0] for r in rows] == ["2", "1"], rows
        _check(console, page, "open-repository", tmp_path)
        page.click(f"text={one[:19]}")
        assert page.input_value("#pull-docker") == f"docker pull {server.host}/team/app@{one}"
        assert "COPY one /srv/" in page.locator("table", has_text="Layers").inner_text()
        _check(console, page, "open-artifact", tmp_path)
        page.get_by_role("link", name="Files of layer 2").click()
        page.get_by_role("link", name="srv/").click()
        assert "one" in page.locator("table", has_text="Files in /srv").inner_text()
        _check(console, page, "open-files", tmp_path)

        page.goto(url + "/projects/team/repository?name=app")
        page.select_option("#a", "1")
        page.select_option("#b", "2")
        page.click("button:has-text('Compare')")
        files = page.locator("table", has_text="Files").locator("tbody tr").all_inner_texts()
        assert any(r.startswith("removed") and "/srv/one" in r for r in files), files
        assert any(r.startswith("added") and "/srv/two" in r for r in files), files
        _check(console, page, "open-compare", tmp_path)

        page.goto(url + "/")
        page.click("text=busybox")
        page.click(f"text={solo[:19]}")
        assert page.input_value("#pull-docker") == f"docker pull {server.host}/busybox@{solo}"
        _check(console, page, "open-artifact-no-namespace", tmp_path)
        assert not watched.problems, watched.problems
        context.close()
    _kept(console, "open-home", "open-repository", "open-artifact", "open-files", "open-compare",
          "open-artifact-no-namespace")  # fmt: skip
