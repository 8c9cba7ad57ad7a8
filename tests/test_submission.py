"""submission.plan and submit: the job limits (ask above `confirm_above`, always above 40, never
more than 200), the counts (permutations times --repeat) and credits, checked against numbers
written here; the request bodies; a failure part-way keeps the jobs already sent."""
from __future__ import annotations

import json

import pytest

from apiframe_magic import submission
from apiframe_magic.errors import InvalidArgumentError
from apiframe_magic.jobs import JobManager
from apiframe_magic.prompt import PromptError
from apiframe_magic.spend import BudgetExceeded, SpendLedger
from apiframe_magic.static.matrix import matrix_of
from apiframe_magic.submission import NeedsConfirmation, Plan, plan, submit


def options(n: int) -> str:
    """A prompt with one permutation group of `n` options: n jobs."""
    return "a {" + ", ".join(f"c{i}" for i in range(n)) + "} fox"


@pytest.mark.parametrize("text, jobs, credits", [
    ("a fox", 1, 4),
    ("a fox --repeat 3", 3, 12),
    ("a {red, blue} fox", 2, 8),
    ("a {red, blue} fox --repeat 3", 6, 24),
    ("a {red, blue} fox in {snow, rain, fog}", 6, 24),
])
def test_jobs_are_permutations_times_repeat(text, jobs, credits):
    made = plan(text, confirm_above=100)
    assert (made.jobs, made.credits) == (jobs, credits)


def test_a_run_up_to_confirm_above_needs_no_yes():
    assert plan(options(10), confirm_above=10).jobs == 10


def test_a_run_above_confirm_above_needs_yes_and_says_the_credits():
    with pytest.raises(NeedsConfirmation, match=r"^this prompt makes 11 jobs \(44 credits\); "
                                                 r"add --yes to run them all"):
        plan(options(11), confirm_above=10)
    assert plan(options(11), confirm_above=10, yes=True).jobs == 11


def test_repeat_counts_towards_the_confirmation():
    with pytest.raises(NeedsConfirmation, match="makes 12 jobs"):
        plan("a {red, blue} fox --repeat 6", confirm_above=11)


def test_forty_jobs_need_no_yes_when_confirm_above_allows_them():
    assert plan(options(40), confirm_above=100).jobs == 40


def test_above_forty_jobs_always_need_yes_whatever_confirm_above_says():
    with pytest.raises(NeedsConfirmation, match=r"makes 41 jobs \(164 credits\)"):
        plan(options(41), confirm_above=1000)
    assert plan(options(41), confirm_above=1000, yes=True).jobs == 41


def test_two_hundred_jobs_run_with_yes():
    assert plan(options(200), confirm_above=10, yes=True).jobs == 200


def test_more_than_two_hundred_jobs_never_run_even_with_yes():
    with pytest.raises(PromptError, match=r"^this prompt makes 201 jobs; at most 200 can run "
                                          r"from one prompt"):
        plan(options(201), confirm_above=1000, yes=True)
    with pytest.raises(PromptError, match="makes 204 jobs"):
        plan("a {a, b, c, d, e, f} fox --repeat 34", confirm_above=1000, yes=True)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_an_empty_prompt_is_refused(text):
    with pytest.raises(PromptError, match="^the prompt is empty; write it in the cell"):
        plan(text)


def test_the_plan_keeps_what_it_was_given():
    made = plan("a fox --ar 3:2", mode="turbo", image_prompts=["https://x/a.png"],
                webhook_url="https://hook.example/x", webhook_secret="s3cret")
    assert (made.text, made.mode, made.image_prompts) == ("a fox --ar 3:2", "turbo",
                                                           ("https://x/a.png",))
    assert (made.webhook_url, made.webhook_secret) == ("https://hook.example/x", "s3cret")
    assert "s3cret" not in repr(made)


def test_payload_puts_image_urls_first_and_drops_unset_fields():
    made = plan("a fox --ar 3:2", mode="fast", webhook_url="https://hook.example/x",
                webhook_secret="s3cret")
    assert made.payload(made.prompts[0], ["https://x/a.png"]) == {
        "prompt": "https://x/a.png a fox --ar 3:2", "aspect_ratio": "3:2", "process_mode": "fast",
        "webhook_url": "https://hook.example/x", "webhook_secret": "s3cret"}
    bare = plan("a fox")
    assert bare.payload(bare.prompts[0]) == {"prompt": "a fox"}


def test_warnings_are_listed_once_in_order():
    made = plan("a fox --sw 80 --cw 50 --repeat 2", confirm_above=10)
    assert len(made.warnings) == 2
    assert "--sw has no effect without --sref" in made.warnings[0]
    assert "--cw has no effect without --cref" in made.warnings[1]


def test_the_version_named_makes_its_rules_errors():
    assert plan("a fox --tile", version="7").jobs == 1
    with pytest.raises(PromptError):
        plan("a fox --stop 50", version="7")


def test_a_matrix_only_for_several_jobs_on_its_axes():
    assert matrix_of(plan("a fox")) is None
    matrix = matrix_of(plan("a {red, blue} fox in {snow, rain}"))
    assert [axis.labels for axis in matrix.axes] == [("red", "blue"), ("snow", "rain")]
    assert len(matrix.jobs) == 4


# ---------------------------------------------------------------------- submit


def test_submit_sends_one_imagine_per_job_in_order_with_plain_params(client, sim):
    with JobManager(client) as manager:
        jobs = submit(plan("a {red, blue} fox --ar 3:2 --sref 123 --chaos 10"), manager, client)
        assert [job.prompt for job in jobs] == ["a red fox --ar 3:2 --sref 123 --c 10",
                                                "a blue fox --ar 3:2 --sref 123 --c 10"]
        assert [job.payload["aspect_ratio"] for job in jobs] == ["3:2", "3:2"]
        assert sim.tasks_created == 2


def test_submit_uploads_image_prompts_once_and_puts_their_urls_first(client, sim, tmp_path):
    from PIL import Image

    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp_path / "ref.png")
    made = plan("a {red, blue} fox", image_prompts=[tmp_path / "ref.png", "https://x/b.png"])
    with JobManager(client) as manager:
        jobs = submit(made, manager, client)
    assert sim.request_counts.get("/upload") == 1
    first, second = (job.payload["prompt"].split() for job in jobs)
    assert first[0].startswith(sim.url) and first[1] == "https://x/b.png"
    assert first[:2] == second[:2] and first[2:] == ["a", "red", "fox"]


class _RefusesTheSecond:
    """A manager whose second submit fails, as a dropped connection would."""

    def __init__(self):
        self.sent = []
        self.spend = SpendLedger()   # no budget

    def submit(self, kind, payload, **options):
        if len(self.sent) == 1:
            raise ConnectionError("dropped")
        self.sent.append(options["prompt"])
        return options["prompt"]


def test_a_failure_part_way_keeps_the_jobs_sent_on_the_error():
    with pytest.raises(ConnectionError) as info:
        submit(plan("a {red, blue, green} fox"), _RefusesTheSecond(), client=None)
    assert info.value.jobs == ["a red fox"]


def test_plain_params_are_json_values():
    made = plan("a fox --sref 12::2 https://x/s.png --chaos 5 --tile --ar 3:2 --stylize 250 "
                "--iw 1.5 --no cats, dogs --v 6.1")
    params = submission._plain_params(made.prompts[0])
    assert params == {"sref": ["12::2", "https://x/s.png"], "chaos": 5, "tile": True,
                      "aspect": "3:2", "stylize": 250, "iw": 1.5, "no": ["cats", "dogs"],
                      "version": "6.1"}
    assert json.loads(json.dumps(params)) == params


def test_submit_past_the_budget_uploads_and_sends_nothing(client, sim, tmp_path):
    from PIL import Image

    Image.new("RGB", (16, 16), (1, 2, 3)).save(tmp_path / "ref.png")
    made = plan("a {red, blue} fox", image_prompts=[tmp_path / "ref.png"])   # 2 jobs, 8 credits
    with JobManager(client) as manager:
        manager.spend.budget = 7
        with pytest.raises(BudgetExceeded, match=r"\+ 8 for this run = 8, above the budget of 7"):
            submit(made, manager, client)
        assert sim.request_counts == {}
        manager.spend.budget = 8
        assert len(submit(made, manager, client)) == 2


def test_submit_refuses_an_image_prompt_that_is_not_an_image_and_sends_nothing(client, sim,
                                                                             tmp_path):
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    with JobManager(client) as manager:
        with pytest.raises(InvalidArgumentError, match=r"^--image: id_rsa is not an image"):
            submit(plan("a fox", image_prompts=[tmp_path / "id_rsa"]), manager, client)
    assert sim.request_counts == {}


def test_plan_dataclass_counts_nothing_without_prompts():
    assert (Plan([]).jobs, Plan([]).credits, Plan([]).warnings) == (0, 0, [])


def test_ten_jobs_is_the_default_confirmation_threshold():
    assert plan(options(10)).jobs == 10
    with pytest.raises(NeedsConfirmation, match="makes 11 jobs"):
        plan(options(11))


def test_the_empty_prompt_error_says_where_the_prompt_goes():
    with pytest.raises(PromptError) as info:
        plan(" ")
    assert str(info.value) == ("the prompt is empty; write it in the cell under %%imagine "
                               "(or after -- on the %imagine line)")


def test_a_named_style_becomes_its_code_only_with_the_history(tmp_path):
    from apiframe_magic.store import HistoryStore
    from apiframe_magic.styles import name_style

    with HistoryStore(tmp_path / "h.sqlite3") as store:
        name_style(store, "1234567", "dusk")
        made = plan("a fox --sref @dusk", store=store)
        assert made.text == "a fox --sref 1234567"
        assert made.prompts[0].params["sref"][0].value == "1234567"
        assert plan("an email to me@example.org", store=store).text == \
            "an email to me@example.org"
    with pytest.raises(PromptError):
        plan("a fox --sref @dusk")                    # no history: not a style code


def test_the_assumed_version_is_passed_to_validation():
    assert plan("a fox --stop 50", default_version="7").warnings == [
        "--stop 50 at character 6: --stop is not compatible with --version 7; --stop is legacy: "
        "it works up to V6.1 (add --v 6.1)"]


def test_a_two_job_run_and_a_fifty_job_run_have_matrices():
    assert len(matrix_of(plan("a {calm, stormy} lake")).jobs) == 2
    assert len(matrix_of(plan(options(50), yes=True)).jobs) == 50


def test_submit_keeps_prompt_and_params_for_the_history(client, sim):
    made = plan("a fox --ar 3:2 --no cats --tile",
                image_prompts=["http://x/a.png", "https://x/b.png"])
    with JobManager(client) as manager:
        (job,) = submit(made, manager, client)
    assert sim.request_counts.get("/upload", 0) == 0      # URLs are not uploaded
    assert job.prompt == "http://x/a.png https://x/b.png a fox --ar 3:2 --no cats --tile"
    assert job.params == {"aspect": "3:2", "no": ["cats"], "tile": True}
