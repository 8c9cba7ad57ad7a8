"""How fast and how lean is loading a history of 10,000 finished jobs with `HistoryStore.list()`?

Creates the jobs in a temporary directory through the store's own protocol (submitting ->
submitted -> finished), then measures, in the same run:

- baseline A: a raw ``SELECT *`` + ``fetchall()`` (tuples, no objects, no JSON);
- baseline B: the same rows with ``json.loads`` of every JSON column (what an eager loader pays);
- ``list()``: JobRecord objects, JSON left unparsed until an attribute asks for it;
- ``list()`` and then reading ``.result`` of every record (the worst case for laziness).

Time is the best of several runs; memory is the tracemalloc peak of one run. Ratios are against
baseline A. Run: ``python benchmarks/bench_store.py [N]``.
"""
from __future__ import annotations

import gc
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from apiframe_magic.store import HistoryStore

JSON_COLUMNS = ("payload_json", "params_json", "result_json", "image_urls_json", "content_json")


def finished_result(n: int) -> dict:
    task_id = f"00000000-0000-4000-8000-{n:012d}"
    return {
        "task_id": task_id, "task_type": "imagine", "status": "finished", "percentage": "100",
        "sref": str(1000000000 + n),
        "original_image_url": f"https://cdn.apiframe.pro/images/{task_id}-grid.png",
        "image_urls": [f"https://cdn.apiframe.pro/images/{task_id}-{i}.png" for i in range(1, 5)],
    }


def populate(path: Path, count: int) -> None:
    with HistoryStore(path, durable=False) as history:
        for n in range(count):
            prompt = f"a lighthouse in a storm, oil painting, variation {n} --ar 3:2 --v 6.1"
            job_id = history.record_submitting(
                "imagine", {"prompt": prompt, "aspect_ratio": "3:2"}, prompt=prompt,
                params={"aspect": "3:2", "version": "6.1"})
            result = finished_result(n)
            history.mark_submitted(job_id, result["task_id"])
            history.mark_finished(job_id, result)


def raw_fetchall(path: Path) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM jobs ORDER BY created_at DESC").fetchall()
    finally:
        conn.close()


def fetchall_and_parse_json(path: Path) -> list:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM jobs ORDER BY created_at DESC").fetchall()
        return [{key: (json.loads(row[key]) if key in JSON_COLUMNS and row[key] else row[key])
                 for key in row.keys()} for row in rows]
    finally:
        conn.close()


def store_list(path: Path) -> list:
    with HistoryStore(path) as history:
        return history.list()


def store_list_and_read_results(path: Path) -> list:
    records = store_list(path)
    for record in records:
        record.result  # noqa: B018 - forces the lazy parse
    return records


def measure(load, path: Path, repeats: int = 5) -> tuple[float, int, int]:
    """(best seconds, tracemalloc peak bytes, number of rows) for one loader."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        rows = load(path)
        best = min(best, time.perf_counter() - start)
        del rows
    gc.collect()
    tracemalloc.start()
    rows = load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, len(rows)


def main(count: int = 10_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        start = time.perf_counter()
        populate(path, count)
        print(f"created {count} finished jobs in {time.perf_counter() - start:.1f} s "
              f"({path.stat().st_size / 2**20:.1f} MiB on disk)\n")

        loaders = [("baseline A: raw SELECT * fetchall", raw_fetchall),
                   ("baseline B: fetchall + json.loads", fetchall_and_parse_json),
                   ("HistoryStore.list()", store_list),
                   ("list() + read every .result", store_list_and_read_results)]
        results = [(label, *measure(load, path)) for label, load in loaders]
        _, base_time, base_peak, _ = results[0]
        print(f"{'loader':38} {'rows':>6} {'time':>9} {'x A':>6} {'peak mem':>10} {'x A':>6}")
        for label, seconds, peak, rows in results:
            print(f"{label:38} {rows:6d} {seconds * 1000:7.1f}ms {seconds / base_time:6.2f} "
                  f"{peak / 2**20:8.1f}MiB {peak / base_peak:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
