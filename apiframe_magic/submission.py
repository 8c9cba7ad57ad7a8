"""From prompt text to submitted jobs, shared by the `%%imagine` magic, the prompt panel and the CLI.

`plan()` does everything that costs nothing (expand permutations, validate every job, count jobs
and credits, check the confirmation rule) so that a bad prompt fails before any request.
`submit()` uploads image prompts, then sends one imagine per permutation (its `--repeat` goes with
it: Midjourney runs, and charges, that many jobs). `count()` is the one count of jobs and credits
that the panel, `--dry-run`, the magic's confirmation and the CLI all show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .credits import COSTS
from .prompt import PromptError, count_jobs, validate
from .settings import is_http_url

HARD_JOB_LIMIT = 40        # above this a run always needs an explicit yes
ABSOLUTE_JOB_LIMIT = 200   # never more from one prompt, even with yes


class NeedsConfirmation(ValueError):
    """The run is large enough that the user must say yes (`--yes`) first."""


@dataclass(frozen=True)
class Count:
    """Jobs a run makes and the credits they cost."""

    jobs: int
    credits: int


def count(prompts: Sequence) -> Count:
    """The jobs and credits of validated prompts: one job per permutation, times its `--repeat`,
    each job one imagine (`a fox --repeat 3` is 3 jobs, 12 credits)."""
    jobs = sum(prompt.jobs for prompt in prompts)
    return Count(jobs, jobs * COSTS["imagine"])


@dataclass
class Plan:
    """What a run would send: one imagine per prompt, and what it costs."""

    prompts: list                         # prompt.Prompt, one per job
    text: str = ""                        # the prompt as validated (style names expanded)
    mode: str | None = None
    image_prompts: Sequence[Any] = ()     # uploaded before the run; URLs go in front of the prompt
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def jobs(self) -> int:
        """Jobs the run makes: one per permutation, times its --repeat."""
        return count(self.prompts).jobs

    @property
    def credits(self) -> int:
        return count(self.prompts).credits

    @property
    def warnings(self) -> list[str]:
        """Each distinct warning once, in order."""
        return list(dict.fromkeys(w for p in self.prompts for w in p.warnings))

    def payload(self, prompt, image_urls: Sequence[str] = ()) -> dict:
        """The JSON body of the /imagine request for one job."""
        text = " ".join([*image_urls, str(prompt)])
        body = {"prompt": text, "aspect_ratio": prompt.aspect_ratio, "process_mode": self.mode,
                "webhook_url": self.webhook_url, "webhook_secret": self.webhook_secret}
        return {key: value for key, value in body.items() if value is not None}


def plan(text: str, *, version: str | None = None, default_version: str | None = None,
         mode: str | None = None, confirm_above: int = 10, yes: bool = False,
         image_prompts: Sequence[Any] = (), webhook_url: str | None = None,
         webhook_secret: str | None = None, store=None,
         max_jobs: int = ABSOLUTE_JOB_LIMIT) -> Plan:
    """Validate `text` and decide how many jobs it makes; raises PromptError or NeedsConfirmation.

    `version` is a version the user named (its rules are errors); `default_version` the assumed
    account default (its rules only warn). With the history `store`, `--sref @name` becomes the
    code of that named style first (styles.StyleNameError when there is no such name). More
    jobs than `max_jobs` (at most ABSOLUTE_JOB_LIMIT) is a PromptError.
    """
    if not text or not text.strip():
        raise PromptError("the prompt is empty; write it in the cell under %%imagine "
                          "(or after -- on the %imagine line)")
    if store is not None and "@" in text:
        from .styles import expand_style_names

        text = expand_style_names(text, store)
    unchecked = count_jobs(text)    # before building hundreds of jobs to validate them
    if unchecked > ABSOLUTE_JOB_LIMIT:
        raise PromptError(f"this prompt makes {unchecked} jobs; at most {ABSOLUTE_JOB_LIMIT} can "
                          "run from one prompt: split the {...} groups or lower --repeat")
    prompts = validate(text, version=version, default_version=default_version,
                       max_jobs=min(max_jobs, ABSOLUTE_JOB_LIMIT))
    run = Plan(prompts, text=text, mode=mode, image_prompts=tuple(image_prompts),
               webhook_url=webhook_url, webhook_secret=webhook_secret)
    if not yes and run.jobs > min(confirm_above, HARD_JOB_LIMIT):
        raise NeedsConfirmation(
            f"this prompt makes {run.jobs} jobs ({run.credits} credits); "
            "add --yes to run them all, or --dry-run to see them first")
    return run


def submit(plan: Plan, manager, client) -> list:
    """Upload the image prompts, then send one imagine per job; returns the jobs in order.

    A failure part-way raises after the jobs already sent are kept in the history; the jobs sent
    so far are attached to the error as `error.jobs`. A run that would pass the session's budget
    (`manager.spend`) raises spend.BudgetExceeded before anything is uploaded or sent.
    """
    from .uploads import check_upload   # Pillow: not at %load_ext

    manager.spend.check(plan.credits)
    for image in plan.image_prompts:   # nothing that is not an image leaves the machine
        if not is_http_url(image):
            check_upload(image, label="--image")
    urls = [image if is_http_url(image) else client.upload(image) for image in plan.image_prompts]
    jobs = []
    try:
        for prompt in plan.prompts:
            jobs.append(manager.submit("imagine", plan.payload(prompt, urls),
                                       prompt=" ".join([*urls, str(prompt)]),
                                       params=_plain_params(prompt)))
    except Exception as error:
        error.jobs = jobs
        raise
    return jobs


def _plain_params(prompt) -> dict:
    """Prompt parameters as JSON values for the history: single values are str, int, float or
    bool already; lists (`--sref` references, `--no` words) become their texts."""
    return {name: [str(item) for item in value] if isinstance(value, (list, tuple)) else value
            for name, value in prompt.params.items()}
