"""The credits table: the documented prices, and the simulator charging exactly them over HTTP."""
from __future__ import annotations

import pytest

from apiframe_magic.credits import COSTS, credits_for, estimate
from localserver import finish as _finish


@pytest.mark.parametrize("kind, payload, cost", [
    ("imagine", None, 4), ("/blend", None, 4), ("reroll", None, 4), ("variations", None, 4),
    ("outpaint", None, 4), ("inpaint", None, 4), ("pan", None, 4), ("describe", None, 2),
    ("shorten", None, 2), ("seed", None, 2), ("upscale-1x", None, 2), ("faceswap", None, 2),
    ("upscale-highres", {"type": "2x"}, 1), ("upscale-highres", {"type": "4x"}, 2),
    ("upscale-highres", None, 1), ("upscale-alt", {"type": "subtle"}, 4),
    ("upscale-alt", {"type": "creative"}, 4),
])
def test_documented_price_of_each_action(kind, payload, cost):
    assert credits_for(kind, payload) == cost


def test_estimate_adds_kinds_and_pairs_and_unknowns_are_errors():
    assert estimate(["imagine"] * 27) == 108
    assert estimate([("imagine", {}), ("upscale-highres", {"type": "4x"}), "seed"]) == 8
    assert estimate([]) == 0
    with pytest.raises(ValueError, match="no known credit cost"):
        credits_for("fetch")
    with pytest.raises(ValueError, match="2x or 4x"):
        credits_for("upscale-highres", {"type": "8x"})


def test_the_simulator_charges_what_the_table_says(client):
    """Each paid call, sent over HTTP, lowers /account's balance by credits_for(kind, payload)."""
    def charged(kind, payload, submit):
        before = client.account().credits
        task_id = submit()
        assert before - client.account().credits == credits_for(kind, payload), kind
        return task_id

    grid = _finish(client, charged("imagine", None, lambda: client.imagine("a lighthouse")))
    up = _finish(client, charged("upscale-1x", None, lambda: client.upscale_1x(grid.task_id, 1)))
    charged("upscale-highres", {"type": "4x"},
            lambda: client.upscale_highres(up.task_id, type="4x"))
    charged("upscale-highres", {"type": "2x"},
            lambda: client.upscale_highres(up.task_id, type="2x"))
    charged("upscale-alt", {"type": "creative"}, lambda: client.upscale_alt(up.task_id, "creative"))
    charged("pan", None, lambda: client.pan(up.task_id, "left"))
    charged("seed", None, lambda: client.seed(grid.task_id))
    charged("shorten", None, lambda: client.shorten("a very long and detailed prompt"))
    assert set(COSTS) >= {"imagine", "pan", "seed", "shorten", "upscale-alt"}


def test_only_a_leading_slash_is_stripped_from_a_kind():
    assert credits_for(" /Imagine ") == 4
    with pytest.raises(ValueError, match="no known credit cost for 'Ximagine'"):
        credits_for("Ximagine")


def test_the_unknown_kind_error_lists_the_known_kinds():
    with pytest.raises(ValueError, match="known: imagine, blend, reroll, variations, "):
        credits_for("fetch")
