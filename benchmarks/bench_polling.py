"""Polling cost and latency: JobManager against the baseline of APIFRAME's Node SDK `waitFor`.

Baseline (measured in the same run): every job polls `/fetch` on its own every 3 s until it ends.
Ours: one JobManager, `/fetch-many` batches, adaptive interval. Both run against a fresh simulator
at the same clock speed, so every time below is in service seconds (wall time x speed).

    python benchmarks/bench_polling.py [--speed 10] [--sizes 1 8 20]

Prints, for 1, 8 and 20 concurrent jobs: poll requests per finished job, the median delay between
a task finishing on the service and the client seeing it, and ours/baseline ratios.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

from apiframe_magic import ApiframeClient
from apiframe_magic.jobs import JobManager, PollingPolicy
from apiframe_magic.simulator import Simulator

SDK_INTERVAL = 3.0  # seconds between polls in the Node SDK's waitFor


def _poll_requests(sim) -> int:
    return sim.request_counts["/fetch"] + sim.request_counts["/fetch-many"]


def run_baseline(n: int, speed: float) -> tuple[float, float]:
    """n jobs, each polled with /fetch every 3 s on its own thread."""
    with Simulator(speed=speed, concurrency=max(n, 1)) as sim:
        client = ApiframeClient(sim.api_key, base_url=sim.url)
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
        delays = [(seen[t] - sim.finished_at(t)) * speed for t in ids]
        return _poll_requests(sim) / n, statistics.median(delays)


def run_manager(n: int, speed: float) -> tuple[float, float]:
    """n jobs through one JobManager (batched, adaptive)."""
    with Simulator(speed=speed, concurrency=max(n, 1)) as sim:
        client = ApiframeClient(sim.api_key, base_url=sim.url)
        seen: dict[str, float] = {}
        policy = PollingPolicy().scaled(speed)
        policy.max_in_flight = max(n, 1)
        with JobManager(client, policy=policy, download_images=False) as manager:
            jobs = [manager.imagine(f"benchmark prompt {i} --ar 3:2") for i in range(n)]
            for job in jobs:
                job.on_finished(lambda j: seen.setdefault(j.task_id, time.time()))
            for job in jobs:
                job.wait(timeout=600)
        delays = [(seen[j.task_id] - sim.finished_at(j.task_id)) * speed for j in jobs]
        return _poll_requests(sim) / n, statistics.median(delays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 20])
    args = parser.parse_args()
    print(f"simulator speed {args.speed:g}x; times in service seconds; baseline = one /fetch "
          f"per job every {SDK_INTERVAL:g} s")
    print(f"{'jobs':>4}  {'req/job base':>12}  {'req/job ours':>12}  {'ratio':>6}  "
          f"{'median delay base':>17}  {'ours':>6}  {'ratio':>6}")
    for n in args.sizes:
        base_requests, base_delay = run_baseline(n, args.speed)
        our_requests, our_delay = run_manager(n, args.speed)
        print(f"{n:>4}  {base_requests:>12.2f}  {our_requests:>12.2f}  "
              f"{our_requests / base_requests:>6.3f}  {base_delay:>16.2f}s  {our_delay:>5.2f}s  "
              f"{our_delay / base_delay if base_delay else float('nan'):>6.2f}")


if __name__ == "__main__":
    main()
