"""Finding and waiting on the widget UI's parts in a page (the classes `widgets/` sets).

A view's header (title, progress, status, Cancel, Details) sits in its `.amj-header`, its own
images and buttons in its `.amj-body`; follow-up views (and a panel that "Reuse style"
opened) sit in its `.amj-children`, so `:scope >` keeps one view's images apart from its
children's.
"""
from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, expect

from .harness import is_blank

# Every width the progress bars of job views take, in order, per bar (recorded from page load).
PROGRESS_RECORDER = """
window.__amjProgress = new Map();
new MutationObserver(() => {
  document.querySelectorAll('.amj-job').forEach((view, n) => {
    const bar = view.querySelector(':scope > .amj-header .amj-progress-fill');
    if (!bar) return;
    if (!view.dataset.amjN) view.dataset.amjN = String(window.__amjProgress.size);
    const seen = window.__amjProgress.get(view.dataset.amjN) || [];
    const width = parseFloat(bar.style.width);
    if (!Number.isNaN(width) && seen[seen.length - 1] !== width) seen.push(width);
    window.__amjProgress.set(view.dataset.amjN, seen);
  });
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['style']});
"""


def views(scope: Locator) -> Locator:
    """Top-level job views in `scope` (not follow-ups nested in another view)."""
    return scope.locator(".amj-job:not(.amj-children .amj-job)")


def children(view: Locator) -> Locator:
    return view.locator(":scope > .amj-children > .amj-job")


def body(view: Locator) -> Locator:
    return view.locator(":scope > .amj-body")


def button(view: Locator, label: str) -> Locator:
    """One of the view's own buttons, by its visible label."""
    return body(view).get_by_role("button", name=label, exact=True)


def status(view: Locator) -> Locator:
    return view.locator(":scope > .amj-header .amj-status")


def title(view: Locator) -> Locator:
    return view.locator(":scope > .amj-header .amj-title")


def task_id(view: Locator) -> str:
    """The whole task id, from the hover text of the short id in the view's title."""
    ident = title(view).locator(".amj-id").get_attribute("title") or ""
    assert re.fullmatch(r"[0-9a-f-]{8,}", ident), f"no task id in the title: {ident!r}"
    return ident


def tiles(view: Locator) -> Locator:
    return body(view).locator(":scope > .amj-tiles > .amj-tile")


def wait_images(images: Locator, count: int, timeout: float = 60) -> list[bytes]:
    """Wait until `count` images are loaded and drawn; their screenshots (PNG)."""
    deadline = time.monotonic() + timeout
    while True:
        loaded = images.evaluate_all(
            "els => els.map(e => e.complete && e.naturalWidth > 0 && e.offsetWidth > 0)")
        if len(loaded) == count and all(loaded):
            shots = [images.nth(i).screenshot() for i in range(count)]
            if not any(is_blank(png) for png in shots):
                return shots
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} drawn images, found load states {loaded}")
        time.sleep(0.25)


def wait_grid(view: Locator, timeout: float = 60) -> None:
    """The four tiles of a grid job's view are drawn."""
    expect(status(view)).to_contain_text("Finished", timeout=timeout * 1000)
    wait_images(body(view).locator("img.amj-variant-image"), 4, timeout)


def wait_single(view: Locator, timeout: float = 60) -> None:
    """The image of an upscale's view is drawn."""
    expect(status(view)).to_contain_text("Finished", timeout=timeout * 1000)
    wait_images(body(view).locator("img.amj-single-image"), 1, timeout)


def progress_seen(page) -> dict[str, list[float]]:
    return page.evaluate("Object.fromEntries(window.__amjProgress)")


# The whole element shows: inside the window and inside every scrolling box around it (the
# notebook scrolls in its own panel, under a header and above a status bar).
IN_SIGHT = """e => {
  let r = e.getBoundingClientRect();
  if (r.top < 0 || r.bottom > window.innerHeight) return false;
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (!/(auto|scroll)/.test(getComputedStyle(p).overflowY)
        || p.scrollHeight <= p.clientHeight) continue;
    const box = p.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.top + p.clientHeight) return false;
  }
  return true; }"""


def in_sight(element: Locator) -> bool:
    return element.evaluate(IN_SIGHT)

