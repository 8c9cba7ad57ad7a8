"""The CLI validates a prompt once: the jobs it counted and showed are the jobs it queues
(`JobManager.imagine_all(prompts=...)`), not a second validation of the text. In-process, against
a simulator over real HTTP."""
from __future__ import annotations

import pytest

from apiframe_magic import cli
from apiframe_magic.jobs import JobManager
from apiframe_magic.prompt import validation


def test_each_job_of_a_cli_imagine_is_parsed_once(sim, monkeypatch, capsys):
    monkeypatch.setenv("APIFRAME_API_KEY", sim.api_key)
    monkeypatch.setenv("APIFRAME_BASE_URL", sim.url)
    parsed = []
    parse = validation.parse_prompt

    def counted(text, **options):
        parsed.append(text)
        return parse(text, **options)

    monkeypatch.setattr(validation, "parse_prompt", counted)
    assert cli.main(["imagine", "a {red, blue} fox --ar 3:2", "--no-wait", "--yes"]) == 0
    assert sorted(parsed) == ["a blue fox --ar 3:2", "a red fox --ar 3:2"]
    assert sim.tasks_created == 2


def test_imagine_all_takes_the_text_or_validated_prompts_not_both(client):
    manager = JobManager(client, download_images=False)
    with pytest.raises(TypeError, match="one of them"):
        manager.imagine_all("a fox", prompts=validation.validate("a fox"))
    with pytest.raises(TypeError, match="one of them"):
        manager.imagine_all()
