"""Gallery export from a history filled through the JobManager and the simulator."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from apiframe_magic.static.export import ExportError, export_gallery, is_gallery
from apiframe_magic.styles import name_style
from history_fixtures import finish
from test_cli import run_cli

SCRIPT_PROMPT = 'a <script>alert("owned")</script> cat & "friends" --sref 123456 --ar 3:2'


class Page(HTMLParser):
    """What a browser would see: tags, image sources, links, text, and which job sections are
    nested in which."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.sources, self.links, self.text = [], [], [], []
        self.stack: list[tuple[str, str | None]] = []
        self.ancestors: dict[str, list[str]] = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])
        element_id = attrs.get("id")
        if element_id and element_id.startswith("job-"):
            self.ancestors[element_id[4:]] = [i for _, i in self.stack if i]
        if tag not in self.VOID:
            self.stack.append((tag, element_id[4:] if element_id and
                               element_id.startswith("job-") else None))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def history(manager, store):
    root = manager.imagine(SCRIPT_PROMPT, aspect_ratio="3:2")
    other = manager.imagine("a quiet pond at dawn")
    finish(root, other)
    upscale, variation = root.upscale(1), root.vary(2)
    finish(upscale, variation)
    upscale_of_variation = variation.upscale(3)
    describe = manager.submit("describe", {"image_url": other.result.original_image_url})
    finish(upscale_of_variation, describe)
    failed = store.record_submitting("imagine", {"prompt": "a doomed ship"},
                                     prompt="a doomed ship")
    store.mark_submitted(failed, "sim-failed-task")
    store.mark_failed(failed, "Banned prompt <b>detected</b>", {"status": "failed"})
    name_style(store, "123456", "dusk <watercolour>")
    return {"root": root, "other": other, "upscale": upscale, "variation": variation,
            "upscale_of_variation": upscale_of_variation, "describe": describe,
            "failed": failed}


def read(index: Path) -> tuple[str, Page]:
    text = index.read_text(encoding="utf-8")
    return text, Page(text)


def test_gallery_is_self_contained_and_escaped(store, images, history, tmp_path):
    index = export_gallery(store, images, tmp_path / "gallery")
    assert index == tmp_path / "gallery" / "index.html" and is_gallery(index)
    html, page = read(index)
    assert "script" not in page.tags and "<script>" not in html
    text = "".join(page.text)
    assert '<script>alert("owned")</script> cat & "friends"' in text
    assert "Banned prompt <b>detected</b>" in text and "<b>" not in page.tags
    assert "@dusk-watercolour" in text
    grids = [history[name].task_id for name in ("root", "other", "variation")]
    singles = [history[name].task_id for name in ("upscale", "upscale_of_variation", "describe")]
    assert sorted(page.sources) == sorted(   # every image of every finished job, each once
        [f"images/{job}_{image}.png" for job in grids for image in ("grid", "1", "2", "3", "4")]
        + [f"images/{job}_image.png" for job in singles])
    for source in page.sources:
        assert not source.startswith(("http:", "https:", "/", "data:"))
        assert (index.parent / source).is_file(), source
    external = [link for link in page.links if link.startswith("http")]
    assert all(link.startswith("http://127.0.0.1") for link in external)  # links, never loaded
    assert "link" not in page.tags and "iframe" not in page.tags


def test_lineage_trees_nest_children_under_their_parent(store, images, history, tmp_path):
    _html, page = read(export_gallery(store, images, tmp_path / "g"))
    ids = {name: (job if isinstance(job, str) else job.job_id) for name, job in history.items()}
    assert page.ancestors[ids["root"]] == []
    assert page.ancestors[ids["upscale"]] == [ids["root"]]
    assert page.ancestors[ids["variation"]] == [ids["root"]]
    assert page.ancestors[ids["upscale_of_variation"]] == [ids["root"], ids["variation"]]
    assert page.ancestors[ids["describe"]] == []
    assert page.ancestors[ids["failed"]] == []


def test_details_show_task_ids_parameters_sref_and_suggestions(store, images, history,
                                                              tmp_path):
    html, page = read(export_gallery(store, images, tmp_path / "g"))
    text = "".join(page.text)
    for name in ("root", "upscale", "variation", "describe"):
        assert history[name].task_id in text
    assert "--aspect" in text and "3:2" in text and "123456" in text
    assert "U1" in text and "V2" in text and "U3" in text
    for suggestion in history["describe"].prompts:
        assert suggestion in text
    assert "took " in text and "Banned prompt" in text


def test_selected_ids_export_their_whole_tree(store, images, history, tmp_path):
    html, page = read(export_gallery(store, images, tmp_path / "g",
                                     ids=[history["upscale_of_variation"].task_id]))
    assert set(page.ancestors) == {history[n].job_id for n in
                                   ("root", "upscale", "variation", "upscale_of_variation")}


def test_unknown_id_is_refused_before_writing(store, images, history, tmp_path):
    with pytest.raises(ExportError, match="no job 'nope'"):
        export_gallery(store, images, tmp_path / "g", ids=["nope"])
    assert not (tmp_path / "g").exists()


def test_since_filters_roots(store, images, history, tmp_path):
    with pytest.raises(ExportError, match="nothing to export"):
        export_gallery(store, images, tmp_path / "g", since="2999-01-01")
    assert not (tmp_path / "g").exists()
    _html, page = read(export_gallery(store, images, tmp_path / "g", since="2000-01-01T00:00"))
    assert history["root"].job_id in page.ancestors
    with pytest.raises(ExportError, match="not a date"):
        export_gallery(store, images, tmp_path / "g", since="last tuesday")


def test_images_missing_from_the_cache_are_downloaded_or_marked(store, images, history,
                                                                 tmp_path):
    grid = history["other"].image_paths["grid"]
    grid.unlink()  # gone from the cache: fetched again from the (simulated) service
    dead = store.record_submitting("imagine", {"prompt": "a lost image"}, prompt="a lost image")
    store.mark_submitted(dead, "sim-dead-task")
    store.mark_finished(dead, {"status": "finished",
                               "original_image_url": "http://127.0.0.1:9/lost.png"})
    html, page = read(export_gallery(store, images, tmp_path / "g"))
    assert grid.is_file()
    assert f"images/{history['other'].task_id}_grid.png" in page.sources
    assert "grid: image missing" in "".join(page.text)
    assert all((tmp_path / "g" / source).is_file() for source in page.sources)


def test_refuses_a_foreign_index_unless_forced(store, images, history, tmp_path):
    target = tmp_path / "site"
    target.mkdir()
    foreign = target / "index.html"
    foreign.write_text("<html><body>my own page</body></html>")
    with pytest.raises(ExportError, match="not an apiframe-magic gallery") as caught:
        export_gallery(store, images, target)
    assert "\n" not in str(caught.value)
    assert foreign.read_text() == "<html><body>my own page</body></html>"
    assert not (target / "images").exists()
    export_gallery(store, images, target, force=True)
    assert is_gallery(foreign)
    export_gallery(store, images, target)  # our own gallery is simply rewritten


def test_refuses_unwritable_places(store, images, history, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export_gallery(store, images, a_file)
    with pytest.raises(ExportError, match="is a file"):
        export_gallery(store, images, a_file / "sub")
    blocked = tmp_path / "blocked"
    (blocked / "index.html").mkdir(parents=True)  # a directory where index.html must go
    with pytest.raises(ExportError, match="cannot write"):
        export_gallery(store, images, blocked, force=True)


def test_refuses_a_read_only_directory(store, images, history, unwritable_dir):
    with pytest.raises(ExportError, match="cannot"):
        export_gallery(store, images, unwritable_dir / "gallery")


def test_cli_export(tmp_path):
    empty = run_cli("export", str(tmp_path / "none"))
    assert empty.returncode == 1 and "nothing to export" in empty.stderr
    assert "Traceback" not in empty.stderr
    made = run_cli("imagine", "a paper boat <b>bold</b>", "--out", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    done = run_cli("export", str(tmp_path / "gallery"))
    assert done.returncode == 0, done.stderr
    html, page = read(tmp_path / "gallery" / "index.html")
    assert "a paper boat <b>bold</b>" in "".join(page.text) and "b" not in page.tags
    assert len(page.sources) == 5
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "index.html").write_text("hello")
    refused = run_cli("export", str(tmp_path / "mine"))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert "offline simulator" not in refused.stderr  # refused before anything started
    bad_date = run_cli("export", str(tmp_path / "g2"), "--since", "yesterday")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    assert (tmp_path / "mine" / "index.html").read_text() == "hello"


# ------------------------------------------------------------------------------ hostile inputs

def a_job_with_an_image(store, tmp_path, task_id: str, **finished) -> str:
    picture = tmp_path / "picture.png"
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 10, 10)).save(picture)
    job = store.record_submitting("imagine", {"prompt": "a red square"}, prompt="a red square")
    store.mark_submitted(job, task_id)
    store.mark_finished(job, {"status": "finished", "original_image_url":
                              "http://127.0.0.1:9/grid.png", **finished})
    store.record_image(job, "grid", None, picture)
    return job


def test_the_page_is_never_written_through_a_planted_symlink(store, images, tmp_path):
    import os

    a_job_with_an_image(store, tmp_path, "task-symlink")
    target, victim = tmp_path / "gallery", tmp_path / "victim.txt"
    target.mkdir()
    victim.write_text("precious")
    for pid in range(os.getpid() - 5, os.getpid() + 5):   # the names the export could pick
        (target / f".index.html.{pid}.tmp").symlink_to(victim)
    index = export_gallery(store, images, target)
    assert victim.read_text() == "precious"
    assert is_gallery(index) and not index.is_symlink()
    assert oct(index.stat().st_mode & 0o777) == "0o644"


def test_an_image_that_cannot_be_copied_is_one_line_and_the_export_goes_on(store, images,
                                                                            tmp_path):
    long_id = "t" * 300                                    # no file system takes that name
    a_job_with_an_image(store, tmp_path, long_id)
    a_job_with_an_image(store, tmp_path, "task-fine")
    lines = []
    html, page = read(export_gallery(store, images, tmp_path / "g", report=lines.append))
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "image grid of job" in lines[0] and "name too long" in lines[0]
    assert "images/task-fine_grid.png" in page.sources
    assert "grid: image missing" in "".join(page.text)


def test_a_key_the_service_echoed_never_reaches_the_gallery(store, images, tmp_path,
                                                            monkeypatch):
    key = "sk-LIVE-0123456789abcdef"
    job = a_job_with_an_image(store, tmp_path, "task-echo")
    with store._write() as conn:   # as a history written before values were redacted holds it
        conn.execute("UPDATE jobs SET prompt = ?, sref = ?, seed = ?, original_image_url = ? "
                     "WHERE job_id = ?", (f"a fox --sref https://x.test/{key}.png", key, key,
                                          f"https://cdn.test/{key}/grid.png", job))
    monkeypatch.setenv("APIFRAME_API_KEY", key)
    html, page = read(export_gallery(store, images, tmp_path / "g"))
    assert "[redacted]" in html and key not in html


EXPORT_UNDER_A_FULL_DISK = """
import resource, signal, sys
from apiframe_magic.images import ImageCache
from apiframe_magic.static.export import ExportError, export_gallery
from apiframe_magic.store import HistoryStore

with HistoryStore(sys.argv[1]) as store, ImageCache(sys.argv[2]) as images:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG,
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.RLIM_INFINITY))  # as on a full disk
    try:
        export_gallery(store, images, sys.argv[3])
    except ExportError as exc:
        print(f"stopped: {exc}", file=sys.stderr)
"""


def test_a_disk_that_fills_up_is_one_line_per_image_and_a_clean_stop(store, tmp_path):
    import subprocess
    import sys

    from clirun import ROOT

    a_job_with_an_image(store, tmp_path, "task-a")
    a_job_with_an_image(store, tmp_path, "task-b")
    target = tmp_path / "g"
    done = subprocess.run([sys.executable, "-c", EXPORT_UNDER_A_FULL_DISK, str(store.path),
                           str(tmp_path / "cache"), str(target)], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 3 and all("too large" in line for line in lines), lines
    assert lines[-1].startswith("stopped: cannot write") and not (target / "index.html").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".index.html")]
