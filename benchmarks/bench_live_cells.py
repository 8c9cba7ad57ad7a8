"""Many live job cells in JupyterLab: does a notebook of 30 or 100 `%%imagine` cells stay smooth?

For each size N, two notebooks run in the same JupyterLab and Chromium (1400x900) on the embedded
simulator: the baseline has N cells that print a line, the other N `%%imagine` cells (one job
each). Once every cell has run and one more cell has been executed (which applies
`Imagine.max_live_views`), the page is measured: live job views, DOM nodes, long tasks (the
browser's own >50 ms report) and the time from a key press in a cell's editor to the next frame
(median of 10). Figures are printed with their ratio to the baseline of the same size.
Needs a Chromium (see tests/browser/harness.py). Run: ``python benchmarks/bench_live_cells.py
[sizes...]`` (default: 30 100).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.harness import (CHROME_ARGS, KEY_TO_FRAME, LONG_TASKS,  # noqa: E402
                                   JupyterServer, NotebookPage, find_chromium)

LOAD = "%load_ext apiframe_magic"
PAGE_FIGURES = """() => ({nodes: document.getElementsByTagName('*').length,
    live: document.querySelectorAll('.amj-job').length,
    long: window.__amjLong.length, longest: Math.max(0, ...window.__amjLong)})"""


def measure(browser, server: JupyterServer, name: str, cells: list[str]) -> dict:
    """Run every cell, then one more, and read the page's figures."""
    server.write_notebook(name, [LOAD, *cells, "'all cells ran'"])
    page = NotebookPage(browser, server, name, "lab", (LONG_TASKS,)).open()
    try:
        started = time.monotonic()
        page.run_all()
        last = page.outputs(len(cells) + 1)
        last.get_by_text("all cells ran").wait_for(timeout=900_000)
        page.wait_idle(timeout=900_000)
        if any("%%imagine" in cell for cell in cells):   # every job finished, its images shown
            page.page.wait_for_function(
                "() => !document.querySelector('.amj-job [role=progressbar]')", timeout=900_000)
        ran = time.monotonic() - started
        editor = page.panel.locator(".jp-Cell").last.locator(".cm-content")
        editor.click()
        page.page.keyboard.press("Shift+Enter")
        page.wait_idle()
        page.page.wait_for_timeout(1_000)   # let the closed views leave the page
        figures = page.page.evaluate(PAGE_FIGURES)
        figures["key_ms"] = page.panel.locator(".jp-Cell").last.locator(".cm-content") \
            .evaluate(KEY_TO_FRAME)
        figures["run_s"] = ran
        return figures
    finally:
        page.close()
        server.shutdown_sessions()


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def main(sizes: list[int]) -> None:
    executable = find_chromium()
    if executable is None:
        sys.exit("no Chromium: `apt-get install -y chromium` (see tests/browser/harness.py)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as base, sync_playwright() as playwright:
        server = JupyterServer(Path(base)).start()
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROME_ARGS)
        try:
            print(f"{'cells':>5}  {'notebook':<9} {'live':>4} {'DOM nodes':>10} {'long tasks':>10} "
                  f"{'longest ms':>10} {'key→frame ms':>12} {'run s':>6}")
            for size in sizes:
                plain = measure(browser, server, f"plain-{size}.ipynb",
                                [f"print('a paper boat number {n}')" for n in range(size)])
                jobs = measure(browser, server, f"jobs-{size}.ipynb",
                               [f"%%imagine\na paper boat number {n} --ar 3:2"
                                for n in range(size)])
                for label, row in (("baseline", plain), ("imagine", jobs)):
                    print(f"{size:>5}  {label:<9} {row['live']:>4} {row['nodes']:>10} "
                          f"{row['long']:>10} {row['longest']:>10.0f} {row['key_ms']:>12.1f} "
                          f"{row['run_s']:>6.0f}")
                print(f"{'':>5}  {'ratio':<9} {'':>4} {ratio(jobs['nodes'], plain['nodes']):>10} "
                      f"{'':>10} {'':>10} {ratio(jobs['key_ms'], plain['key_ms']):>12}")
        finally:
            browser.close()
            server.stop()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [30, 100])
