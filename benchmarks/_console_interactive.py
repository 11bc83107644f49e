"""Time to interactive of console pages in Debian's chromium (headless, through Playwright).

Usage: python _console_interactive.py BASE_URL COOKIE_JAR REPEAT LABEL=PATH...

``COOKIE_JAR``: curl's cookie jar holding the signed-in ``dockyard_session``. Each load is in
a fresh browser context (an empty cache: the stylesheet and script are fetched too, as on a
first visit). From the page's Navigation Timing entry: ``domInteractive`` (the document
parsed, the page usable) and ``loadEventEnd`` (everything it loads loaded), in ms since the
navigation started; the medians of REPEAT loads are printed as a Markdown table.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
TIMING = """() => { const t = performance.getEntriesByType('navigation')[0];
  return [t.domInteractive, t.loadEventEnd, t.transferSize]; }"""


def _session(jar: Path) -> str:
    for line in jar.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 7 and fields[5] == "dockyard_session":
            return fields[6]
    raise SystemExit(f"{jar}: no dockyard_session cookie (not signed in?)")


def main(base: str, jar: Path, repeat: int, pages: list[str]) -> None:
    cookie = {"name": "dockyard_session", "value": _session(jar),
              "domain": urlsplit(base).hostname or "", "path": "/"}  # fmt: skip
    print("| page | interactive (domInteractive) median (min-max) | loaded (loadEventEnd) median |")
    print("|:---|---:|---:|")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for entry in pages:
            label, _, path = entry.partition("=")
            interactive, loaded = [], []
            for _ in range(repeat):
                context = browser.new_context()
                context.add_cookies([cookie])  # type: ignore[list-item]
                page = context.new_page()
                response = page.goto(base + path)
                if response is None or response.status != 200:
                    raise SystemExit(f"{path}: {response.status if response else 'no answer'}")
                page.wait_for_load_state("load")
                ready, done, _size = page.evaluate(TIMING)
                interactive.append(float(ready))
                loaded.append(float(done))
                context.close()
            interactive.sort()
            print(f"| {label} | {statistics.median(interactive):.0f} ms "
                  f"({interactive[0]:.0f}-{interactive[-1]:.0f}) | "
                  f"{statistics.median(loaded):.0f} ms |")  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
