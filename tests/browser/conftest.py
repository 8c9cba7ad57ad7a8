"""Fixtures for the browser tests: one Jupyter server and one Chromium for all of them.

Every test gets `open_notebook(name, cells, ui)`, which writes the notebook into the server's
root and opens it in JupyterLab ("lab") or Notebook 7 ("nb7"); after the test its pages are
closed and every kernel is shut down. Without a Chromium (harness.find_chromium) the browser
tests are skipped with one line saying how to get one, so README's test command passes on a fresh
machine; under CI (CI=true) a missing browser is a failure instead.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .harness import (CHROME_ARGS, HOW_TO_GET_A_BROWSER, JupyterServer, NotebookPage,
                      find_chromium)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SKIPPED_FOR_NO_BROWSER = pytest.StashKey[int]()


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    browser_items = [item for item in items if here in Path(item.fspath).parents]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if browser_items and not under_ci() and find_chromium() is None:
        config.stash[SKIPPED_FOR_NO_BROWSER] = len(browser_items)
        skip = pytest.mark.skip(reason=HOW_TO_GET_A_BROWSER)
        for item in browser_items:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, config):
    """The one line a fresh machine needs, even under -q (which hides skip reasons)."""
    skipped = config.stash.get(SKIPPED_FOR_NO_BROWSER, 0)
    if skipped:
        terminalreporter.write_line(f"{skipped} browser tests skipped: {HOW_TO_GET_A_BROWSER}")


# Package scope: both end with the last browser test. Playwright's sync API keeps an asyncio loop
# running in the main thread while it is open, which would break later tests that call asyncio.run.
@pytest.fixture(scope="package")
def jupyter_server(tmp_path_factory):
    server = JupyterServer(tmp_path_factory.mktemp("jupyter"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def chromium():
    executable = find_chromium()
    if executable is None:  # only under CI: elsewhere the tests were skipped at collection
        pytest.fail(f"CI=true and {HOW_TO_GET_A_BROWSER}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROME_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_notebook(jupyter_server, chromium, request):
    """open_notebook(name, cells, ui, init_scripts=()) -> NotebookPage, its kernel idle.

    `cells` None opens the notebook already on disk.
    """
    pages: list[NotebookPage] = []

    def opener(name: str, cells: list[str] | None, ui: str,
               init_scripts: tuple[str, ...] = ()) -> NotebookPage:
        if cells is not None:
            jupyter_server.write_notebook(name, cells)
        page = NotebookPage(chromium, jupyter_server, name, ui, tuple(init_scripts))
        pages.append(page)
        return page.open()

    yield opener
    failed = getattr(request.node, "rep_call", None)
    for page in pages:
        if failed is not None and failed.failed:
            _keep_failure_screenshot(page, request.node.name)
        page.close()
    jupyter_server.shutdown_sessions()
    external = [url for page in pages for url in page.external_requests]
    assert not external, f"the page fetched from outside 127.0.0.1: {external[:5]}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the item, so a fixture can see that the test failed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def _keep_failure_screenshot(page: NotebookPage, test_name: str) -> None:
    """A full-page screenshot of a failing test, in $BROWSER_TEST_ARTIFACTS (CI can keep it)."""
    where = os.environ.get("BROWSER_TEST_ARTIFACTS")
    if not where:
        return
    target = Path(where)
    target.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_[]" else "_" for c in test_name)
    try:
        page.page.screenshot(path=str(target / f"{safe}.png"), full_page=True)
    except Exception:  # noqa: BLE001 - a failed screenshot must not hide the test's failure
        pass


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the tests' screenshots go: docs/screenshots with UPDATE_SCREENSHOTS=1, else a temp dir.

    Every run draws new procedural images, so writing the committed copies is a choice.
    """
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
