"""How long a `%%imagine` job takes in a live kernel while the next cell keeps the kernel busy.

A real kernel (jupyter_client, marked as a Jupyter server's so the magic returns at once) runs the
job on the embedded simulator (`sim_speed = 10`, about 4 s), then a cell that keeps running until
this script sees the job's view say "Finished" and drops a release file. The next cell is one of:

- `sleep`:     waits in `time.sleep` (the GIL is free): the baseline;
- `compute`:   pure Python arithmetic, looking for the release file every 0.1 s;
- `syscalls`:  the same arithmetic with a system call (`os.stat`) after every half millisecond.

The last one is the pathological case: a thread that gives the GIL back for a system call and
takes it again within CPython's 5 ms switch interval resets the interval each time, so no
waiting thread ever forces a switch. Every background thread of the kernel (the poller, the
embedded simulator, ipykernel's own output thread) starves until the cell ends.
Run: ``python benchmarks/bench_busy_cell.py [rounds] [cap_seconds]``.
"""
from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel

SETUP = "%load_ext apiframe_magic\n%config Imagine.sim_speed = 10"
IMAGINE = "%%imagine --as job\na lighthouse on a cliff at dawn --ar 3:2"
NEXT_CELLS = {
    "sleep": """
import pathlib, time
while not pathlib.Path("release").exists():
    time.sleep(0.05)
""",
    "compute": """
import pathlib, time
look = time.monotonic()
while True:
    sum(i * i for i in range(20_000))
    if time.monotonic() >= look:
        if pathlib.Path("release").exists():
            break
        look = time.monotonic() + 0.1
""",
    "syscalls": """
import pathlib
while not pathlib.Path("release").exists():
    sum(i * i for i in range(20_000))
""",
}


def one_run(kind: str, cap: float) -> tuple[float | None, int]:
    """(seconds from the job's cell to its view saying Finished, or None past `cap`;
    how many times the kernel's own output timed out meanwhile)."""
    with tempfile.TemporaryDirectory() as home:
        environ = {**os.environ, "JPY_SESSION_NAME": "bench.ipynb", "APIFRAME_API_KEY": "",
                   "APIFRAME_MAGIC_HOME": home}
        km, kc = start_new_kernel(kernel_name="python3", cwd=home, env=environ)
        try:
            kc.execute_interactive(SETUP, timeout=60)
            started = time.monotonic()
            kc.execute(IMAGINE)
            kc.execute(NEXT_CELLS[kind])
            finished, flush_timeouts = None, 0
            while finished is None and time.monotonic() < started + cap:
                try:
                    msg = kc.get_iopub_msg(timeout=1)
                except Exception:   # queue.Empty: nothing in the last second
                    continue
                text = str(msg["content"])
                flush_timeouts += text.count("IOStream.flush timed out")
                if msg["msg_type"] == "comm_msg" and "Finished in" in text:
                    finished = time.monotonic() - started
            pathlib.Path(home, "release").touch()
            return finished, flush_timeouts
        finally:
            km.shutdown_kernel(now=True)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    cap = float(sys.argv[2]) if len(sys.argv) > 2 else 180.0
    results: dict[str, list] = {kind: [] for kind in NEXT_CELLS}
    for _ in range(rounds):
        for kind in NEXT_CELLS:   # alternating, so a noisy moment hits every kind
            results[kind].append(one_run(kind, cap))
    baseline = statistics.median(r[0] for r in results["sleep"] if r[0] is not None)
    print(f"{'next cell':<10} {'job took (median)':>18} {'vs sleep':>9} {'output timeouts':>16}")
    for kind, runs in results.items():
        times = [r[0] for r in runs]
        done = [t for t in times if t is not None]
        took = (f"{statistics.median(done):.1f} s" if len(done) == len(times)
                else f"> {cap:.0f} s ({len(times) - len(done)} of {len(times)})")
        ratio = statistics.median(done) / baseline if len(done) == len(times) else cap / baseline
        print(f"{kind:<10} {took:>18} {ratio:>8.1f}x {sum(r[1] for r in runs):>16}")


if __name__ == "__main__":
    main()
