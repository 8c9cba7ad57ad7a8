"""Several jobs from one prompt (its permutations), handled as one result.

Shown through the presenter a face registered in `presenting` (plain text without one): the
engine never imports a face.
"""
from __future__ import annotations

import asyncio
from typing import Iterator, Sequence

from . import presenting
from .errors import ApiframeError


class JobGroup(Sequence):
    """The jobs of one `%%imagine` run, in prompt order: iterable, indexable, waitable, awaitable.

    `matrix` is the `matrix.MatrixLayout` of a permutation prompt (None for other groups)."""

    def __init__(self, jobs, matrix=None):
        self.jobs = list(jobs)
        self.matrix = matrix

    def __getitem__(self, index):
        return self.jobs[index]

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator:
        return iter(self.jobs)

    def __repr__(self) -> str:
        done = sum(job.done for job in self.jobs)
        return f"<JobGroup {len(self.jobs)} jobs, {done} done>"

    @property
    def done(self) -> bool:
        return all(job.done for job in self.jobs)

    def wait(self, timeout: float | None = None, *, images: bool = False) -> list:
        """Block until every job ends; each job's result, or the error it ended with.

        KeyboardInterrupt stops the waiting, not the jobs.
        """
        outcomes = []
        for job in self.jobs:
            try:
                outcomes.append(job.wait(timeout, images=images))
            except ApiframeError as error:
                outcomes.append(error)
        return outcomes

    def __await__(self):
        return self._await().__await__()

    async def _await(self) -> list:
        outcomes = await asyncio.gather(*(job._await() for job in self.jobs),
                                        return_exceptions=True)
        return list(outcomes)

    def cancel(self) -> None:
        for job in self.jobs:
            job.cancel()

    def _repr_mimebundle_(self, include=None, exclude=None):
        presenter = presenting.current()
        if presenter is None:
            return {"text/plain": "\n".join([repr(self), *map(repr, self.jobs)])}, {}
        return presenter.bundle(self.jobs, group=True, matrix=self.matrix)

    def show(self) -> None:
        """Display the group again (live where widgets render, else its static output)."""
        presenter = presenting.current()
        if presenter is None:
            print(self._repr_mimebundle_()[0]["text/plain"])
        else:
            presenter.present(self.jobs, group=True, matrix=self.matrix)
