"""A job's local states, named once for the engine's modules (`jobs` re-exports them).

"queued" waits for a free slot (recorded, not sent); "waiting" is a follow-up waiting for its
parent to finish (recorded queued, not sent); the ENDED ones end the job locally. "paused":
polling stopped because the key was rejected; the task goes on at the service and stays
resumable in the history (so does a paused unsent job). `words` writes the same names out.
"""
from __future__ import annotations

QUEUED, WAITING, SUBMITTING, ACTIVE = "queued", "waiting", "submitting", "active"
FINISHED, FAILED, TIMED_OUT, CANCELLED, REJECTED, UNCERTAIN, PAUSED = (
    "finished", "failed", "timed_out", "cancelled", "rejected", "uncertain", "paused")
ENDED = frozenset({FINISHED, FAILED, TIMED_OUT, CANCELLED, REJECTED, UNCERTAIN, PAUSED})
UNSENT = frozenset({QUEUED, WAITING})

# A parent that ended this way may still have its task at the service: a follow-up goes out and
# the service judges. A parent that failed, was refused or is in doubt has nothing to follow.
PARENT_MAY_HAVE_RESULT = frozenset({FINISHED, TIMED_OUT, CANCELLED, PAUSED})
