"""The quickstart notebook, executed headless (nbclient, as `jupyter execute` and papermill do)
against the offline simulator: every imagine cell must keep its final image, within budget."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from headless import execute

QUICKSTART = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
BUDGET_PER_GRID = 250_000


def _execute(workdir: Path, speed: str = "40", **environ: str):
    """Run the quickstart in a fresh kernel whose environment has `environ` and no live marker
    unless `environ` sets one; returns the notebook and where it was saved."""
    nb = execute(nbformat.read(QUICKSTART, as_version=4), workdir,
                 APIFRAME_SIM_SPEED=speed, **environ)
    saved = workdir / "executed.ipynb"
    nbformat.write(nb, saved)
    return nb, saved


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """As `jupyter execute` and papermill run it: no live frontend, every cell waits."""
    return _execute(tmp_path_factory.mktemp("quickstart"))


@pytest.fixture(scope="module")
def executed_live(tmp_path_factory):
    """As "Run All" in JupyterLab runs it: the kernel has a Jupyter server's session marker, so
    every %%imagine cell returns at once and the next cells run while its jobs go on."""
    return _execute(tmp_path_factory.mktemp("quickstart-live"), speed="10",   # ~4 s a grid
                    JPY_SESSION_NAME="quickstart.ipynb")


def _errors(nb):
    return [(cell.source[:40], output.get("ename") or output.get("text", "")[:200])
            for cell in nb.cells for output in cell.get("outputs", [])
            if output.output_type == "error"
            or (output.output_type == "stream" and output.text.startswith("UsageError"))]


def _imagine_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"
            and cell.source.startswith("%%imagine")
            and "--dry-run" not in cell.source.splitlines()[0]]


def test_quickstart_runs_without_errors(executed):
    nb, _ = executed
    assert _errors(nb) == []


def test_quickstart_runs_without_errors_in_a_live_frontend(executed_live):
    nb, _ = executed_live
    assert _errors(nb) == []


def test_in_a_live_frontend_the_first_cell_returns_a_live_view_and_the_next_runs_at_once(
        executed_live):
    nb, _ = executed_live
    first = _imagine_cells(nb)[0]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in first.outputs)
    following = nb.cells[nb.cells.index(first) + 1]
    assert following.source.startswith('print(f"fox was {fox.state!r}')
    assert following.outputs[0].text.startswith("fox was 'active'")   # the grid was not there yet


def test_every_imagine_cell_keeps_its_final_image(executed):
    nb, _ = executed
    cells = _imagine_cells(nb)
    assert len(cells) == 4
    for cell in cells:
        images = [o for o in cell.outputs if "image/jpeg" in o.get("data", {})]
        assert images, f"no final image in: {cell.source[:60]}"
        for output in images:
            assert len(json.dumps(output)) <= BUDGET_PER_GRID


def test_python_actions_keep_their_images_and_describe_its_prompts(executed):
    nb, _ = executed
    by_source = {cell.source.split("\n")[0]: cell for cell in nb.cells if cell.cell_type == "code"}
    for first_line in ("big = fox.upscale(2)   # U2", "variation = fox.vary(1)   # V1",
                       "again = fox.reroll()",
                       "from_description = described.imagine(1)   # imagine the first suggested prompt"):
        assert any("image/jpeg" in o.get("data", {}) for o in by_source[first_line].outputs)
    named = next(c for c in nb.cells if c.source.startswith("%%imagine --as harbour"))
    assert "--sref" in named.outputs[-1]["data"]["text/plain"]
    assert "@golden-fox" not in named.outputs[-1]["data"]["text/plain"]
    gallery = next(c for c in nb.cells if c.source.startswith("%imagine export"))
    assert "index.html" in gallery.outputs[-1]["text"]
    describe = next(c for c in nb.cells if c.source.startswith("described = %imagine describe"))
    text = describe.outputs[-1]["data"]["text/plain"]
    assert "1. " in text and "4. " in text
    assert "\u20e3" not in text  # the service's keycap bullets: numbered once, by us


NOISE = {"None", "{}", "[]", "active", "processing", "queued"}


def test_no_cell_prints_noise(executed):
    """A value or a print that says nothing to a reader: a running job's empty fields."""
    nb, _ = executed
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            words = {line.strip() for line in text.splitlines()} | set(text.split())
            assert not words & NOISE, f"{cell.source[:50]!r} printed {text[:120]!r}"


def test_saved_notebook_growth_per_job_is_within_budget(executed):
    nb, saved = executed
    jobs = 0
    for cell in _imagine_cells(nb):
        jobs += 4 if "{red, blue} {cat, owl}" in cell.source else 1
    jobs += 4  # upscale, vary, reroll and a described prompt from Python
    source_size = QUICKSTART.stat().st_size
    assert (saved.stat().st_size - source_size) / jobs <= BUDGET_PER_GRID
