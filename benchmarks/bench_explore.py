"""What the exploration tools cost on a large history, against reading that history at all.

Creates N finished imagine jobs (default 10,000) in a temporary history through the store's own
protocol, each prompt with `--sref` taking one of `codes` style codes, and records a grid image
for every other job. Then measures, in the same run:

- baseline: ``HistoryStore.list()`` (what any listing of the history pays);
- ``list_styles()``: the whole style library (prompt parsing, thumbnails, names);
- ``expand_style_names()`` of a prompt naming 3 styles, with 100 names stored (per call);
- ``composite_jpeg()`` of a 4x10 matrix of 512 px grids, against saving one 256 px cell as JPEG
  40 times (the least a 40-cell picture costs).

Time is the best of several runs. Ratios are against each baseline.
Run: ``python benchmarks/bench_explore.py [N] [codes]``.
"""
from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from apiframe_magic.static.matrix import composite_jpeg, layout
from apiframe_magic.store import HistoryStore
from apiframe_magic.styles import expand_style_names, list_styles, name_style


def populate(history: HistoryStore, count: int, codes: int, picture: Path) -> None:
    for n in range(count):
        code = 100000 + n % codes
        prompt = f"a lighthouse in a storm, variation {n} --sref {code} --ar 3:2 --v 6.1"
        job_id = history.record_submitting("imagine", {"prompt": prompt}, prompt=prompt)
        task_id = f"00000000-0000-4000-8000-{n:012d}"
        history.mark_submitted(job_id, task_id)
        history.mark_finished(job_id, {"task_id": task_id, "status": "finished",
                                       "sref": str(code),
                                       "original_image_url": f"https://cdn.example/{task_id}.png"})
        if n % 2:
            history.record_image(job_id, "grid", None, picture)


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(count: int = 10_000, codes: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        picture = Path(tmp) / "grid.png"
        Image.new("RGB", (512, 512), (120, 90, 60)).save(picture)
        with HistoryStore(Path(tmp) / "history.sqlite3", durable=False) as history:
            populate(history, count, codes, picture)
            for n in range(100):
                name_style(history, str(100000 + n), f"style number {n}")
            base = best(history.list)
            styles = best(lambda: list_styles(history))
            found = len(list_styles(history))
            print(f"{count} jobs, {found} styles")
            print(f"  baseline HistoryStore.list(): {base * 1000:8.1f} ms")
            print(f"  list_styles():                {styles * 1000:8.1f} ms  ({styles / base:.1f}x)")
            text = "a fox --sref @style-number-1 @style-number-2::2 @style-number-99 --v 7"
            expand = best(lambda: [expand_style_names(text, history) for _ in range(100)]) / 100
            print(f"  expand_style_names(), per call: {expand * 1000:6.2f} ms "
                  f"({expand / base:.3f}x the baseline)")

    matrix = layout("{a, b, c, d} {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}")
    grids = {job: Image.new("RGB", (512, 512), (job * 6, 100, 200 - job * 4))
             for job in range(len(matrix.jobs))}
    cell = Image.new("RGB", (256, 256), (10, 100, 200))

    def cells_alone():
        for _ in range(40):
            cell.save(io.BytesIO(), format="JPEG", quality=85)

    floor = best(cells_alone)
    composite = best(lambda: composite_jpeg(matrix, grids))
    print(f"  40 cells saved as JPEG:       {floor * 1000:8.1f} ms")
    print(f"  composite_jpeg() 4x10:        {composite * 1000:8.1f} ms  ({composite / floor:.1f}x)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
