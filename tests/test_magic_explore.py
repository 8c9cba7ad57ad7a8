"""The exploration tools through the magic: named styles, permutation matrices, describe views,
and the gallery export."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from magic_shell import magics_of


def test_named_style_expands_in_dry_run_and_caption(ip, capsys):
    job = ip.run_cell_magic("imagine", "--wait", "a lighthouse --sref random")
    ip.run_line_magic("imagine", f"styles name {job.sref} dusk watercolour")
    assert f"@dusk-watercolour now means --sref {job.sref}" in capsys.readouterr().out
    ip.run_cell_magic("imagine", "--dry-run", "a harbour at night --sref @dusk-watercolour")
    assert f"--sref {job.sref}" in capsys.readouterr().out
    again = ip.run_cell_magic("imagine", "--wait", 'a harbour --sref @"dusk watercolour"')
    assert f"--sref {job.sref}" in again.prompt
    ip.run_line_magic("imagine", "styles")
    listing = capsys.readouterr().out
    assert job.sref in listing and "dusk-watercolour" in listing


def test_unknown_style_name_is_one_clear_error_and_sends_nothing(ip):
    job = ip.run_cell_magic("imagine", "--wait", "a lighthouse --sref random")
    ip.run_line_magic("imagine", f"styles name {job.sref} dusk-watercolour")
    created = magics_of(ip).runtime.simulator.tasks_created
    with pytest.raises(UsageError, match="dusk-watercolour"):
        ip.run_cell_magic("imagine", "", "a harbour --sref @dusk-watercolor")
    assert magics_of(ip).runtime.simulator.tasks_created == created
    with pytest.raises(UsageError, match="usage: %imagine styles"):
        ip.run_line_magic("imagine", "styles rename")


def test_permutations_show_as_one_labelled_matrix(ip):
    ip.run_line_magic("config", "Imagine.display = 'static'")
    group = ip.run_cell_magic("imagine", "--wait", "a {red, blue} {cat, owl} in a garden")
    assert group.matrix is not None
    assert group.matrix.row_labels == ("red", "blue")
    assert group.matrix.column_labels == ("cat", "owl")
    (twin,) = ip.display_pub.outputs()
    assert "image/jpeg" in twin["data"]
    assert all(job.task_id in twin["data"]["text/plain"] for job in group)


def test_widgets_mode_shows_a_matrix_view_and_a_describe_view(ip, tmp_path):
    from PIL import Image

    from apiframe_magic.widgets.explore import SuggestionsView, MatrixView

    ip.run_line_magic("config", "Imagine.display = 'widgets'")
    group = ip.run_cell_magic("imagine", "--wait", "a {red, blue} kite")
    context = magics_of(ip).ui_context()
    (matrix_view,) = [v for v in context.views if isinstance(v, MatrixView)]
    assert [cell.job for cell in matrix_view.cells] == list(group)
    outputs = ip.display_pub.outputs()
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    assert "image/jpeg" in outputs[1]["data"]
    Image.new("RGB", (64, 64), (30, 60, 90)).save(tmp_path / "d.png")
    described = ip.run_line_magic("imagine", "describe d.png")
    assert described.state == "finished" and len(described.prompts) == 4
    (describe_view,) = [v for v in context.views if isinstance(v, SuggestionsView)]
    describe_view.buttons["imagine2"].click()
    child = describe_view.started["imagine2"]
    assert child.kind == "imagine" and child.prompt == described.prompts[1]


def test_export_through_the_magic(ip, tmp_path, capsys):
    ip.run_cell_magic("imagine", "--wait", "a <b>bold</b> fox")
    ip.run_line_magic("imagine", f"export {tmp_path / 'gallery'}")
    index = tmp_path / "gallery" / "index.html"
    assert index.is_file() and str(index) in capsys.readouterr().out
    assert "&lt;b&gt;bold&lt;/b&gt;" in index.read_text()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text("<p>mine</p>")
    with pytest.raises(UsageError):
        ip.run_line_magic("imagine", f"export {tmp_path / 'other'}")
    assert (tmp_path / "other" / "index.html").read_text() == "<p>mine</p>"


def test_export_takes_a_unique_id_prefix_as_show_does(ip, tmp_path, capsys):
    fox = ip.run_cell_magic("imagine", "--wait", "a red fox")
    ip.run_cell_magic("imagine", "--wait", "a grey owl")
    ip.run_line_magic("imagine", f"export {tmp_path / 'one'} {fox.task_id[:8]}")
    page = (tmp_path / "one" / "index.html").read_text()
    assert fox.task_id in page and "a grey owl" not in page
    with pytest.raises(UsageError, match="No task 'zzzz'"):
        ip.run_line_magic("imagine", f"export {tmp_path / 'two'} zzzz")
