"""Images at real weight: download concurrency, finish-to-thumbnails, main-thread stalls, bytes.

    python benchmarks/bench_images.py [--rounds 7] [--latency-ms 80]
    python benchmarks/bench_images.py --realistic [--jobs 20] [--mbit 100]

Default: the 5 images of one finished grid from the simulator over real HTTP, fetched by a fresh
`ImageCache` each round, one after another (`get`) against concurrently (`get_many`); on loopback
and with the simulator's "slow" fault on /images/* standing in for a CDN's round trip. The
simulator's renders are warmed first; figures are medians, sequential and concurrent alternating.

--realistic: the simulator serves Midjourney's real sizes and weight (APIFRAME_SIM_IMAGES=realistic:
a 1-1.5 MB PNG per variant, a ~5 MB grid). Three figures, each against a baseline from this run:

1. Finish to thumbnails ready: after a grid finishes, the product downloads its 5 images, makes
   the live view's thumbnails (grid 768 px, variants 512 px) and the static twin (a JPEG within
   768 px). Timed with a fresh cache against downloading the same bytes alone (`get_many`), through
   a relay that gives every response a CDN-like round trip and bandwidth (--latency-ms, --mbit),
   since loopback moves 11 MB in a few milliseconds and no client would ever see that. Target:
   ratio <= 1.3. The loopback figures are printed too.
2. Main-thread stall: `--jobs` imagine cells (`%%imagine --no-wait`, live widgets) in an in-process
   IPython shell, against a realistic simulator in another process (as the service is: its
   rendering must not count as the kernel's work); while they finish, download and get their
   thumbnails, the main thread runs a loop of 1 ms sleeps and records the longest gap between two
   turns. Baseline: the same loop with nothing landing. Target: under 50 ms.
3. Bytes sent to the browser per job: the widget thumbnails plus the twin (base64 in the output).
"""
from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from apiframe_magic.images import ImageCache  # noqa: E402
from apiframe_magic.simulator import Simulator  # noqa: E402
from apiframe_magic.simulator.faults import Faults  # noqa: E402

GRID_SIDE, VARIANT_SIDE, TWIN_SIDE = 768, 512, 768  # widgets/style.py, static/render.py


def finished_grid_urls(sim: Simulator, prompt: str = "a lighthouse in a storm") -> list[str]:
    """Submit an imagine to the simulator and wait for its five image URLs."""
    headers = {"Authorization": sim.api_key}
    task_id = requests.post(f"{sim.url}/imagine", json={"prompt": prompt},
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


# ------------------------------------------------------------------ default: concurrency


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


def concurrency(rounds: int, latency_ms: float) -> None:
    with Simulator(speed=100, images="light") as sim:
        urls = finished_grid_urls(sim)
        sizes = [len(requests.get(url, timeout=30).content) for url in urls]  # warm the renders
        print(f"5 images of one finished grid from the simulator ({sum(sizes) / 2**20:.2f} MiB "
              f"in total), median of {rounds} rounds, fresh cache each round\n")
        report("loopback, no added latency", *compare(urls, rounds))
        sim.faults = Faults(slow_rate=1.0, slow_seconds=latency_ms / 1000,
                            paths=frozenset({"/images/*"}))
        report(f"CDN-like latency, {latency_ms:g} ms/response", *compare(urls, rounds))


# ------------------------------------------------------------------ --realistic


class Relay:
    """A local image host in front of the simulator with a CDN's round trip and bandwidth:
    each response starts after `latency` s and is paced at `rate` bytes/s (per connection)."""

    def __init__(self, origin: str, latency: float, rate: float):
        bodies: dict[str, bytes] = {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's naming
                if self.path not in bodies:
                    bodies[self.path] = requests.get(origin + self.path, timeout=120).content
                body = bodies[self.path]
                time.sleep(latency)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                start = time.perf_counter()
                for offset in range(0, len(body), 64 * 1024):
                    self.wfile.write(body[offset:offset + 64 * 1024])
                    ahead = start + (offset + 64 * 1024) / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, url: str) -> str:
        return self.url + urlsplit(url).path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def shown_after_finish(urls: list[str], directory: Path) -> tuple[float, int]:
    """What the product does once a grid has finished: download, view thumbnails, twin.
    Returns (seconds, bytes for the browser)."""
    from apiframe_magic.static.render import jpeg_within

    with ImageCache(directory, thumbnail_side=TWIN_SIDE) as cache:  # as the magic sets it
        start = time.perf_counter()
        grid, *variants = cache.get_many(urls)
        thumbnails = [cache.thumbnail(grid, GRID_SIDE)]
        thumbnails += [cache.thumbnail(path, VARIANT_SIDE) for path in variants]
        twin, _ = jpeg_within(grid, TWIN_SIDE)
        seconds = time.perf_counter() - start
    return seconds, sum(map(len, thumbnails)) + len(base64.b64encode(twin))


def downloaded_alone(urls: list[str], directory: Path) -> float:
    with ImageCache(directory) as cache:
        start = time.perf_counter()
        cache.get_many(urls)
        return time.perf_counter() - start


def finish_to_thumbnails(urls: list[str], rounds: int, label: str) -> int:
    alone, shown, sent = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(rounds):
            alone.append(downloaded_alone(urls, Path(tmp) / f"alone-{n}"))
            seconds, sent = shown_after_finish(urls, Path(tmp) / f"shown-{n}")
            shown.append(seconds)
    a, s = statistics.median(alone), statistics.median(shown)
    print(f"{label:44} download alone {a * 1000:7.1f} ms   to thumbnails ready "
          f"{s * 1000:7.1f} ms   ratio {s / a:4.2f}x")
    return sent


def loop_gaps(until, seconds: float | None = None) -> tuple[list[float], float]:
    """(gaps between turns of a 1 ms-sleep loop on this thread, seconds run)."""
    start = last = time.perf_counter()
    gaps = []
    while not until() if seconds is None else time.perf_counter() - start < seconds:
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return gaps, time.perf_counter() - start


def stall_words(gaps: list[float]) -> str:
    ordered = sorted(gaps)
    p99 = ordered[int(len(ordered) * 0.99)]
    return (f"longest {ordered[-1] * 1000:.0f} ms, p99 {p99 * 1000:.1f} ms,"
            f" {sum(gap > 0.05 for gap in gaps) / (sum(gaps) or 1):.2f} gaps over 50 ms/s")


def simulator_process(speed: float, key: str) -> tuple[subprocess.Popen, str]:
    """A realistic simulator serving from its own process; returns (process, base URL). It runs
    at the lowest CPU priority: its rendering stands for the service's machines, not the
    kernel's, and must not take the kernel's CPU time on a small machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "apiframe_magic.simulator", "--port", str(port), "--speed",
         str(speed), "--api-key", key, "--concurrency", "20"],
        env={**os.environ, "APIFRAME_SIM_IMAGES": "realistic"}, stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.nice(19))
    process.stdout.readline()  # the "simulator at ..." line: it listens
    return process, f"http://127.0.0.1:{port}"


def main_thread_stall(jobs: int) -> None:
    key = "sk-bench-" + os.urandom(8).hex()
    process, url = simulator_process(20.0, key)
    os.environ.update(APIFRAME_API_KEY=key, APIFRAME_BASE_URL=url)
    os.environ.setdefault("APIFRAME_MAGIC_HOME", tempfile.mkdtemp(prefix="bench-images-"))
    from magic_shell import magics_of, make_shell

    shell = make_shell(display="widgets", wait="never", max_in_flight=jobs)
    try:
        for n in range(jobs):
            shell.run_cell_magic("imagine", "--no-wait", f"a harbour at dawn, number {n}")
        manager = magics_of(shell).runtime.manager
        landing, ran = loop_gaps(lambda: all(job._images_ready.is_set() for job in manager.jobs))
        failed = [job for job in manager.jobs if job.state != "finished" or not job.image_paths]
        idle, _ = loop_gaps(lambda: False, seconds=min(ran, 15.0))
        print(f"main thread while {jobs} realistic jobs landed ({ran:.1f} s): "
              f"{stall_words(landing)}\n  idle baseline, same loop: {stall_words(idle)}\n  "
              f"longest-stall ratio {max(landing) / max(idle):.1f}x  (target: under 50 ms)"
              + (f"; {len(failed)} jobs without images" if failed else ""))
        print(f"  machine load average while measuring: {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs")
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")
        process.terminate()
        process.wait()


def realistic(rounds: int, latency_ms: float, mbit: float, jobs: int) -> None:
    with Simulator(speed=100, images="realistic") as sim:
        urls = finished_grid_urls(sim)
        sizes = [len(requests.get(url, timeout=60).content) for url in urls]  # warm the renders
        print(f"5 realistic images of one grid ({', '.join(f'{s / 2**20:.1f}' for s in sizes)} "
              f"MiB), median of {rounds} rounds, fresh cache each round\n")
        relay = Relay(sim.url, latency_ms / 1000, mbit * 1e6 / 8)
        try:
            cdn = [relay.route(url) for url in urls]
            sent = finish_to_thumbnails(
                cdn, rounds, f"CDN-like, {latency_ms:g} ms + {mbit:g} Mbit/s")
        finally:
            relay.close()
        finish_to_thumbnails(urls, rounds, "loopback (no network cost at all)")
        print(f"bytes sent to the browser per job: {sent / 1000:.0f} KB (5 thumbnails + twin) "
              f"for {sum(sizes) / 1e6:.1f} MB of images; ratio {sent / sum(sizes):.3f}\n")
    main_thread_stall(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realistic", action="store_true",
                        help="Midjourney's real sizes: finish-to-thumbnails, stalls, bytes")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=80.0)
    parser.add_argument("--mbit", type=float, default=100.0, help="CDN bandwidth (realistic)")
    parser.add_argument("--jobs", type=int, default=20, help="jobs landing (realistic)")
    args = parser.parse_args()
    if args.realistic:
        realistic(args.rounds, args.latency_ms, args.mbit, args.jobs)
    else:
        concurrency(args.rounds, args.latency_ms)


if __name__ == "__main__":
    main()
