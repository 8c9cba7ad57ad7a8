"""A burst of concurrent clients against the simulator: listen backlog 128 against the old 5.

Each round opens N new connections at the same instant (one thread per client, released by a
barrier), each sending one `GET /account`, and times until the last answer arrives. With a
backlog of 5 the kernel drops the SYNs that do not fit and the clients retry after a second;
with 128 they all wait in the queue. Both servers are measured in the same run, rounds
alternating; each figure is the median, with the number of failed requests.
Run: ``python benchmarks/bench_burst.py [clients] [rounds]``.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time

import requests

import apiframe_magic.simulator.app as app
from apiframe_magic.simulator import Simulator
from apiframe_magic.simulator.server import SimServer


def burst(sim: Simulator, clients: int) -> tuple[float, int]:
    """(seconds until the last of `clients` simultaneous requests answered, failures)."""
    barrier = threading.Barrier(clients + 1)
    failures = []

    def one() -> None:
        barrier.wait()
        try:
            answer = requests.get(sim.url + "/account", headers={"Authorization": sim.api_key},
                                  timeout=30)
            if answer.status_code != 200:
                failures.append(answer.status_code)
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, len(failures)


def started(backlog: int | None) -> Simulator:
    """A simulator; with `backlog`, its server listens with that backlog instead of its own."""
    sim = Simulator(speed=100)
    if backlog is None:
        return sim.start()
    original = app.SimServer
    app.SimServer = type("OldBacklogServer", (original,), {"request_queue_size": backlog})
    try:
        return sim.start()
    finally:
        app.SimServer = original


def main(clients: int = 40, rounds: int = 5) -> None:
    backlogs = {"backlog 5": 5, f"backlog {SimServer.request_queue_size}": None}
    results: dict[str, list[tuple[float, int]]] = {label: [] for label in backlogs}
    for _ in range(rounds):
        for label, backlog in backlogs.items():
            sim = started(backlog)
            try:
                results[label].append(burst(sim, clients))
            finally:
                sim.stop()
    medians = {label: statistics.median(t for t, _ in rows) for label, rows in results.items()}
    for label, rows in results.items():
        print(f"{label:12} {clients} clients: last answer after {medians[label] * 1000:7.1f} ms "
              f"(median of {rounds}), failed requests {sum(f for _, f in rows)}")
    new, old = (medians[label] for label in reversed(list(backlogs)))
    print(f"ratio new / old (backlog 5): {new / old:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
