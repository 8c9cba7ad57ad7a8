"""Style cards, the matrix widget and the describe view, clicked with Button.click() against
jobs run by the simulator over HTTP."""
from __future__ import annotations

import pytest

from apiframe_magic.static.matrix import layout
from apiframe_magic.prompt import parse_prompt
from apiframe_magic.styles import name_style
from apiframe_magic.widgets.explore import SuggestionsView, MatrixView, StyleLibrary
from apiframe_magic.widgets.style import is_closed
from apiframe_magic.widgets.view import JobView
from test_widgets_view import (  # noqa: F401 - fixtures
    FakePanel,
    ctx,
    jpeg_size,
    recording_comm,
    rt,
    settled,
    sim,
    wait_until,
)


def finished(ctx, prompt):
    job = ctx.submit(prompt)[0]
    job.wait(30, images=True)
    return job


# ---------------------------------------------------------------------------- style cards


@pytest.fixture
def library(ctx):
    finished(ctx, "a fox in the snow --sref 123456")
    finished(ctx, "an owl at night --sref 123456")
    finished(ctx, "a lighthouse --sref random")
    view = StyleLibrary(ctx)
    yield view
    view.close()


def test_cards_show_each_code_with_a_thumbnail(library):
    assert len(library.cards) == 2
    card = library.card("123456")
    assert max(jpeg_size(card.image.value)) <= 192
    assert "2 uses" in card.info.value and "an owl at night" in card.info.value
    assert card.rename_button.description == "Name"


def test_a_card_shows_the_picture_of_the_job_whose_prompt_it_shows(ctx):
    fox = finished(ctx, "a fox in the snow --sref 777777")
    owl = finished(ctx, "an owl at night --sref 777777")
    for path in ctx.store.images(owl.job_id).values():   # the newest use has no picture left
        path.unlink()
    library = StyleLibrary(ctx)
    card = library.card("777777")
    assert card.prompt == fox.prompt and "a fox in the snow" in card.info.value
    assert "an owl" not in card.info.value
    assert card.image.value == ctx.images.thumbnail(ctx.store.images(fox.job_id)["grid"], 192,
                                                    "JPEG")
    library.close()


def test_use_fills_the_prompt_panel(library, ctx):
    library.card("123456").use_button.click()
    panel = ctx.panel
    assert isinstance(panel, FakePanel) and panel in library.children_box.children
    assert panel.prompts == ["an owl at night --sref 123456"]


def test_rename_then_use_writes_the_name(library, ctx):
    card = library.card("123456")
    card.name_field.value = "Dusk Watercolour"
    card.rename_button.click()
    assert ctx.store.style_names() == {"123456": "dusk-watercolour"}
    assert "@dusk-watercolour" in card.info.value and card.rename_button.description == "Rename"
    card.use_button.click()
    assert ctx.panel.prompts[-1] == "an owl at night --sref @dusk-watercolour"


def test_a_taken_name_is_refused_on_the_card(library, ctx):
    other = next(card for card in library.cards if card.style.code != "123456")
    name_style(ctx.store, "123456", "dusk")
    other.name_field.value = "dusk"
    other.rename_button.click()
    assert "amj-error" in other.message.value and "already belongs" in other.message.value
    assert ctx.store.style_names() == {"123456": "dusk"}


def test_closing_the_library_closes_its_cards(library):
    card = library.cards[0]
    library.close()
    assert is_closed(card) and is_closed(card.use_button) and is_closed(card.name_field)


def test_an_empty_library_says_how_to_start(ctx):
    view = StyleLibrary(ctx)
    assert view.cards == [] and "--sref random" in view.header.value
    view.close()


# ---------------------------------------------------------------------------- matrix


def test_two_by_two_matrix_of_job_views(ctx):
    text = "a {red, blue} kite over {hills, sea}"
    job_list = ctx.submit(text)
    matrix = layout(text)
    view = MatrixView(matrix, job_list, ctx)
    assert len(view.grid.children) == 3 + 2 * 3  # corner + 2 column labels, 2 rows of 3
    assert [w.value for w in view.column_labels] == ["<b>hills</b>", "<b>sea</b>"]
    assert [w.value for w in view.row_labels] == ["<b>red</b>", "<b>blue</b>"]
    assert view.cell(1, 0).job is job_list[2] and job_list[2].prompt == "a blue kite over hills"
    assert view.grid.children[7] is view.cell(1, 0)
    assert ctx.views == [view]  # one entry: its cells are never trimmed one by one
    for cell in view.cells:
        settled(cell)
    cell = view.cell(0, 1)
    cell.buttons["U2"].click()
    assert [type(child) for child in cell.children_box.children] == [JobView]
    settled(cell.child_views[0])
    assert view.tree_done()
    view.close()
    assert all(cell.closed for cell in view.cells) and ctx.views == []
    assert all(is_closed(label) for label in view.column_labels + view.row_labels)


def test_one_group_matrix_has_no_row_labels(ctx):
    text = "a {tiny, huge} boat"
    view = MatrixView(layout(text), ctx.submit(text), ctx)
    assert view.row_labels == [] and len(view.grid.children) == 2 + 2
    view.close()


def test_matrix_needs_one_job_per_cell(ctx):
    text = "a {tiny, huge} boat"
    with pytest.raises(ValueError, match="2 cells but 1 jobs"):
        MatrixView(layout(text), ctx.submit("a tiny boat"), ctx)


# ---------------------------------------------------------------------------- describe


@pytest.fixture
def describe_view(ctx):
    grid = finished(ctx, "a windmill in a tulip field --ar 3:2")
    job = ctx.manager.submit("describe", {"image_url": grid.result.original_image_url})
    view = SuggestionsView(job, ctx)
    job.wait(30, images=True)
    wait_until(lambda: view._images_state in ("ready", "missing"), what="describe image")
    return view


def test_describe_view_shows_the_image_and_four_prompts(describe_view):
    view = describe_view
    assert view._images_state == "ready" and max(jpeg_size(view.grid_image.value)) <= 512
    prompts = view.job.prompts
    assert len(prompts) == 4
    for number, text in enumerate(view.suggestions, start=1):
        assert "windmill in a tulip field" in text.value and f"{number}. " in text.value
        assert not view.buttons[f"imagine{number}"].disabled


def test_each_prompt_comes_before_its_buttons(describe_view):
    for number, text in enumerate(describe_view.suggestions, start=1):
        row = next(box for box in describe_view.body.children
                   if text in getattr(box, "children", ()))
        assert list(row.children) == [text, describe_view.buttons[f"imagine{number}"],
                                      describe_view.buttons[f"edit{number}"]]


def test_the_title_names_the_action_once(ctx):
    grid = finished(ctx, "a windmill --ar 3:2")
    job = ctx.manager.submit("describe", {"image_url": grid.result.original_image_url},
                             prompt="describe windmill.png")
    view = SuggestionsView(job, ctx)
    assert "Describe</span>" in view.title.value and "describe windmill" not in view.title.value
    assert "windmill.png" in view.title.value
    view.close()


def test_shorten_gets_imagine_buttons_and_no_image(ctx):
    job = ctx.manager.submit("shorten", {"prompt": "a very detailed painting of a red fox"},
                             prompt="a very detailed painting of a red fox")
    view = SuggestionsView(job, ctx)
    job.wait(30)
    wait_until(lambda: view.suggestions[0].value, what="shorten prompts")
    assert view.grid_image is None and len(job.prompts) == 3
    assert "\u20e3" not in view.suggestions[0].value and "1. " in view.suggestions[0].value
    view.buttons["imagine1"].click()
    (child,) = [v.job for v in view.child_views]
    assert child.kind == "imagine" and child.prompt == str(parse_prompt(job.prompts[0]))
    view.close()


def test_imagine_is_one_click(describe_view, ctx):
    view = describe_view
    view.buttons["imagine2"].click()
    view.buttons["imagine2"].click()
    assert len(view.child_views) == 1 and view.buttons["imagine2"].disabled
    child = view.child_views[0].job
    assert child.kind == "imagine" and child.prompt == str(parse_prompt(view.job.prompts[1]))
    settled(view.child_views[0])
    assert child.state == "finished"


def test_edit_fills_the_prompt_panel(describe_view, ctx):
    describe_view.buttons["edit3"].click()
    assert ctx.panel.prompts == [describe_view.job.prompts[2]]
    assert ctx.panel in describe_view.children_box.children


def test_closing_the_describe_view_closes_its_widgets(describe_view):
    describe_view.close()
    assert all(is_closed(text) for text in describe_view.suggestions)
