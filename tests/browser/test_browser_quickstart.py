"""README's first command, as a person runs it: the quickstart, Run > Run All Cells, in JupyterLab 4
and Notebook 7 (issue 15, build 1 and 5): no error anywhere, an image in every job cell, and no
cell printing noise (`active`, `None`, `{}`) about a job still running."""
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from .harness import UIS

pytestmark = pytest.mark.timeout(480)

QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
NOISE = {"None", "{}", "[]", "active", "processing", "queued"}
# Cells that start jobs with pictures; shorten's suggestions are text only.
JOB_CELL_STARTS = ("%%imagine --as", "%%imagine --yes", "%%imagine --expand", "big = ",
                   "variation = ", "again = ", "described = ", "from_description = ")


def _visible_images(output_area) -> int:
    return output_area.locator("img").evaluate_all(
        "els => els.filter(e => e.complete && e.naturalWidth > 0 && e.offsetWidth > 0).length")


@pytest.mark.parametrize("ui", UIS)
def test_run_all_of_the_quickstart_ends_with_images_and_no_error(
        open_notebook, jupyter_server, ui):
    name = f"quickstart-{ui}.ipynb"
    shutil.copy(QUICKSTART, jupyter_server.root / name)
    nb = open_notebook(name, None, ui)
    nb.run_all()
    cells = nb.panel.locator(".jp-Cell")
    last = cells.last
    deadline = time.monotonic() + 300
    # Run All got to the last cell when its prompt shows an execution count; Notebook 7 draws
    # only the cells on screen, so the last one is brought into view at every look
    while not re.fullmatch(r"\[\d+\]:", (last.locator(".jp-InputPrompt").first.text_content()
                                          or "").strip()):
        assert time.monotonic() < deadline, (
            "Run All did not reach the last cell; prompts: "
            + " ".join((p or "").strip() for p in
                       nb.panel.locator(".jp-Cell .jp-InputPrompt").all_text_contents())
            + " outputs: " + " | ".join(t[:300] for t in
                                      nb.panel.locator(".jp-Cell .jp-OutputArea-output").all_text_contents()[-6:])
            + "; " + nb.diagnosis())
        last.scroll_into_view_if_needed()
        time.sleep(1)
    nb.wait_idle(timeout=300_000)

    cells_on_disk = nbformat.read(QUICKSTART, as_version=4).cells
    sources = [cell.source for cell in cells_on_disk]   # page order, markdown included
    # every code cell was sent once and the kernel said it was done with each
    code_cells = sum(cell.cell_type == "code" for cell in cells_on_disk)
    assert nb.requests() == (code_cells, []), nb.socket_report()
    errors = nb.panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')
    assert errors.count() == 0, errors.all_text_contents()[:1]

    job_cells = [i for i, source in enumerate(sources) if source.startswith(JOB_CELL_STARTS)]
    assert len(job_cells) == 9   # fox, upscale, vary, reroll, lighthouse, harbour, garden, describe
    #                              and its imagined prompt
    for index in job_cells:
        cell = cells.nth(index)
        cell.scroll_into_view_if_needed()
        deadline = time.monotonic() + 120
        while _visible_images(cell.locator(".jp-OutputArea")) == 0:
            assert time.monotonic() < deadline, f"no image in {sources[index][:50]!r}"
            time.sleep(0.5)

    view_errors = nb.panel.locator(".amj-job .amj-error")
    assert view_errors.count() == 0, view_errors.all_text_contents()[:3]
    for index, source in enumerate(sources):
        if source.startswith("%imagine history"):   # a table whose state column may say active
            continue
        for text in cells.nth(index).locator(".jp-OutputArea-output").all_text_contents():
            last_words = {line.split()[-1] for line in text.splitlines() if line.split()}
            assert text.strip() not in NOISE and not last_words & NOISE, \
                f"{source[:40]!r} shows {text[:120]!r}"
