"""redaction.redact: every spelling of every known key becomes "[redacted]", and nothing else
changes. The spellings are written out here, not taken from the product's own list."""
from __future__ import annotations

import pytest

from apiframe_magic import redaction
from apiframe_magic.redaction import (REDACTED, HiddenKey, printable, redact, remember_key,
                                      secret_forms)

KEY = "sk-Ab+/cd=12"     # base64 of it has "+" and "/", so base64 and url-safe base64 differ


@pytest.fixture(autouse=True)
def _forget_keys(monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())


@pytest.mark.parametrize("form", [
    "sk-Ab+/cd=12",                      # as is
    "sk-Ab%2B%2Fcd%3D12",                # quote(safe="") and quote_plus
    "sk-Ab%2B/cd%3D12",                  # quote(), keeping "/"
    "c2stQWIrL2NkPTEy",                  # base64
    "c2stQWIrL2NkPTEy".replace("+", "-").replace("/", "_"),
])
def test_each_spelling_of_an_environment_key_is_redacted(monkeypatch, form):
    monkeypatch.setenv("APIFRAME_API_KEY", KEY)
    assert redact(f"before {form} after") == f"before {REDACTED} after"


def test_escaped_spellings_of_a_key_with_quotes_and_a_backslash(monkeypatch):
    key = 'sk-q"uo\\te\'12'
    monkeypatch.setenv("APIFRAME_API_KEY", key)
    assert redact('json sk-q\\"uo\\\\te\'12 .') == f"json {REDACTED} ."
    assert redact("repr sk-q\"uo\\\\te\\'12 .") == f"repr {REDACTED} ."


def test_a_key_with_non_ascii_is_redacted_escaped_and_in_its_pieces(monkeypatch):
    key = "sk-abcdefgh\u00e9ijklmnop"
    monkeypatch.setenv("APIFRAME_API_KEY", key)
    assert redact("u sk-abcdefgh\\u00e9ijklmnop") == f"u {REDACTED}"        # JSON
    assert redact("b sk-abcdefgh\\xc3\\xa9ijklmnop") == f"b {REDACTED}"     # repr of bytes
    assert redact("head sk-abcdefgh| tail ijklmnop") == f"head {REDACTED}| tail {REDACTED}"


def test_surrounding_whitespace_of_the_environment_variable_is_ignored(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "  sk-0123456789\n")
    assert redact("key=sk-0123456789;") == f"key={REDACTED};"


def test_the_longest_form_wins_so_no_piece_of_a_key_is_left(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sk-0123456789 abcdefghij")   # pieces are forms too
    assert redact("x sk-0123456789 abcdefghij y") == f"x {REDACTED} y"


def test_short_keys_are_not_redacted_so_ordinary_words_survive(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sim-key")        # 7 characters
    remember_key("1234567")
    assert redact("a sim-key 1234567 b") == "a sim-key 1234567 b"


def test_eight_characters_are_enough_to_be_a_key(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "12345678")
    remember_key("abcdefgh")
    assert redact("12345678 abcdefgh") == f"{REDACTED} {REDACTED}"
    assert secret_forms("12345678") == {"12345678", "MTIzNDU2Nzg=", "MTIzNDU2Nzg"}


def test_remembered_keys_are_redacted_without_the_environment():
    remember_key("remembered-0001")
    remember_key("   ")            # blank: ignored
    remember_key(None)             # not a string: ignored
    assert redact("a remembered-0001 b") == f"a {REDACTED} b"
    assert redaction._known == {"remembered-0001"}


def test_remembering_a_key_keeps_it_as_given(monkeypatch):
    remember_key(" padded-key-42 ")
    assert redaction._known == {" padded-key-42 "}
    assert redact("[padded-key-42]") == f"[{REDACTED}]"


def test_empty_and_none_texts_come_back_unchanged(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sk-0123456789")
    assert redact("") == "" and redact(None) is None
    assert redact("nothing secret here") == "nothing secret here"


def test_every_occurrence_is_replaced(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sk-0123456789")
    assert redact("sk-0123456789sk-0123456789") == REDACTED * 2


# Every spelling, written out by hand for keys whose escapings all differ (the contract of
# secret_forms: no form missing, none cut short).
SPELLED_OUT = {
    'sk-"q\\w\'/??>>>': {
        'sk-"q\\w\'/??>>>',                            # as is
        'sk-"q\\\\w\\\'/??>>>',                         # repr
        'sk-\\"q\\\\w\'/??>>>',                         # JSON
        'sk-"q\\\\w\'/??>>>',                           # unicode_escape, bytes repr
        "sk-%22q%5Cw%27%2F%3F%3F%3E%3E%3E",              # quote(safe=""), quote_plus
        "sk-%22q%5Cw%27/%3F%3F%3E%3E%3E",                # quote(), keeping "/"
        "c2stInFcdycvPz8+Pj4=", "c2stInFcdycvPz8+Pj4",   # base64, unpadded
        "c2stInFcdycvPz8-Pj4=",                          # url-safe base64
    },
    "sk-???>>>-0123": {
        "sk-???>>>-0123",
        "sk-%3F%3F%3F%3E%3E%3E-0123",
        "c2stPz8/Pj4+LTAxMjM=", "c2stPz8/Pj4+LTAxMjM", "c2stPz8_Pj4-LTAxMjM=",
    },
    "sk-\u00e9\"0123456789\x7f": {
        "sk-\u00e9\"0123456789\x7f",                     # as is
        "sk-\u00e9\"0123456789\\x7f",                    # repr
        "sk-\\u00e9\\\"0123456789\\u007f",              # JSON (ASCII)
        "sk-\u00e9\\\"0123456789\x7f",                   # JSON (UTF-8)
        "sk-\\xe9\"0123456789\\x7f",                     # unicode_escape
        "sk-\\xc3\\xa9\"0123456789\\x7f",                # repr of the UTF-8 bytes
        "sk-%C3%A9%220123456789%7F",                     # quote, quote_plus
        "c2stw6kiMDEyMzQ1Njc4OX8=", "c2stw6kiMDEyMzQ1Njc4OX8",
        '"0123456789',                                   # the piece after the break
    },
    "sk-a/b c/d+e": {                                    # a space: its URL spellings all differ
        "sk-a/b c/d+e",                                  # as is, repr, JSON, escapes
        "sk-a%2Fb%20c%2Fd%2Be",                          # quote(safe="")
        "sk-a/b%20c/d%2Be",                              # quote(), keeping "/"
        "sk-a%2Fb+c%2Fd%2Be",                            # quote_plus
        "c2stYS9iIGMvZCtl",                              # base64: no padding, nothing url-unsafe
    },
    "sk-01234W": {"sk-01234W", "c2stMDEyMzRX"},          # base64 ending in "X", no padding
    # An undecodable byte (0xff) of the environment's value, as os.environ gives it.
    "sk-abcdefgh\udcffijklmnop": {
        "sk-abcdefgh\udcffijklmnop",                    # as is, JSON (UTF-8)
        "sk-abcdefgh\\udcffijklmnop",                  # repr, JSON (ASCII), unicode_escape
        "sk-abcdefgh\\xffijklmnop",                    # repr of its bytes
        "sk-abcdefgh%FFijklmnop",                        # every URL spelling
        "c2stYWJjZGVmZ2j/aWprbG1ub3A=", "c2stYWJjZGVmZ2j/aWprbG1ub3A",
        "c2stYWJjZGVmZ2j_aWprbG1ub3A=",
        "sk-abcdefgh", "ijklmnop",                       # the pieces around the break
    },
}


@pytest.mark.parametrize("key", list(SPELLED_OUT))
def test_secret_forms_are_every_spelling_and_nothing_cut_short(key):
    assert secret_forms(key) == SPELLED_OUT[key]


def test_a_key_with_surrounding_spaces_has_its_stripped_form():
    assert "sk-0123456789" in secret_forms("  sk-0123456789  ")


def test_a_key_with_an_undecodable_byte_in_the_environment_is_redacted_and_breaks_nothing(
        monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sk-abcdefgh\udcffijklmnop")   # the byte 0xff
    assert redact("nothing secret here") == "nothing secret here"
    assert redact("b'sk-abcdefgh\\xffijklmnop'") == f"b'{REDACTED}'"


def test_a_password_written_into_a_url_is_redacted():
    assert redact("via https://me:pa55-word@proxy.example:8080/v1 failed") == \
        f"via https://me:{REDACTED}@proxy.example:8080/v1 failed"
    assert redact("mail me@example.com, see https://example.com/a:b") == \
        "mail me@example.com, see https://example.com/a:b"


def test_printable_redacts_and_shows_control_characters_as_escapes(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "sk-0123456789")
    assert printable("\x1b]52;c;ZXZpbA==\x07 sk-0123456789\u202e!\n\t") == \
        f"\\u001b]52;c;ZXZpbA==\\u0007 {REDACTED}\\u202e!\n\t"
    assert printable(42) == "42" and printable("") == ""


def test_a_hidden_key_is_the_key_but_its_repr_hides_it():
    key = HiddenKey("sk-0123456789")
    assert key == "sk-0123456789" and f"Bearer {key}" == "Bearer sk-0123456789"
    assert repr(key) == "'<api key hidden>'" and "0123" not in repr({"api_key": key})
