"""How the magic feels: cell return time, load time, saved-notebook growth per grid.

    python benchmarks/bench_magic.py [--cells 30]

1. `%%imagine --no-wait` return time (median after the first call) against a baseline measured in
   the same run: the engine's own submit (`manager.submit`) of the same prompt, which is the work
   the cell cannot avoid (validate, record on disk, POST). Target: median under 50 ms.
2. `%load_ext apiframe_magic` in a fresh interpreter against `import json` in a fresh
   interpreter. Target: under 0.3 s absolute.
3. Saved notebook growth per finished grid, from a notebook of imagine cells executed headless
   (nbclient) against its size before execution. Target: at most 250 KB.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def cell_return_times(cells: int) -> tuple[list[float], list[float]]:
    from magic_shell import magics_of, make_shell

    shell = make_shell(display="static", sim_speed=50.0, max_in_flight=1000)
    try:
        magic_times, engine_times = [], []
        shell.run_cell_magic("imagine", "--no-wait", "warm up the runtime")
        manager = magics_of(shell).runtime.manager
        for n in range(cells):
            prompt = f"a red fox number {n} in the snow --ar 3:2"
            start = time.perf_counter()
            shell.run_cell_magic("imagine", "--no-wait", prompt)
            magic_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            manager.submit("imagine", {"prompt": prompt, "aspect_ratio": "3:2"}, prompt=prompt)
            engine_times.append(time.perf_counter() - start)
        for job in manager.jobs:
            job.wait(60)
        return magic_times, engine_times
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


def fresh_process_seconds(code: str, runs: int = 5) -> float:
    timer = ("import time; t = time.perf_counter(); {code}; "
             "print(time.perf_counter() - t)")
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", timer.format(code=code)],
                             capture_output=True, text=True, check=True)
        results.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(results)


def notebook_growth(grids: int) -> tuple[int, int]:
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell("%load_ext apiframe_magic")]
    cells += [new_code_cell(f"%%imagine\na lighthouse number {n} at dusk, oil painting --ar 3:2")
              for n in range(grids)]
    nb = new_notebook(cells=cells)
    with tempfile.TemporaryDirectory() as workdir:
        before = Path(workdir) / "before.ipynb"
        nbformat.write(nb, before)
        env = {"APIFRAME_MAGIC_HOME": str(Path(workdir) / "home"), "APIFRAME_SIM_SPEED": "40"}
        saved = {name: os.environ.get(name) for name in (*env, "APIFRAME_API_KEY")}
        os.environ.update(env)
        os.environ.pop("APIFRAME_API_KEY", None)
        try:
            NotebookClient(nb, timeout=300, kernel_name="python3",
                           resources={"metadata": {"path": workdir}}).execute()
        finally:
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        after = Path(workdir) / "after.ipynb"
        nbformat.write(nb, after)
        return before.stat().st_size, after.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=30, help="imagine cells to time")
    parser.add_argument("--grids", type=int, default=5, help="grids in the executed notebook")
    args = parser.parse_args()

    os.environ.setdefault("APIFRAME_MAGIC_HOME", tempfile.mkdtemp(prefix="bench-magic-"))
    magic, engine = cell_return_times(args.cells)
    magic_ms, engine_ms = statistics.median(magic) * 1000, statistics.median(engine) * 1000
    print(f"%%imagine return time: median {magic_ms:.1f} ms (p90 "
          f"{sorted(magic)[int(len(magic) * 0.9)] * 1000:.1f} ms); engine submit baseline "
          f"{engine_ms:.1f} ms; ratio {magic_ms / engine_ms:.2f}x  (target: under 50 ms)")

    load = fresh_process_seconds(
        "from IPython.core.interactiveshell import InteractiveShell; "
        "ip = InteractiveShell.instance(); t = time.perf_counter(); "
        "ip.run_line_magic('load_ext', 'apiframe_magic')")
    baseline = fresh_process_seconds("import json")
    print(f"%load_ext apiframe_magic: {load * 1000:.1f} ms; import json baseline "
          f"{baseline * 1000:.2f} ms; ratio {load / baseline:.0f}x  (target: under 300 ms)")

    before, after = notebook_growth(args.grids)
    per_grid = (after - before) / args.grids
    print(f"saved notebook: {before} -> {after} bytes for {args.grids} grids: "
          f"{per_grid / 1000:.1f} KB per grid; ratio to the 250 KB budget "
          f"{per_grid / 250_000:.2f}")


if __name__ == "__main__":
    main()
