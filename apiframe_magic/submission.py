"""From prompt text to submitted jobs, shared by the `%%imagine` magic and the prompt panel.

`plan()` does everything that costs nothing (expand permutations, validate every job, count jobs
and credits, check the confirmation rule) so that a bad prompt fails before any request.
`submit()` uploads image prompts, then sends one imagine per job.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .credits import credits_for
from .prompt import PromptError, count_jobs, validate

HARD_JOB_LIMIT = 40        # above this a run always needs an explicit yes
ABSOLUTE_JOB_LIMIT = 200   # never more from one prompt, even with yes


class NeedsConfirmation(ValueError):
    """The run is large enough that the user must say yes (`--yes`) first."""


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
        return sum(prompt.jobs for prompt in self.prompts)

    @property
    def credits(self) -> int:
        return credits_for("imagine") * self.jobs

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
         webhook_secret: str | None = None, store=None) -> Plan:
    """Validate `text` and decide how many jobs it makes; raises PromptError or NeedsConfirmation.

    `version` is a version the user named (its rules are errors); `default_version` the assumed
    account default (its rules only warn). With the history `store`, `--sref @name` becomes the
    code of that named style first (styles.StyleNameError when there is no such name).
    """
    if not text or not text.strip():
        raise PromptError("the prompt is empty; write it in the cell under %%imagine "
                          "(or after -- on the %imagine line)")
    if store is not None and "@" in text:
        from .styles import expand_style_names

        text = expand_style_names(text, store)
    count = count_jobs(text)
    if count > ABSOLUTE_JOB_LIMIT:
        raise PromptError(f"this prompt makes {count} jobs; at most {ABSOLUTE_JOB_LIMIT} can "
                          "run from one prompt: split the {...} groups or lower --repeat")
    prompts = validate(text, version=version, default_version=default_version,
                       max_jobs=ABSOLUTE_JOB_LIMIT)
    if not yes and count > min(confirm_above, HARD_JOB_LIMIT):
        raise NeedsConfirmation(
            f"this prompt makes {count} jobs ({count * credits_for('imagine')} credits); "
            "add --yes to run them all, or --dry-run to see them first")
    return Plan(prompts, text=text, mode=mode, image_prompts=tuple(image_prompts),
                webhook_url=webhook_url, webhook_secret=webhook_secret)


def matrix_of(plan: Plan):
    """The permutation matrix of a run of several jobs, when its jobs map onto one."""
    if len(plan.prompts) < 2:
        return None
    from .static.matrix import layout

    try:
        matrix = layout(plan.text, max_jobs=ABSOLUTE_JOB_LIMIT)
    except (PromptError, ValueError):
        return None
    return matrix if matrix.axes and len(matrix.jobs) == len(plan.prompts) else None


def submit(plan: Plan, manager, client) -> list:
    """Upload the image prompts, then send one imagine per job; returns the jobs in order.

    A failure part-way raises after the jobs already sent are kept in the history; the jobs sent
    so far are attached to the error as `error.jobs`. A run that would pass the session's budget
    (`manager.spend`) raises spend.BudgetExceeded before anything is uploaded or sent.
    """
    manager.spend.check(plan.credits)
    urls = [client.upload(image) if not _is_url(image) else image for image in plan.image_prompts]
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


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _plain_params(prompt) -> dict:
    """Prompt parameters as JSON-friendly values for the history."""
    out = {}
    for name, value in prompt.params.items():
        if isinstance(value, (list, tuple)):
            out[name] = [str(v) for v in value]
        elif isinstance(value, (str, int, float, bool)) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
    return out
