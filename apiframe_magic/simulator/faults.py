"""Fault injection: the ways the real service (or the network before it) misbehaves.

`Faults` holds rates, applied per request with a seeded RNG; `FaultInjector.fail_next()` queues
exact one-shot faults, which tests prefer ("the next 2 requests to /fetch get 500"). For
task-creating POSTs `phase="after"` creates (and charges) the task first and then answers badly:
the ambiguous case a client must never blindly retry.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("500", "429", "slow", "drop", "malformed", "task_failed")
MALFORMED_KINDS = ("truncated", "html", "html200", "empty")
_ALIASES = {"error": "500", "server_error": "500", "rate_limit": "429", "timeout": "slow",
            "html": "malformed", "truncated": "malformed", "fail_task": "task_failed",
            "task": "task_failed", "failed": "task_failed"}
DEFAULT_FAILURE_REASON = "Simulated failure: Midjourney could not finish this job"


@dataclass(frozen=True)
class Faults:
    """Rates are probabilities in 0..1 per request. `paths` limits them to those paths (None:
    every API path). `phase` applies to task-creating POSTs: "before" rejects the request,
    "after" creates the task and then misbehaves (a 429 is always "before": a rate limiter
    rejects, it never creates). Tasks fail if their prompt contains one of
    `fail_prompts` (case-insensitive, on every path) or with probability `task_failure_rate`."""

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: int = 1
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    malformed_kind: str = "truncated"
    task_failure_rate: float = 0.0
    fail_prompts: tuple[str, ...] = ()
    failure_reason: str = DEFAULT_FAILURE_REASON
    paths: frozenset[str] | None = None
    phase: str = "before"
    seed: int | None = None

    def __post_init__(self):
        if self.phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        if self.malformed_kind not in MALFORMED_KINDS:
            raise ValueError(f"malformed_kind must be one of {MALFORMED_KINDS}")
        if self.paths is not None and not isinstance(self.paths, frozenset):
            object.__setattr__(self, "paths", frozenset(
                [self.paths] if isinstance(self.paths, str) else self.paths))
        object.__setattr__(self, "fail_prompts", tuple(
            [self.fail_prompts] if isinstance(self.fail_prompts, str) else self.fail_prompts))


@dataclass
class FaultAction:
    """What to do to one response."""

    kind: str                      # one of KINDS except "task_failed"
    phase: str = "before"
    retry_after: int = 1
    delay: float = 0.0
    malformed_kind: str = "truncated"


@dataclass
class _OneShot:
    kind: str
    remaining: int
    paths: frozenset[str] | None
    phase: str
    retry_after: int = 1
    delay: float = 1.0
    malformed_kind: str = "truncated"
    reason: str = DEFAULT_FAILURE_REASON
    consumed: int = field(default=0)


def _path_matches(paths: frozenset[str] | None, path: str) -> bool:
    if paths is None:
        return True
    return any(path == p or (p.endswith("*") and path.startswith(p[:-1])) for p in paths)


class FaultInjector:
    """Decides, per request, which fault (if any) applies. Thread-safe."""

    def __init__(self, faults: Faults | None = None):
        self._lock = threading.Lock()
        self._one_shots: list[_OneShot] = []
        self.faults = faults or Faults()

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def fail_next(self, n: int = 1, kind: str = "500", *, paths=None, phase: str = "before",
                  retry_after: int = 1, delay: float = 1.0, malformed: str = "truncated",
                  reason: str = DEFAULT_FAILURE_REASON) -> None:
        """Make the next `n` matching requests (or, for "task_failed", created tasks) misbehave.
        kind: "500", "429", "slow", "drop", "malformed" ("html"/"truncated" pick the body),
        "task_failed"."""
        if kind in ("html", "truncated") and malformed == "truncated":
            malformed = kind
        kind = _ALIASES.get(kind, kind)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        if malformed not in MALFORMED_KINDS:
            raise ValueError(f"malformed must be one of {MALFORMED_KINDS}")
        if paths is not None:
            paths = frozenset([paths] if isinstance(paths, str) else paths)
        with self._lock:
            self._one_shots.append(_OneShot(kind, n, paths, phase, retry_after, delay,
                                            malformed, reason))

    def clear(self) -> None:
        """Forget queued one-shot faults and reset rates to none."""
        with self._lock:
            self._one_shots.clear()
        self.faults = Faults()

    def pick(self, path: str, creates_task: bool, api_path: bool = True) -> FaultAction | None:
        """The fault for this request, if any. Non-API paths (images) only fault when a rule
        names them explicitly."""
        with self._lock:
            for shot in self._one_shots:
                if shot.kind == "task_failed" or shot.remaining <= 0:
                    continue
                if (shot.paths is None and not api_path) or not _path_matches(shot.paths, path):
                    continue
                shot.remaining -= 1
                self._one_shots = [s for s in self._one_shots if s.remaining > 0]
                phase = shot.phase if creates_task and shot.kind != "429" else "before"
                return FaultAction(shot.kind, phase,
                                   shot.retry_after, shot.delay, shot.malformed_kind)
            f = self._faults
            if (f.paths is None and not api_path) or not _path_matches(f.paths, path):
                return None
            phase = f.phase if creates_task else "before"
            for kind, rate in (("drop", f.drop_rate), ("500", f.error_rate),
                               ("429", f.rate_limit_rate), ("malformed", f.malformed_rate),
                               ("slow", f.slow_rate)):
                if rate > 0 and self._rng.random() < rate:
                    return FaultAction(kind, "before" if kind == "429" else phase,
                                       f.retry_after, f.slow_seconds, f.malformed_kind)
        return None

    def task_failure(self, path: str, prompt: str) -> str | None:
        """The failure reason if a task created now on `path` should end `failed`."""
        with self._lock:
            for shot in self._one_shots:
                if shot.kind == "task_failed" and shot.remaining > 0 and \
                        _path_matches(shot.paths, path):
                    shot.remaining -= 1
                    self._one_shots = [s for s in self._one_shots if s.remaining > 0]
                    return shot.reason
            f = self._faults
            lowered = (prompt or "").lower()
            if any(s.lower() in lowered for s in f.fail_prompts if s):   # explicit: any path
                return f.failure_reason
            if f.task_failure_rate > 0 and _path_matches(f.paths, path) and \
                    self._rng.random() < f.task_failure_rate:
                return f.failure_reason
        return None
