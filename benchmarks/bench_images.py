"""Wall time to have all 5 images of a finished grid on disk: concurrent vs one after another.

The images come from the project's offline simulator over real HTTP on 127.0.0.1: an imagine is
submitted, polled until finished, and its `original_image_url` plus four `image_urls` are fetched
by a fresh `ImageCache` (empty directory, new pooled session) each round:

- sequential: `cache.get(url)` for each URL in turn;
- concurrent: `cache.get_many(urls)` on the cache's thread pool.

Two network conditions, measured in the same run:

- loopback: the simulator as is (no network latency at all: the floor for any gain);
- CDN-like latency: the simulator's "slow" fault on /images/* adds a fixed delay before each
  image response, standing in for the round trip to a real CDN.

The simulator's render cache is warmed first, so neither mode pays for rendering. Each figure is
the median of several rounds, sequential and concurrent alternating.
Run: ``python benchmarks/bench_images.py [rounds] [latency_ms]``.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from apiframe_magic.images import ImageCache
from apiframe_magic.simulator import Simulator
from apiframe_magic.simulator.faults import Faults


def finished_grid_urls(sim: Simulator) -> list[str]:
    """Submit an imagine to the simulator and wait for its five image URLs."""
    headers = {"Authorization": sim.api_key}
    task_id = requests.post(f"{sim.url}/imagine", json={"prompt": "a lighthouse in a storm"},
                            headers=headers, timeout=10).json()["task_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task = requests.post(f"{sim.url}/fetch", json={"task_id": task_id}, headers=headers,
                             timeout=10).json()
        if task.get("status") == "finished":
            return [task["original_image_url"], *task["image_urls"]]
        if task.get("status") == "failed":
            raise RuntimeError(f"the simulator failed the task: {task}")
        time.sleep(0.05)
    raise RuntimeError("the simulator did not finish the task within 60 s")


def time_sequential(urls: list[str], directory: Path) -> float:
    with ImageCache(directory) as cache:
        start = time.perf_counter()
        for url in urls:
            cache.get(url)
        return time.perf_counter() - start


def time_concurrent(urls: list[str], directory: Path) -> float:
    with ImageCache(directory) as cache:
        start = time.perf_counter()
        cache.get_many(urls)
        return time.perf_counter() - start


def compare(urls: list[str], rounds: int) -> tuple[float, float]:
    """Median seconds (sequential, concurrent), each round in fresh cache directories."""
    sequential, concurrent = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            sequential.append(time_sequential(urls, Path(tmp) / f"seq-{n}"))
            concurrent.append(time_concurrent(urls, Path(tmp) / f"con-{n}"))
    return statistics.median(sequential), statistics.median(concurrent)


def report(label: str, sequential: float, concurrent: float) -> None:
    print(f"{label:34} sequential {sequential * 1000:7.1f} ms   concurrent "
          f"{concurrent * 1000:7.1f} ms   speed-up x{sequential / concurrent:4.2f}")


def main(rounds: int = 7, latency_ms: float = 80.0) -> None:
    with Simulator(speed=100) as sim:
        urls = finished_grid_urls(sim)
        sizes = [len(requests.get(url, timeout=30).content) for url in urls]  # warm the renders
        print(f"5 images of one finished grid from the simulator ({sum(sizes) / 2**20:.2f} MiB "
              f"in total), median of {rounds} rounds, fresh cache each round\n")

        report("loopback, no added latency", *compare(urls, rounds))

        sim.faults = Faults(slow_rate=1.0, slow_seconds=latency_ms / 1000,
                            paths=frozenset({"/images/*"}))
        report(f"CDN-like latency, {latency_ms:g} ms/response", *compare(urls, rounds))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(int(arguments[0]) if arguments else 7,
         float(arguments[1]) if len(arguments) > 1 else 80.0)
