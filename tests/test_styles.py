"""The style library against a history filled through the JobManager and the simulator."""
from __future__ import annotations

import pytest

from apiframe_magic.prompt import validate
from apiframe_magic.store import HistoryStore
from apiframe_magic.styles import (
    StyleNameError,
    UnknownStyleNameError,
    expand_style_names,
    list_styles,
    name_style,
    references_of,
    resolve_style_name,
    slugify,
    style_of,
    styles_bundle,
    styles_text,
    unname_style,
)
from history_fixtures import finish

STYLE_URL = "https://example.com/styles/dusk.png"


@pytest.fixture
def history(manager):
    """Two uses of code 123456 (one upscaled), one `random` resolved by the service, one URL."""
    fox = manager.imagine("a fox in the snow --sref 123456")
    owl = manager.imagine("an owl at night --sref 123456::2 --sw 200")
    rnd = manager.imagine("a lighthouse --sref random")
    url = manager.imagine(f"a harbour --sref {STYLE_URL}")
    plain = manager.imagine("a plain field")
    finish(fox, owl, rnd, url, plain)
    upscale = fox.upscale(1)
    finish(upscale)
    return {"fox": fox, "owl": owl, "random": rnd, "url": url, "plain": plain,
            "upscale": upscale}


def by_code(store):
    return {style.code: style for style in list_styles(store)}


def test_library_lists_codes_from_prompts_and_results(store, history):
    styles = by_code(store)
    resolved = history["random"].sref
    assert resolved and resolved.isdigit()
    assert set(styles) == {"123456", resolved, STYLE_URL}
    code = styles["123456"]
    assert code.kind == "code" and code.uses == 2  # the upscale is not a use
    assert code.prompts == ("an owl at night --sref 123456::2 --sw 200",
                            "a fox in the snow --sref 123456")
    assert code.first_used < code.last_used
    assert set(code.job_ids) == {history["fox"].job_id, history["owl"].job_id}
    assert code.thumbnail is not None and code.thumbnail.is_file()
    assert code.thumbnail in store.images(history["owl"].job_id).values()
    assert styles[STYLE_URL].kind == "url"
    assert styles[resolved].prompts == ("a lighthouse --sref random",)


def test_most_recently_used_first_and_codes_only_filter(store, history):
    styles = list_styles(store)
    assert [s.last_used for s in styles] == sorted((s.last_used for s in styles), reverse=True)
    assert {s.kind for s in list_styles(store, include_urls=False)} == {"code"}


def test_rejected_submits_are_not_uses(store):
    job_id = store.record_submitting("imagine", {"prompt": "x --sref 42"}, prompt="x --sref 42")
    store.mark_rejected(job_id, "bad request")
    assert list_styles(store) == []


def test_name_rename_and_collision(store, history):
    assert name_style(store, "123456", "Dusk Watercolour") == "dusk-watercolour"
    assert by_code(store)["123456"].name == "dusk-watercolour"
    assert by_code(store)["123456"].reference == "@dusk-watercolour"
    assert name_style(store, "123456", "dusk") == "dusk"  # renaming replaces the old name
    assert store.style_names() == {"123456": "dusk"}
    with pytest.raises(StyleNameError, match="already belongs to 123456") as caught:
        name_style(store, history["random"].sref, "DUSK")
    assert "\n" not in str(caught.value)
    assert store.style_names() == {"123456": "dusk"}  # nothing overwritten


def test_names_survive_reopening_the_history(store, tmp_path):
    name_style(store, "987", "night ink")
    store.close()
    with HistoryStore(store.path) as reopened:
        assert resolve_style_name(reopened, "@night-ink") == "987"


@pytest.mark.parametrize("bad_name", ["", "  ", "!!!", "12345", "x" * 61])
def test_bad_names_are_refused(store, bad_name):
    with pytest.raises(StyleNameError):
        name_style(store, "123", bad_name)
    assert store.style_names() == {}


@pytest.mark.parametrize("bad_code", ["random", "abc", "12 34", ""])
def test_only_codes_and_urls_can_be_named(store, bad_code):
    with pytest.raises(StyleNameError, match="not a style code"):
        name_style(store, bad_code, "nice")


def test_slugify():
    assert slugify("  Dusk  Watercolour! ") == "dusk-watercolour"
    assert slugify("dusk_watercolour") == "dusk-watercolour"
    assert slugify("Crème brûlée") == "crème-brûlée"


def test_named_codes_never_used_are_listed_last(store, history):
    name_style(store, "555", "someday")
    styles = list_styles(store)
    assert styles[-1].code == "555" and styles[-1].uses == 0 and styles[-1].last_used is None
    assert style_of(store, "@someday").code == "555"


def test_unname_by_name_or_code(store):
    name_style(store, "555", "someday")
    assert unname_style(store, "@someday") == "555"
    assert store.style_names() == {}


# ---------------------------------------------------------------------------- expansion


@pytest.fixture
def named(store):
    name_style(store, "111", "dusk watercolour")
    name_style(store, "222", "neon")
    name_style(store, STYLE_URL, "harbour photo")
    return store


@pytest.mark.parametrize("written, expected", [
    ("a cat --sref @dusk-watercolour", "a cat --sref 111"),
    ('a cat --sref @"dusk watercolour" --v 7', "a cat --sref 111 --v 7"),
    ("a cat --sref @“Dusk Watercolour”", "a cat --sref 111"),
    ("a cat --sref 42 @neon::2 @dusk-watercolour::1 --sw 50",
     "a cat --sref 42 222::2 111::1 --sw 50"),
    ("a cat --sref {@neon, @dusk-watercolour}", "a cat --sref {222, 111}"),
    ("a cat --sref @harbour-photo", f"a cat --sref {STYLE_URL}"),
    ("a cat —sref @neon", "a cat —sref 222"),
    ("mail me@neon.example --ar 3:2", "mail me@neon.example --ar 3:2"),  # not in --sref
    ("a cat @neon --sref 42", "a cat @neon --sref 42"),
    ("a cat --sref https://x.example/@neon/a.png", "a cat --sref https://x.example/@neon/a.png"),
])
def test_expansion(named, written, expected):
    assert expand_style_names(written, named) == expected


def test_expanded_prompt_validates(named):
    prompts = validate(expand_style_names("a fox --sref @neon::2 @dusk-watercolour", named))
    assert [str(ref) for ref in prompts[0].params["sref"]] == ["222::2", "111"]


def test_unknown_name_names_the_closest(named):
    with pytest.raises(UnknownStyleNameError) as caught:
        expand_style_names("a cat --sref @dusk-watercolor @nope", named)
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, ValueError)
    assert "@dusk-watercolor (did you mean @dusk-watercolour?)" in message
    assert caught.value.names == ("dusk-watercolor", "nope")
    assert caught.value.suggestions["dusk-watercolor"] == ["dusk-watercolour"]


def test_unknown_name_with_no_names_at_all(store):
    with pytest.raises(UnknownStyleNameError, match="no style has a name yet"):
        expand_style_names("a cat --sref @dusk", store)


def test_a_submitted_expanded_prompt_is_listed_under_its_code(named, manager):
    text = expand_style_names("a heron --sref @neon", named)
    finish(manager.imagine(text))
    style = by_code(named)["222"]
    assert style.name == "neon" and style.uses == 1 and style.prompts == ("a heron --sref 222",)


def test_text_table(store, history):
    name_style(store, "123456", "dusk")
    table = styles_text(list_styles(store))
    assert "123456" in table and "@dusk" in table and "2 uses" in table
    assert styles_text([]) == "no style references in the history yet"


def test_static_bundle_escapes_and_inlines_thumbnails(store, images, manager):
    finish(manager.imagine('a <b>bold</b> "fox" --sref 777'))
    name_style(store, "777", "bold fox")
    data, _metadata = styles_bundle(store, images)
    assert "777" in data["text/plain"] and "@bold-fox" in data["text/plain"]
    page = data["text/html"]
    assert "&lt;b&gt;bold&lt;/b&gt; &quot;fox&quot;" in page and "<b>" not in page
    assert page.count('src="data:image/jpeg;base64,') == 1 and "@bold-fox" in page


def test_static_bundle_of_an_empty_history(store):
    data, _metadata = styles_bundle(store)
    assert "no style references" in data["text/html"]


def test_references_are_read_from_every_sref_item(store):
    prompt = f"a cat —sref 11::2 {STYLE_URL}::1 random --sw 50 --no 99"
    job_id = store.record_submitting("imagine", {"prompt": prompt}, prompt=prompt)
    store.mark_submitted(job_id, "t-1")
    store.mark_finished(job_id, {"status": "finished", "sref": "22"})
    assert sorted(references_of(store.get(job_id))) == sorted(
        [("22", "code"), ("11", "code"), (STYLE_URL, "url")])


def test_the_library_never_shows_a_key_or_an_escape_sequence_an_old_history_holds(
        store, monkeypatch):
    from apiframe_magic.styles import styles_bundle, styles_text

    key = "sk-LIVE-0123456789abcdef"
    job = store.record_submitting("imagine", {"prompt": "a fox"}, prompt="a fox")
    store.mark_submitted(job, "task-old")
    store.mark_finished(job, {"status": "finished"})
    with store._write() as conn:   # as written before values were stored redacted
        conn.execute("UPDATE jobs SET prompt = ?, sref = ? WHERE job_id = ?",
                     (f"a fox \x1b]0;title\x07 {key} --sref https://x.test/{key}.png "
                      "1234567", f"https://x.test/{key}.png", job))
    monkeypatch.setenv("APIFRAME_API_KEY", key)
    text = styles_text(list_styles(store))
    data, _ = styles_bundle(store)
    assert "1234567" in text and "[redacted]" in text and "\\u001b]0;title" in text
    for shown in (text, data["text/plain"], data["text/html"]):
        assert key not in shown and "\x1b" not in shown


def test_the_magic_moves_a_name_to_a_new_code_and_says_so(ip, capsys):
    """A notebook run again gets a new --sref random code: naming it with the same name must not
    stop Run All; the name moves, and the line says what it meant before."""
    ip.run_line_magic("imagine", "styles name 1111111111 golden fox")
    ip.run_line_magic("imagine", "styles name 2222222222 golden fox")
    out = capsys.readouterr().out
    assert "--sref @golden-fox now means --sref 2222222222 (it meant --sref 1111111111 before)" in out
    ip.run_line_magic("imagine", "styles name 2222222222 golden fox")
    assert capsys.readouterr().out.strip().endswith("now means --sref 2222222222")
