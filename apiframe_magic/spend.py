"""What this session has spent, in credits, and the budget that stops it.

One `SpendLedger` per kernel (the magic keeps it across runtime switches; a `JobManager` made from
Python gets its own). The manager adds every job it accepts and asks `check` before it records or
sends anything, so the cell, the panel and every button pass through the same refusal. Spent is
read from the jobs themselves: a job the service refused (or one cancelled before it was sent)
costs nothing; everything sent, queued to be sent or of unknown outcome counts.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping

from .credits import credits_for
from .errors import ApiframeError

# Job states (jobs.py) in which a job has cost nothing: refused by the service, or never sent.
_FREE_STATES = frozenset({"rejected"})
_UNSENT_ENDS = frozenset({"cancelled", "paused", "failed", "timed_out"})


class BudgetExceeded(ApiframeError):
    """A submit would pass the session's budget; nothing was recorded or sent."""


def cost_of(kind: str, payload: Mapping[str, Any] | None = None) -> int:
    """Credits of one task; 0 for a payload the client will refuse anyway (a bad upscale type)."""
    try:
        return credits_for(kind, payload)
    except ValueError:
        return 0


class SpendLedger:
    """Credits by action and by job for one session; `budget` (credits, None = no limit)."""

    def __init__(self, budget: int | None = None):
        self._lock = threading.Lock()
        self._jobs: list = []
        self.budget = budget

    @property
    def budget(self) -> int | None:
        return self._budget

    @budget.setter
    def budget(self, value: int | None) -> None:
        self._budget = check_budget(value)

    def add(self, job) -> None:
        with self._lock:
            self._jobs.append(job)

    def counted(self) -> list:
        """The jobs that cost (or may have cost) credits, oldest first."""
        with self._lock:
            jobs = list(self._jobs)
        return [job for job in jobs if _costs(job)]

    @property
    def spent(self) -> int:
        return sum(cost_of(job.kind, job.payload) for job in self.counted())

    def check(self, cost: int, what: str = "this run") -> None:
        """Raise BudgetExceeded when `cost` more credits would pass the budget."""
        if self.budget is None:
            return
        spent = self.spent
        if spent + cost > self.budget:
            raise BudgetExceeded(
                f"over budget: {spent} credits spent this session + {cost} for {what} = "
                f"{spent + cost}, above the budget of {self.budget}; nothing was sent")

    def by_action(self) -> dict[str, tuple[int, int]]:
        """kind -> (tasks, credits), in the order each kind was first used."""
        table: dict[str, tuple[int, int]] = {}
        for job in self.counted():
            count, credits = table.get(job.kind, (0, 0))
            table[job.kind] = (count + 1, credits + cost_of(job.kind, job.payload))
        return table

    def words(self, cost: int | None = None) -> str:
        """One line for a form: spent, the budget, and whether `cost` more would pass it."""
        spent = self.spent
        line = f"{spent} credits spent this session"
        if self.budget is not None:
            line += f" · budget {self.budget}"
            if cost is not None and spent + cost > self.budget:
                line += " · over budget: nothing would be sent"
        return line


    def report(self) -> str:
        """A text table: credits by action, then by job (newest last), then the total."""
        jobs = self.counted()
        budget = f" of a budget of {self.budget}" if self.budget is not None else " (no budget set)"
        if not jobs:
            return f"nothing spent this session{budget}"
        lines = ["by action:"]
        lines += [f"  {kind:<22} {count:>3} task{'s' if count != 1 else ' '} {credits:>5} credits"
                  for kind, (count, credits) in self.by_action().items()]
        lines.append("by job:")
        for job in jobs:
            ident = (job.task_id or job.job_id or "unsent")[:8]
            prompt = " ".join(str(job.prompt or "").split())
            prompt = prompt if len(prompt) <= 48 else prompt[:47] + "…"
            credits = cost_of(job.kind, job.payload)
            lines.append(f"  {ident:<8} {job.kind:<22} {credits:>4}  {prompt}")
        lines.append(f"spent: {self.spent} credits{budget}")
        return "\n".join(lines)


def check_budget(value: Any) -> int | None:
    """A budget is a whole number of credits, 0 or more, or None for none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"the budget is a whole number of credits, not {value!r}")
    if value < 0:
        raise ValueError(f"the budget cannot be negative ({value}); 0 stops every submit, "
                         "None removes the budget")
    return value


def _costs(job) -> bool:
    state = job.state
    if state in _FREE_STATES:
        return False
    return bool(job.task_id) or state not in _UNSENT_ENDS
