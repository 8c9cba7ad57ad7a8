"""The image cache, against a real HTTP server on 127.0.0.1 (no mocking of requests)."""
from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from apiframe_magic.errors import ApiframeError
from apiframe_magic.images import (
    ImageCache, ImageDownloadError, ImageFileError, make_session, save,
)


def png_bytes(size=(64, 48), color=(200, 40, 40), mode="RGB") -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, color).save(output, format="PNG")
    return output.getvalue()


def noise_png(side=200) -> bytes:
    """A PNG that does not compress: about side*side*3 bytes."""
    output = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(output, format="PNG")
    return output.getvalue()


def jpeg_bytes() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(output, format="JPEG")
    return output.getvalue()


GRID = png_bytes((128, 128))
RGBA = png_bytes((1024, 600), (0, 255, 0, 128), "RGBA")
JPEG = jpeg_bytes()
BIG = noise_png()


class ImageServer:
    """Routes by path; counts every request (path + query) and keeps the last headers seen."""

    def __init__(self):
        self.hits: Counter[str] = Counter()
        self.seen_headers: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.together: Counter[str] = Counter()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        with self.lock:
            self.hits[handler.path] += 1
            self.seen_headers[handler.path] = dict(handler.headers)
        if "together" in query:     # answer only once that many such requests are open at once
            group, size = query["together"][0], int(query["n"][0])
            with self.arrived:
                self.together[group] += 1
                self.arrived.notify_all()
                if not self.arrived.wait_for(lambda: self.together[group] >= size, timeout=30):
                    return self.reply(handler, 504, b"{}", "application/json")
        time.sleep(float(query.get("delay", ["0"])[0]))
        route = parts.path
        if route.startswith("/status/"):
            return self.reply(handler, int(route.rsplit("/", 1)[1]), b"{}", "application/json")
        if route == "/redirect-to-file":
            handler.send_response(302)
            handler.send_header("Location", "file:///etc/passwd")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        if route == "/big-streamed.png":
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.close_connection = True
            handler.wfile.write(BIG)
            return None
        body, content_type = {
            "/grid.png": (GRID, "image/png"),
            "/rgba.png": (RGBA, "image/png; charset=binary"),
            "/photo.jpg": (JPEG, "image/jpeg"),
            "/page.html": (b"<html><body>Not found, but 200</body></html>", "text/html"),
            "/big-declared.png": (BIG, "image/png"),
            "/garbage.png": (os.urandom(4096), "image/png"),
            "/truncated.png": (GRID[: len(GRID) // 2], "image/png"),
        }.get(route, (b"missing", "text/plain"))
        status = 404 if body == b"missing" else 200
        return self.reply(handler, status, body, content_type)

    @staticmethod
    def reply(handler, status, body, content_type):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    state = ImageServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server's naming
            state.handle(self)

        def log_message(self, *args):
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # clients that hang up early (size limits, timeouts) are part of the tests

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def unique():
    """A query string that makes a URL (and its request counter) unique to one test."""
    return f"n={time.monotonic_ns()}"


@pytest.fixture
def cache(tmp_path):
    session = make_session(5, retries=2, backoff_factor=0.01)
    with ImageCache(tmp_path / "cache", session=session, max_bytes=100_000,
                    timeout=(2, 2)) as opened:
        yield opened
    session.close()


def leftover_temporary_files(cache) -> list:
    return list(cache.tmp_dir.iterdir())


# -- download once ----------------------------------------------------------------------------


def test_get_downloads_into_a_content_addressed_path(server, cache, unique):
    url = f"{server.url}/grid.png?{unique}"
    path = cache.get(url)
    digest = hashlib.sha256(GRID).hexdigest()
    assert path == cache.objects_dir / digest[:2] / f"{digest}.png"
    assert path.read_bytes() == GRID
    assert cache.get(url) == path
    assert server.hits[f"/grid.png?{unique}"] == 1


def test_the_url_index_survives_a_new_cache_object(server, cache, unique):
    url = f"{server.url}/photo.jpg?{unique}"
    first = cache.get(url)
    assert first.suffix == ".jpg"
    with ImageCache(cache.cache_dir, session=cache.session) as reopened:
        assert reopened.cached_path(url) == first
        assert reopened.get(url) == first
    assert server.hits[f"/photo.jpg?{unique}"] == 1


def test_a_deleted_object_is_downloaded_again(server, cache, unique):
    url = f"{server.url}/grid.png?{unique}"
    cache.get(url).unlink()
    assert cache.cached_path(url) is None
    assert cache.get(url).read_bytes() == GRID
    assert server.hits[f"/grid.png?{unique}"] == 2


def test_eight_threads_asking_for_one_url_download_it_once(server, cache, unique):
    url = f"{server.url}/grid.png?delay=0.3&{unique}"
    start = threading.Barrier(8)
    results, errors = [], []

    def ask():
        start.wait()
        try:
            results.append(cache.get(url))
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ask, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert server.hits[f"/grid.png?delay=0.3&{unique}"] == 1


def test_get_many_is_concurrent_and_keeps_the_input_order(server, cache, unique):
    # the server answers none of the five until all five are open at once: sequential downloads
    # would get 504s after its 30 s deadline
    urls = [f"{server.url}/grid.png?together={unique}&n=5&i={i}" for i in range(4)]
    urls.append(f"{server.url}/photo.jpg?together={unique}&n=5")
    paths = cache.get_many(urls + urls[:1])
    assert [p.suffix for p in paths] == [".png"] * 4 + [".jpg", ".png"]
    assert paths[0] == paths[5]
    assert all(server.hits[urlsplit(url)._replace(scheme="", netloc="").geturl()] == 1
               for url in urls)


def test_get_many_raises_the_first_error_after_all_finished(server, cache, unique):
    good = f"{server.url}/grid.png?delay=0.3&{unique}"
    urls = [f"{server.url}/page.html?{unique}", good, f"{server.url}/status/404?{unique}"]
    with pytest.raises(ImageDownloadError, match="not an image"):
        cache.get_many(urls)
    assert cache.cached_path(good) is not None  # the slow good one still finished

    outcomes = cache.get_many(urls, return_exceptions=True)
    assert isinstance(outcomes[0], ImageDownloadError)
    assert outcomes[1] == cache.cached_path(good)
    assert outcomes[2].status_code == 404
    assert cache.get_many([]) == []


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/a.png",
                                 "data:image/png;base64,iVBORw0KGgo=", "/relative/a.png",
                                 "http:///no-host.png", "http://127.0.0.1:99999/a.png", "",
                                 None, b"http://127.0.0.1/a.png"])
def test_only_http_and_https_urls_are_accepted(cache, url):
    with pytest.raises(ImageDownloadError, match="only absolute http and https"):
        cache.get(url)


def test_a_page_that_is_not_an_image_is_refused(server, cache, unique):
    with pytest.raises(ImageDownloadError, match="text/html") as caught:
        cache.get(f"{server.url}/page.html?{unique}")
    assert isinstance(caught.value, ApiframeError)
    assert caught.value.url == f"{server.url}/page.html"  # no query string in messages


def test_a_declared_oversized_body_is_refused_before_reading(server, cache, unique):
    with pytest.raises(ImageDownloadError, match="larger than"):
        cache.get(f"{server.url}/big-declared.png?{unique}")
    assert list(cache.objects_dir.rglob("*.png")) == []
    assert leftover_temporary_files(cache) == []


def test_an_undeclared_oversized_body_is_cut_off_while_streaming(server, cache, unique):
    assert len(BIG) > cache.max_bytes
    with pytest.raises(ImageDownloadError, match="larger than"):
        cache.get(f"{server.url}/big-streamed.png?{unique}")
    assert leftover_temporary_files(cache) == []


def test_a_large_enough_limit_accepts_the_same_streamed_body(server, tmp_path, unique):
    with ImageCache(tmp_path / "roomy", max_bytes=len(BIG) + 1) as roomy:
        assert roomy.get(f"{server.url}/big-streamed.png?{unique}").read_bytes() == BIG


@pytest.mark.parametrize("route", ["/garbage.png", "/truncated.png"])
def test_bytes_pillow_cannot_read_are_refused(server, cache, unique, route):
    with pytest.raises(ImageDownloadError, match="readable image"):
        cache.get(f"{server.url}{route}?{unique}")
    assert list(cache.objects_dir.rglob("*.*")) == []
    assert leftover_temporary_files(cache) == []


def test_http_errors_carry_the_status_code_and_are_not_cached(server, cache, unique):
    url = f"{server.url}/status/404?{unique}"
    for attempt in (1, 2):
        with pytest.raises(ImageDownloadError, match="HTTP 404") as caught:
            cache.get(url)
        assert caught.value.status_code == 404
    assert server.hits[f"/status/404?{unique}"] == 2


def test_server_errors_are_retried_with_backoff(server, cache, unique):
    with pytest.raises(ImageDownloadError, match="HTTP 503"):
        cache.get(f"{server.url}/status/503?{unique}")
    assert server.hits[f"/status/503?{unique}"] == 3  # first try + 2 retries


def test_a_refused_connection_is_a_typed_error(cache):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ImageDownloadError, match="connection failed"):
        cache.get(f"http://127.0.0.1:{port}/grid.png")


def test_a_slow_server_times_out(server, tmp_path, unique):
    session = make_session(1, retries=0)
    with ImageCache(tmp_path / "c", session=session, timeout=(1, 0.3)) as impatient:
        with pytest.raises(ImageDownloadError, match="Timed out"):
            impatient.get(f"{server.url}/grid.png?delay=5&{unique}")
    session.close()


def test_a_redirect_to_a_local_file_is_refused(server, cache, unique):
    with pytest.raises(ImageDownloadError):
        cache.get(f"{server.url}/redirect-to-file?{unique}")


def test_no_authorization_header_reaches_an_image_host(server, tmp_path, unique):
    session = make_session(2)
    session.headers["Authorization"] = "sk-SESSION-KEY"
    session.auth = ("user", "password")
    with ImageCache(tmp_path / "c", session=session) as leaky:
        leaky.get(f"{server.url}/grid.png?{unique}")
    headers = {k.lower(): v for k, v in server.seen_headers[f"/grid.png?{unique}"].items()}
    assert "authorization" not in headers
    assert headers["accept"] == "image/*"
    session.close()


def test_default_cache_dir_is_under_the_data_dir_and_made_on_first_use(
        server, unique, tmp_path, monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(tmp_path / "magic"))
    with ImageCache() as default:
        assert default.cache_dir == tmp_path / "magic" / "images"
        assert not (tmp_path / "magic").exists()  # constructing costs nothing on disk
        assert default.get(f"{server.url}/grid.png?{unique}").is_file()
    if os.name == "posix":
        assert stat.S_IMODE(default.cache_dir.stat().st_mode) == 0o700


# -- thumbnails -------------------------------------------------------------------------------


def test_thumbnails_are_small_rgb_jpegs_cached_by_content(server, cache, unique):
    path = cache.get(f"{server.url}/rgba.png?{unique}")
    data = cache.thumbnail(path, max_side=256)
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and thumb.mode == "RGB"
        assert max(thumb.size) == 256 and thumb.size[0] > thumb.size[1]
    assert len(list(cache.thumbs_dir.iterdir())) == 1

    path.unlink()  # served from the thumbnail cache now, without the source
    assert cache.thumbnail(path, max_side=256) == data
    with pytest.raises(ImageFileError):
        cache.thumbnail(path, max_side=128)


def test_small_images_are_not_enlarged_and_png_is_available(server, cache, unique):
    path = cache.get(f"{server.url}/grid.png?{unique}")
    with Image.open(io.BytesIO(cache.thumbnail(path, 512, format="png"))) as thumb:
        assert (thumb.format, thumb.size) == ("PNG", (128, 128))
    with pytest.raises(ValueError):
        cache.thumbnail(path, format="BMP")


def test_a_corrupt_local_file_gives_a_typed_thumbnail_error(cache, tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageFileError, match="thumbnail"):
        cache.thumbnail(corrupt)


# -- saving -----------------------------------------------------------------------------------


def test_save_names_files_by_task_and_index(server, cache, unique, tmp_path):
    grid = cache.get(f"{server.url}/grid.png?{unique}")
    photo = cache.get(f"{server.url}/photo.jpg?{unique}")
    out = tmp_path / "out" / "nested"
    saved = save("task-42", {"grid": grid, 1: photo, "upscale": grid}, out)
    assert [p.name for p in saved] == ["task-42_grid.png", "task-42_1.jpg", "task-42_upscale.png"]
    assert saved[0].read_bytes() == GRID and saved[1].read_bytes() == JPEG


def test_save_is_idempotent_and_never_clobbers(server, cache, unique, tmp_path):
    grid = cache.get(f"{server.url}/grid.png?{unique}")
    out = tmp_path / "out"
    first = cache.save("t1", {"grid": grid}, out)
    assert cache.save("t1", {"grid": grid}, out) == first
    (out / "t1_1.png").write_bytes(b"someone else's file")
    [second] = cache.save("t1", {1: grid}, out)
    assert second.name == "t1_1-2.png" and second.read_bytes() == GRID
    assert (out / "t1_1.png").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in out.iterdir()) == ["t1_1-2.png", "t1_1.png", "t1_grid.png"]


def test_save_keeps_hostile_task_ids_inside_the_directory(server, cache, unique, tmp_path):
    grid = cache.get(f"{server.url}/grid.png?{unique}")
    [saved] = save("../../etc/passwd", {"grid": grid}, tmp_path / "out")
    assert saved.parent == tmp_path / "out"


def test_save_of_a_missing_file_is_a_typed_error(tmp_path):
    with pytest.raises(ImageFileError, match="does not exist"):
        save("t", {"grid": tmp_path / "nope.png"}, tmp_path / "out")



def test_partial_downloads_left_by_a_crash_are_swept_when_old(tmp_path):
    with ImageCache(tmp_path / "c") as first:
        first.tmp_dir.mkdir(parents=True)
        old = first.tmp_dir / "download-old"
        recent = first.tmp_dir / "download-recent"
        old.write_bytes(b"half an image")
        recent.write_bytes(b"another kernel's download in progress")
        an_hour_and_more = time.time() - 3700
        os.utime(old, (an_hour_and_more, an_hour_and_more))
    with ImageCache(tmp_path / "c"):
        assert not old.exists()
        assert recent.exists()
