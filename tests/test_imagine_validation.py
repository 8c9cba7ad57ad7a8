"""`manager.imagine` checks prompts by the CLI's rules before anything is recorded or sent;
`imagine_all` expands permutations. Over real HTTP against the simulator."""
from __future__ import annotations

import pytest

from apiframe_magic.jobs import JobManager, PollingPolicy
from apiframe_magic.prompt import PromptError
from apiframe_magic.store import HistoryStore


@pytest.fixture
def manager(client, tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store, \
            JobManager(client, store=store, policy=PollingPolicy().scaled(100),
                       download_images=False) as m:
        yield m


@pytest.mark.parametrize("text, aspect, words", [
    ("a cat --v 99", None, "--v"),
    ("a cat --chaos 500", None, "chaos"),
    ("a {red, blue} cat", None, "imagine_all"),
    ("a {red cat", None, "{"),
    ("a cat --ar 3:2", "16:9", "aspect_ratio"),
    (None, None, "string"),
])
def test_bad_prompts_raise_before_anything_is_recorded_or_sent(sim, manager, text, aspect, words):
    with pytest.raises(PromptError, match=words) as caught:
        manager.imagine(text, aspect_ratio=aspect)
    assert isinstance(caught.value, ValueError)
    assert manager.store.count() == 0 and sim.tasks_created == 0 and manager.jobs == []


def test_aspect_ratio_comes_from_the_prompt_and_may_repeat_it(sim, manager):
    first = manager.imagine("a harbour at dawn --ar 3:2")
    second = manager.imagine("a harbour at dusk --ar 3:2", aspect_ratio="6:4")
    assert first.payload["aspect_ratio"] == "3:2" and second.payload["aspect_ratio"] == "6:4"
    assert first.wait(timeout=20).finished and second.wait(timeout=20).finished


def test_the_assumed_version_applies_its_rules(manager):
    with pytest.raises(PromptError, match="oref|--oref|7"):
        manager.imagine("a cat --oref https://example.com/a.png", version="6.1")


def test_validate_false_sends_the_text_as_written(sim, manager):
    job = manager.imagine("a {red, blue} cat", validate=False)
    assert job.wait(timeout=20).finished
    assert sim.get_task(job.task_id) and job.prompt == "a {red, blue} cat"


def test_imagine_all_expands_and_validates_every_permutation(sim, manager):
    with pytest.raises(PromptError, match="job 2"):
        manager.imagine_all("a cat --{v 6.1, chaos 500}")
    assert sim.tasks_created == 0 and manager.store.count() == 0
    jobs = manager.imagine_all("a {red, blue} kite --ar 16:9")
    assert [job.prompt for job in jobs] == ["a red kite --ar 16:9", "a blue kite --ar 16:9"]
    assert {job.payload["aspect_ratio"] for job in jobs} == {"16:9"}
    for job in jobs:
        assert job.wait(timeout=20).finished
