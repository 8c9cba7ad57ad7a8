"""Polling cost and time to the last result: JobManager with the defaults a user gets, against
the baseline of APIFRAME's Node SDK `waitFor`.

Baseline (measured in the same run): the jobs are submitted one after another, then each polls
`/fetch` on its own every 3 s until it ends. Ours: one JobManager with `runtime.start()`'s polling
policy (`runtime.default_policy`, scaled to the simulator's clock), a history store on disk, every
job sent at once up to `max_in_flight`, `/fetch-many` batches and an adaptive interval. Both run
against a fresh simulator with the same seed (same task durations) and a concurrency as large as
the batch, so every time below is in service seconds (wall time x speed).

    python benchmarks/bench_polling.py [--speed 2] [--sizes 1 8 20]

Speed: the client's own costs (two fsync'd history writes per submit, 10-20 ms on a busy disk)
take real time, and read in service seconds they are multiplied by the speed, so a fast clock
overstates them (at 10x, 20 submits' writes look like 4 service seconds). Speed 1 is the truth;
the default 2 keeps a full run near two minutes.

Prints, for each batch size: requests per job (the submit counted), the time from the first submit
to the last result seen, the median delay between a task finishing on the service and the client
seeing it, and ours/baseline ratios. Targets for 20 jobs: last result <= 1.05x, requests <= 0.2x.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from apiframe_magic import ApiframeClient
from apiframe_magic.jobs import JobManager
from apiframe_magic.runtime import default_policy
from apiframe_magic.simulator import Simulator
from apiframe_magic.store import HistoryStore

SDK_INTERVAL = 3.0  # seconds between polls in the Node SDK's waitFor
SEED = 20240601


@dataclass
class Run:
    requests_per_job: float
    last_result: float      # service seconds from the first submit to the last result seen
    median_delay: float     # service seconds between finishing and being seen


def _requests(sim) -> int:
    counts = sim.request_counts
    return counts["/imagine"] + counts["/fetch"] + counts["/fetch-many"]


def _run(sim, n, speed, started, seen, task_ids) -> Run:
    delays = [(seen[t] - sim.finished_at(t)) * speed for t in task_ids]
    return Run(_requests(sim) / n, (max(seen.values()) - started) * speed,
               statistics.median(delays))


def run_baseline(n: int, speed: float) -> Run:
    """n jobs, each polled with /fetch every 3 s on its own thread."""
    with Simulator(speed=speed, concurrency=max(n, 1), seed=SEED) as sim:
        client = ApiframeClient(sim.api_key, base_url=sim.url)
        started = time.time()
        ids = [client.imagine(f"benchmark prompt {i} --ar 3:2") for i in range(n)]
        seen: dict[str, float] = {}

        def wait_for(task_id):
            while True:
                time.sleep(SDK_INTERVAL / speed)
                if client.fetch(task_id).done:
                    seen[task_id] = time.time()
                    return

        threads = [threading.Thread(target=wait_for, args=(t,)) for t in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return _run(sim, n, speed, started, seen, ids)


def run_manager(n: int, speed: float) -> Run:
    """n jobs through one JobManager with the runtime's default policy."""
    with Simulator(speed=speed, concurrency=max(n, 1), seed=SEED) as sim, \
            tempfile.TemporaryDirectory() as home, \
            HistoryStore(Path(home) / "history.sqlite3") as store:
        client = ApiframeClient(sim.api_key, base_url=sim.url)
        seen: dict[str, float] = {}
        with JobManager(client, store=store, policy=default_policy(speed),
                        download_images=False) as manager:
            started = time.time()
            jobs = [manager.imagine(f"benchmark prompt {i} --ar 3:2") for i in range(n)]
            for job in jobs:
                job.on_finished(lambda j: seen.setdefault(j.task_id, time.time()))
            for job in jobs:
                job.wait(timeout=600)
        return _run(sim, n, speed, started, seen, [j.task_id for j in jobs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=2.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 20])
    args = parser.parse_args()
    print(f"simulator speed {args.speed:g}x; times in service seconds; baseline = one /fetch "
          f"per job every {SDK_INTERVAL:g} s; requests include the submit; "
          f"max_in_flight {default_policy(args.speed).max_in_flight} (runtime default)")
    print(f"{'jobs':>4}  {'req/job base':>12}  {'ours':>6}  {'ratio':>6}  "
          f"{'last result base':>16}  {'ours':>7}  {'ratio':>6}  "
          f"{'median delay base':>17}  {'ours':>6}")
    for n in args.sizes:
        base, ours = run_baseline(n, args.speed), run_manager(n, args.speed)
        print(f"{n:>4}  {base.requests_per_job:>12.2f}  {ours.requests_per_job:>6.2f}  "
              f"{ours.requests_per_job / base.requests_per_job:>6.3f}  "
              f"{base.last_result:>15.1f}s  {ours.last_result:>6.1f}s  "
              f"{ours.last_result / base.last_result:>6.3f}  "
              f"{base.median_delay:>16.2f}s  {ours.median_delay:>5.2f}s")


if __name__ == "__main__":
    main()
