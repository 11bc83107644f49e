"""``dockyard ui`` in a real browser (Debian's chromium through Playwright), as a real process
over a local store built by ``dockyard``: search the images, open one, read its layers, browse
its files to the wasted ones, scan it, list its packages, compare two images. Every page is checked by axe-core
(no serious or critical violations), logs no JavaScript error and no failed request, opens no
dialog (markup in labels, commands and file names stays text), stays under 200 KB, does not
scroll sideways at phone width, and is photographed at desktop and phone width (into
``$DOCKYARD_TEST_ARTIFACTS/ui-screenshots``, which ``make test`` sets so that CI keeps them,
else the test's temporary folder; the test ends by checking the PNGs are there); the image
list also in dark mode."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, Response, sync_playwright

from _infra.ui import HOSTILE, make_ui_store, running_ui

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make js-deps` (npm ci)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _watch(page: Page, problems: list[str]) -> None:
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    page.on("dialog", lambda d: _dialog(d, problems))

    def response(resp: Response) -> None:
        if resp.status >= 400:
            problems.append(f"{resp.status}: {resp.url}")

    page.on("response", response)


def _dialog(dialog: Dialog, problems: list[str]) -> None:
    problems.append(f"a dialog opened: {dialog.message}")
    dialog.dismiss()


def _check(page: Page, name: str, shots: Path) -> None:
    """Size, axe, sideways scrolling and screenshots of the page now shown."""
    html = page.content()
    assert len(html.encode()) < 200_000, f"{name} is {len(html)} bytes"
    assert HOSTILE not in html
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))"""
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"
    shots.mkdir(parents=True, exist_ok=True)
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)  # type: ignore[arg-type]
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        if width == "phone":
            overflow = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            assert not overflow, f"{name} scrolls sideways at phone width"
    page.set_viewport_size(WIDTHS["desktop"])  # type: ignore[arg-type]


def test_browse_the_local_store(browser: Browser, tmp_path: Path) -> None:
    store = make_ui_store(tmp_path / "store", tmp_path)
    shots = tmp_path / "screenshots"
    if extra := os.environ.get("DOCKYARD_TEST_ARTIFACTS"):
        shots = Path(extra) / "ui-screenshots"
        shutil.rmtree(shots, ignore_errors=True)  # only this run's pages: none left from before
    problems: list[str] = []
    with running_ui(store.root) as ui:
        # axe is injected as an inline script, which the UI's CSP forbids
        context = browser.new_context(viewport=WIDTHS["desktop"], bypass_csp=True)  # type: ignore[arg-type]
        page = context.new_page()
        _watch(page, problems)
        page.goto(ui.url)
        assert page.get_by_role("table", name="Images").locator("tbody tr").count() == 4
        _check(page, "images", shots)
        page.emulate_media(color_scheme="dark")  # the system's setting: contrast checked too
        page.reload()  # without the axe script the first check added
        _check(page, "images-dark", shots)
        page.emulate_media(color_scheme="light")

        page.fill("#q", "app")
        page.select_option("#sort", "name")
        page.select_option("#order", "asc")
        page.click("button[type=submit]")
        rows = page.get_by_role("table", name="Images").locator("tbody tr")
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == [
            "app:v1",
            "app:v2",
        ]
        page.click("text=app:v1")
        steps = page.get_by_role("table", name="Layers: each step")
        assert "COPY big.bin /data/big.bin" in steps.inner_text()
        assert HOSTILE in page.get_by_role("table", name="Labels").inner_text()
        _check(page, "image", shots)

        steps.locator("tr").last.locator("text=filesystem").click()
        page.click("a:text-is('data/')")
        files = page.get_by_role("table", name="Files in /data")
        assert "wasted" in files.inner_text() and "big.bin" in files.inner_text()
        _check(page, "files", shots)

        page.select_option("#layer", "3")
        page.click("button:text-is('Show')")
        page.click("a:text-is('app/')")
        assert f"{HOSTILE}.txt" in page.get_by_role("table", name="Files in /app").inner_text()

        page.goto(ui.url)
        page.click("text=py:1")
        page.click("text=Scan this image")
        vulns = page.get_by_role("table", name="Vulnerabilities")
        assert "PYSEC-2024-60" in vulns.inner_text() and "PYSEC-2023-212" in vulns.inner_text()
        page.select_option("#severity", "HIGH")
        page.click("button:text-is('Filter')")
        assert (
            "PYSEC-2023-212" not in page.get_by_role("table", name="Vulnerabilities").inner_text()
        )
        _check(page, "vulnerabilities", shots)
        page.goto(f"{ui.url}/image?id=py:1")
        assert page.input_value("#use-run") == "dockyard run --rm py:1"
        page.click("text=The packages it holds")
        packages = page.get_by_role("table", name="Packages (2 of 2)").inner_text()
        assert "idna\t3.6" in packages and "urllib3\t1.26.17" in packages
        assert page.locator("a[download]").count() == 2  # SPDX and CycloneDX
        _check(page, "packages", shots)

        page.click("nav >> text=Compare")
        page.select_option(
            "#a", label=next(o for o in _labels(page, "#a") if o.startswith("app:v1"))
        )
        page.select_option(
            "#b", label=next(o for o in _labels(page, "#b") if o.startswith("app:v2"))
        )
        page.click("button:text-is('Compare')")
        changed = page.get_by_role("table", name="Files", exact=True).inner_text()
        assert "/data/other.bin" in changed and f"/app/{HOSTILE}.txt" in changed
        _check(page, "compare", shots)
        context.close()
    assert problems == []
    pages = ("images", "images-dark", "image", "files", "vulnerabilities", "packages", "compare")
    for name in pages:
        for width in WIDTHS:
            shot = shots / f"{name}-{width}.png"
            assert shot.is_file(), f"no screenshot {shot}"
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{shot} is not a PNG"
    assert len(list(shots.glob("*.png"))) == len(pages) * len(WIDTHS)


def _labels(page: Page, selector: str) -> list[str]:
    return [
        str(t)
        for t in page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.textContent)")
    ]
