"""The API key in a saved notebook: a notebook run headless (nbclient, as `jupyter execute` does)
with a key in the kernel's environment, against a simulator that takes that key and a proxy that
echoes it back in every spelling. Neither the saved .ipynb nor any file the run wrote holds the
key in any spelling listed in secret_spellings.py."""
from __future__ import annotations

import nbformat
import pytest

from apiframe_magic.simulator import Simulator
from headless import execute
from localserver import local_server
from secret_spellings import KEY, EchoingProxy, leaks, leaks_in_files


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("keyed")
    with Simulator(speed=100, api_key=KEY) as service, local_server(EchoingProxy) as proxy:
        cells = [
            "%load_ext apiframe_magic",
            f"%config Imagine.base_url = '{service.url}'",
            "%%imagine --wait --as fox\na red fox in the snow --ar 3:2",
            "%imagine account",
            "%imagine config",
            "%imagine history",
            "fox, fox.result",
            "%imagine show no-such-task",                         # a UsageError, shown
            f"%config Imagine.base_url = '{proxy}'",
            "%%imagine --wait\na cat on a proxy that repeats the key",   # the service's error
        ]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        execute(nb, workdir, timeout=120, APIFRAME_API_KEY=KEY)
    path = workdir / "keyed.ipynb"
    nbformat.write(nb, path)
    return nb, workdir


def test_the_notebook_ran_against_the_keyed_service_and_the_echoing_proxy(saved):
    nb, _ = saved
    outputs = [[o for o in cell.outputs] for cell in nb.cells]
    assert any("image/jpeg" in o.get("data", {}) for o in outputs[2])   # the key worked
    usage_errors = [i for i, cell in enumerate(outputs) for o in cell
                    if o.output_type == "stream" and o.text.startswith("UsageError: ")]
    assert usage_errors == [7, 9]
    echoed = next(o.text for o in outputs[9] if o.text.startswith("UsageError: "))
    assert echoed.count("bad key [redacted]") == 8                  # every spelling came back


def test_no_spelling_of_the_key_is_in_the_saved_notebook(saved):
    _, workdir = saved
    assert leaks((workdir / "keyed.ipynb").read_text()) == []


def test_no_spelling_of_the_key_is_in_any_file_the_run_wrote(saved):
    _, workdir = saved
    assert leaks_in_files(workdir) == []
