"""The prompt panel in a real browser, in JupyterLab 4 and Notebook 7: style reuse and validation.

Issue 8, "Tested in a real browser": "Reuse style" fills the panel and the job submitted from it
carries the same sref code; an invalid prompt shows its error inline and disables Imagine.
Issue 15: the one panel opens right under the click with a heading and the keyboard focus in its
prompt, scrolled into the notebook's window (and moves under a later click the same way); a
prompt the user edited is never replaced without asking.
"""
import re

import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import UIS, save_screenshot

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"


def imagine_button(panel):
    return panel.get_by_role("button", name="Imagine", exact=True)


def sref_code(view) -> str:
    """The style code a finished view shows as selectable text."""
    text = view.locator(":scope > .amj-body .amj-details .amj-sref").first.text_content() or ""
    match = re.fullmatch(r"--sref (\d+)", text.strip())
    assert match, f"no style code in the view's details: {text!r}"
    return match.group(1)


@pytest.mark.parametrize("ui", UIS)
def test_reuse_style_fills_the_panel_and_the_new_result_has_the_same_sref(
        open_notebook, screenshots, ui):
    nb = open_notebook(f"reuse-{ui}.ipynb",
                       [LOAD, "%%imagine\na paper boat on a pond --ar 3:2 --sref random"], ui)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    code = sref_code(view)

    jv.button(view, f"Reuse style --sref {code}").click()
    panel = view.locator(":scope > .amj-children > .amj-panel")
    prompt = panel.locator(".amj-prompt-input textarea")
    expect(prompt).to_have_value(re.compile(rf"--sref {code}\b"), timeout=30_000)
    assert "random" not in prompt.input_value()
    expect(panel.locator(".amj-panel-heading")).to_contain_text("Prompt panel")
    expect(prompt).to_be_focused(timeout=10_000)     # near the click, ready to type
    assert jv.in_sight(prompt), "the prompt is not scrolled into the notebook's window"
    expect(imagine_button(panel)).to_be_enabled()
    save_screenshot(panel, screenshots / f"{ui}-panel-reuse-style.png")

    imagine_button(panel).click()
    new_view = panel.locator(".amj-jobs .amj-job").first
    jv.wait_grid(new_view)
    assert jv.task_id(new_view) != jv.task_id(view)
    assert sref_code(new_view) == code
    expect(jv.button(new_view, f"Reuse style --sref {code}")).to_be_visible()


@pytest.mark.parametrize("ui", UIS)
def test_invalid_prompt_shows_the_error_inline_and_disables_imagine(
        open_notebook, screenshots, ui):
    nb = open_notebook(f"panel-{ui}.ipynb", [LOAD, "%imagine panel"], ui)
    nb.run_all()
    panel = nb.outputs(1).locator(".amj-panel")
    prompt = panel.locator(".amj-prompt-input textarea")
    errors = panel.locator(".amj-messages .amj-error")
    expect(prompt).to_be_visible(timeout=60_000)
    expect(imagine_button(panel)).to_be_disabled()   # nothing written yet

    prompt.click()
    prompt.press_sequentially("a cat in a hat --ar 3:2")
    expect(imagine_button(panel)).to_be_enabled(timeout=30_000)
    expect(errors).to_have_count(0)

    prompt.press_sequentially(" --stylize 5000")
    expect(errors.first).to_contain_text("--stylize 5000", timeout=30_000)
    expect(errors.first).to_contain_text("between 0 and 1000")
    expect(imagine_button(panel)).to_be_disabled()
    save_screenshot(panel, screenshots / f"{ui}-panel-invalid-prompt.png")

    for _ in range(len("5000")):
        prompt.press("Backspace")
    prompt.press_sequentially("500")
    expect(errors).to_have_count(0, timeout=30_000)
    expect(imagine_button(panel)).to_be_enabled()


@pytest.mark.parametrize("ui", UIS)
def test_an_edited_prompt_is_never_replaced_without_asking(open_notebook, ui):
    nb = open_notebook(f"edited-{ui}.ipynb",
                       [LOAD, "%%imagine\na paper boat on a pond --ar 3:2 --sref random"], ui)
    nb.page.set_viewport_size({"width": 1400, "height": 900})
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    code = sref_code(view)
    jv.button(view, f"Reuse style --sref {code}").click()
    panel = view.locator(":scope > .amj-children > .amj-panel")
    prompt = panel.locator(".amj-prompt-input textarea")
    expect(prompt).to_have_value(re.compile(rf"--sref {code}\b"), timeout=30_000)

    prompt.fill("a lighthouse in the fog --ar 3:2")            # the user's own prompt
    jv.button(view, "Enlarge image 2").click()
    jv.button(view, "Use image 2 as style reference").click()
    offer = panel.locator(".amj-offer")
    expect(offer).to_contain_text("You have edited this prompt", timeout=30_000)
    assert prompt.input_value() == "a lighthouse in the fog --ar 3:2"   # untouched
    offer.get_by_role("button", name=re.compile(r"^Use --sref .* in my prompt$")).click()
    expect(prompt).to_have_value(re.compile(r"^a lighthouse in the fog --ar 3:2 --sref http"),
                                 timeout=30_000)
    expect(offer).to_be_hidden()


@pytest.mark.parametrize("ui", UIS)
def test_the_panel_moves_under_a_later_click_with_its_prompt_in_sight(open_notebook, ui):
    nb = open_notebook(f"move-{ui}.ipynb", [LOAD, "%%imagine\na paper boat on a pond --ar 3:2",
                                            "%%imagine\nan owl at night --ar 2:3"], ui)
    nb.run_all()
    first, second = jv.views(nb.outputs(1)).first, jv.views(nb.outputs(2)).first
    jv.wait_grid(first)
    jv.wait_grid(second)
    jv.button(first, "Use prompt").click()
    prompt = first.locator(":scope > .amj-children > .amj-panel .amj-prompt-input textarea")
    expect(prompt).to_be_focused(timeout=30_000)
    assert jv.in_sight(prompt), "the prompt is not scrolled into the notebook's window"

    jv.button(second, "Use prompt").click()                 # the one panel comes here
    prompt = second.locator(":scope > .amj-children > .amj-panel .amj-prompt-input textarea")
    expect(prompt).to_have_value("an owl at night --ar 2:3", timeout=30_000)
    expect(prompt).to_be_focused(timeout=10_000)
    assert jv.in_sight(prompt), "the moved panel's prompt is not scrolled into the window"
    expect(first.locator(".amj-panel")).to_have_count(0)
