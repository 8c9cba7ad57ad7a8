"""Result images: downloaded once, kept in a content-addressed cache, shown as thumbnails.

Layout under the cache directory (default ``data_dir()/images``)::

    objects/ab/abcdef...png     the bytes, named by their sha256 and Pillow's format
    by-url/<sha256 of the URL>  one line: the object's path relative to objects/
    thumbs/<sha256>_<side>.jpg  thumbnails, keyed by content and size
    tmp/                        downloads in progress (moved into objects/ with os.replace)

The cache is bounded (settings.py: `APIFRAME_MAGIC_CACHE_MB`, 4096 by default): past its
limit, the least recently used images not pinned by a shown job are deleted, and downloaded again
if asked for. Only the hash of a URL is stored, so a signed CDN URL does not end up on disk in
clear. Every file appears atomically (temporary file + ``os.replace``): a crash never leaves half
an image behind. Two processes sharing the cache may both download a URL once; they write
identical objects.

What is accepted: http(s) URLs only, a 2xx answer, an ``image/*`` Content-Type, at most `max_bytes`
(checked against Content-Length and again while streaming), at most `MAX_IMAGE_PIXELS` (read from
the header, before any pixel is decoded: a few hundred KB of PNG can declare gigabytes of pixels),
and bytes Pillow recognises and ``verify()``s. Anything else raises :class:`ImageDownloadError`
with the reason; raw ``requests`` and Pillow exceptions never escape. Pillow's ``verify()`` checks
the structure (PNG chunk CRCs included) without decoding pixels; urllib3 2 raises on a body
shorter than its Content-Length.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Iterable, Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from PIL import Image, ImageOps
from urllib3.util.retry import Retry

from .cache_budget import CacheBudget, CacheUsage, touch
from .errors import ApiframeError, exception_chain, tls_problem
from .settings import check_cache_limit_mb, data_dir, is_http_url
from .store import ensure_private_dir
from .transport import USER_AGENT, DeadlineAdapter, call_deadline, deadline_passed

# Midjourney's largest output is a 4x upscale: 4096x4096 (16.8 Mpx) for 1:1, 5824x3264 (19 Mpx) for
# 16:9, a PNG of 25-40 MB when detailed. The limits admit it with margin and refuse what is far
# beyond (a decompression bomb costs about 3 bytes of memory per pixel once decoded).
DEFAULT_MAX_BYTES = 64 * 2**20
MAX_IMAGE_PIXELS = 40_000_000
DEFAULT_TIMEOUT = (5, 60)
DOWNLOAD_DEADLINE = 300.0  # seconds for one image, retries included: 64 MiB at 220 KB/s
DEFAULT_WORKERS = 5
CHUNK_SIZE = 64 * 1024
RETRY_STATUSES = (429, 500, 502, 503, 504)
ABANDONED_DOWNLOAD_SECONDS = 3600

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tif",
               "BMP": "bmp"}
_THUMBNAIL_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_OBJECT_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$")
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class ImageDownloadError(ApiframeError):
    """An image could not be downloaded, or what came back is not an acceptable image.
    `url` is the URL without its query string (signed URLs carry tokens)."""

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.url = url


class ImageFileError(ApiframeError):
    """A local image file is missing or cannot be decoded (for thumbnails and saving)."""


class SaveLocationError(ImageFileError):
    """The directory images should be saved into cannot be made or written to."""


# --------------------------------------------------------------------------------------------
# HTTP


def make_session(workers: int = DEFAULT_WORKERS, *, retries: int = 3,
                 backoff_factor: float = 0.25) -> requests.Session:
    """A pooled session for image GETs: one connection per worker, retries with backoff on
    connection errors and 429/5xx, one retry after a read timeout (a slow host would otherwise hold
    a worker for retries x timeout). Retry-After is not honoured: a CDN's hour-long value would
    stall a worker; the bounded backoff is used instead."""
    retry = Retry(total=retries, connect=retries, read=min(retries, 1), status=retries,
                  backoff_factor=backoff_factor, status_forcelist=RETRY_STATUSES,
                  allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False,
                  respect_retry_after_header=False)
    adapter = DeadlineAdapter(pool_connections=workers, pool_maxsize=workers, max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.max_redirects = 5
    return session


def _without_credentials(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Used as the `auth` of every image GET: it replaces session auth and ~/.netrc, and drops any
    Authorization header, so the API key is never sent to an image host."""
    request.headers.pop("Authorization", None)
    return request


def public_url(url: str) -> str:
    """The URL as it may appear in a message: no credentials, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else url[:80]


def check_url(url: str) -> None:
    """Reject anything but an absolute http(s) URL (file:, ftp:, data:, a malformed port ...)."""
    if not is_http_url(url):
        shown = url[:40] if isinstance(url, str) else repr(url)
        raise ImageDownloadError(f"Refusing to download {shown!r}: only absolute http and https "
                                 f"image URLs are accepted.", url=shown)


def _caused_by_timeout(exc: requests.exceptions.RequestException) -> bool:
    """requests reports a read timeout as ConnectionError once urllib3's retries are used up, or
    when it happens while streaming the body; the urllib3 error inside tells the truth."""
    return isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(cause, urllib3.exceptions.TimeoutError)
        # urllib3 makes "connection refused" a ConnectTimeoutError subclass
        and not isinstance(cause, urllib3.exceptions.NewConnectionError)
        for cause in exception_chain(exc))


def _download_error(exc: requests.exceptions.RequestException, shown: str) -> ImageDownloadError:
    tls = tls_problem(exc)
    if tls is not None:
        host = urlsplit(shown).netloc or shown
        return ImageDownloadError(f"Could not download {shown}: TLS/certificate problem with "
                                  f"{host} ({tls.reason}). {tls.advice()}", url=shown)
    if deadline_passed():
        return ImageDownloadError(f"Timed out downloading {shown}: it did not arrive whole "
                                  f"within {DOWNLOAD_DEADLINE:g} s.", url=shown)
    if _caused_by_timeout(exc):
        return ImageDownloadError(f"Timed out downloading {shown}.", url=shown)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return ImageDownloadError(f"Could not download {shown}: the connection failed or broke "
                                  f"off.", url=shown)
    return ImageDownloadError(f"Could not download {shown}: {type(exc).__name__}.", url=shown)


def _media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _declared_length(response: requests.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` so that `path` is either absent or complete."""
    ensure_private_dir(path.parent)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False)
    try:
        with handle:
            handle.write(data)
        os.replace(handle.name, path)
    except BaseException:
        _remove_quietly(Path(handle.name))
        raise


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _same_content(first: Path, second: Path) -> bool:
    return (first.stat().st_size == second.stat().st_size
            and sha256_file(first) == sha256_file(second))


def _safe_name(text: object) -> str:
    return _UNSAFE_FILENAME_CHARS.sub("_", str(text)).strip("._") or "image"


# --------------------------------------------------------------------------------------------
# The cache


class ImageCache:
    """Download-once, content-addressed image cache. Thread-safe: concurrent `get` calls for one
    URL share a single download (an in-flight future per URL).

    `thumbnail_side` (None: off): a JPEG thumbnail of that side is made right after each
    download, in the downloading thread, so the thumbnails a notebook shows once a job has
    finished are ready (or derived from it) by the time its last image arrives."""

    def __init__(self, cache_dir: str | os.PathLike | None = None, *,
                 session: requests.Session | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 workers: int = DEFAULT_WORKERS, limit_mb: int | None = None,
                 thumbnail_side: int | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir is not None else data_dir() / "images"
        self.objects_dir = self.cache_dir / "objects"
        self.by_url_dir = self.cache_dir / "by-url"
        self.thumbs_dir = self.cache_dir / "thumbs"
        self.tmp_dir = self.cache_dir / "tmp"
        self._directories_ready = False
        self.budget = CacheBudget(self.objects_dir, self.thumbs_dir, limit_mb)
        self.max_bytes = max_bytes
        self.thumbnail_side = thumbnail_side
        self.timeout = timeout
        self.workers = max(1, workers)
        self._owns_session = session is None
        self.session = session if session is not None else make_session(self.workers)
        self._inflight: dict[str, Future] = {}
        self._inflight_lock = threading.Lock()
        self._sweep_abandoned_downloads()

    def _prepare_directories(self) -> None:
        """Create the cache's directories (0o700) on the first write, not on construction, so
        that a cache nobody uses leaves no trace on disk."""
        if not self._directories_ready:
            for directory in (self.cache_dir, self.objects_dir, self.by_url_dir, self.thumbs_dir,
                              self.tmp_dir):
                ensure_private_dir(directory)
            self._directories_ready = True

    def _sweep_abandoned_downloads(self) -> None:
        """Delete partial downloads a crashed process left in tmp/ (never in objects/). Only old
        ones: another kernel sharing the cache may be downloading right now."""
        cutoff = time.time() - ABANDONED_DOWNLOAD_SECONDS
        for leftover in self.tmp_dir.glob("download-*"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except OSError:
                pass

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> "ImageCache":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------------

    @property
    def limit_mb(self) -> int:
        """The size the cache is pruned to after a download (`%config Imagine.cache_limit_mb`)."""
        return self.budget.limit_mb

    @limit_mb.setter
    def limit_mb(self, value: int) -> None:
        self.budget.limit_mb = check_cache_limit_mb(value)

    def pin(self, owner: object, paths: Iterable[str | os.PathLike]) -> None:
        """Never evict `paths` while `owner` (a job still shown) is alive."""
        self.budget.pin(owner, paths)

    def usage(self) -> CacheUsage:
        """How many images the cache holds and the bytes it takes (thumbnails included)."""
        return self.budget.usage()

    def prune(self, limit_mb: int | None = None) -> CacheUsage:
        """Evict least recently used images not in use until the cache fits `limit_mb` (default:
        its limit); returns what was removed."""
        return self.budget.prune(limit_mb)

    def cached_path(self, url: str) -> Path | None:
        """The local file for `url` if it was downloaded before (no network)."""
        index_file = self._index_file(url)
        try:
            relative = index_file.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not _OBJECT_NAME.match(relative):
            return None
        path = self.objects_dir / relative
        if not path.is_file():
            return None
        touch(path)
        return path

    def get(self, url: str) -> Path:
        """The local path of the image at `url`, downloading it if this cache never has."""
        check_url(url)
        cached = self.cached_path(url)
        if cached is not None:
            return cached
        with self._inflight_lock:
            pending = self._inflight.get(url)
            if pending is None:
                mine = self._inflight[url] = Future()
        if pending is not None:
            return pending.result()
        try:
            path = self.cached_path(url) or self._download(url)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(path)
            return path
        finally:
            with self._inflight_lock:
                del self._inflight[url]

    def get_many(self, urls: Iterable[str], *, return_exceptions: bool = False,
                 ) -> list[Path | ImageDownloadError]:
        """`get` for each URL on a pool of `workers` threads, results in input order.

        Waits for every download, then raises the first error in input order; with
        `return_exceptions=True` the errors take their URL's place in the list instead."""
        urls = list(urls)
        if not urls:
            return []
        with ThreadPoolExecutor(max_workers=min(self.workers, len(urls)),
                                thread_name_prefix="apiframe-image") as pool:
            futures = [pool.submit(self.get, url) for url in urls]
        outcomes = [future.exception() or future.result() for future in futures]
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return outcomes

    def thumbnail(self, path: str | os.PathLike, max_side: int = 512,
                  format: str = "JPEG") -> bytes:
        """Bytes of a thumbnail no larger than `max_side`, cached by content hash and size."""
        format = format.upper()
        if format not in _THUMBNAIL_FORMATS:
            raise ValueError(f"format must be one of {sorted(_THUMBNAIL_FORMATS)}, not {format!r}")
        path = Path(path)
        content_hash = self._content_hash(path)
        cached = self.thumbs_dir / f"{content_hash}_{max_side}.{_THUMBNAIL_FORMATS[format]}"
        if cached.is_file():
            touch(cached)
            return cached.read_bytes()
        data = render_thumbnail(path, max_side, format)
        self._prepare_directories()
        _write_atomically(cached, data)
        self.budget.added(len(data), keep=content_hash)
        return data

    def save(self, task_id: str, paths_by_index: Mapping[str | int, str | os.PathLike],
             directory: str | os.PathLike) -> list[Path]:
        """Copy full-resolution images out of the cache; see :func:`save`."""
        return save(task_id, paths_by_index, directory)

    # -- download -----------------------------------------------------------------------------

    def _index_file(self, url: str) -> Path:
        return self.by_url_dir / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def _content_hash(self, path: Path) -> str:
        """The sha256 of a file; free for our own objects, whose name is their hash."""
        if path.parent.parent == self.objects_dir and len(path.stem) == 64:
            return path.stem
        try:
            return sha256_file(path)
        except OSError as exc:
            raise ImageFileError(f"Cannot read image {path}: {exc.strerror or exc}") from exc

    def _download(self, url: str) -> Path:
        """Fetch, validate and file the image; record url -> object last, so the index never
        points at a missing or partial file."""
        self._prepare_directories()
        temporary, content_hash = self._fetch_to_temporary_file(url)
        try:
            extension = self._verified_extension(temporary, url)
            path = self.objects_dir / content_hash[:2] / f"{content_hash}.{extension}"
            ensure_private_dir(path.parent)
            os.replace(temporary, path)
        finally:
            _remove_quietly(temporary)
        _write_atomically(self._index_file(url), path.relative_to(self.objects_dir)
                          .as_posix().encode("ascii"))
        self.budget.added(path.stat().st_size, keep=content_hash)
        if self.thumbnail_side:
            try:
                self.thumbnail(path, self.thumbnail_side)
            except ImageFileError:
                pass  # whoever shows the image asks again and reports why
        return path

    def _fetch_to_temporary_file(self, url: str) -> tuple[Path, str]:
        """Stream the body into tmp/ while hashing it; returns (file, sha256)."""
        shown = public_url(url)
        with call_deadline(DOWNLOAD_DEADLINE):
            try:
                with self.session.get(url, stream=True, timeout=self.timeout,
                                      auth=_without_credentials,
                                      headers={"Accept": "image/*"}) as response:
                    self._check_response(response, shown)
                    return self._stream_to_file(response, shown)
            except requests.exceptions.RequestException as exc:
                raise _download_error(exc, shown) from exc

    def _check_response(self, response: requests.Response, shown: str) -> None:
        if not 200 <= response.status_code < 300:
            raise ImageDownloadError(f"Downloading {shown} failed with HTTP "
                                     f"{response.status_code}.", url=shown,
                                     status_code=response.status_code)
        media_type = _media_type(response)
        if not media_type.startswith("image/"):
            raise ImageDownloadError(f"{shown} is not an image (Content-Type "
                                     f"{media_type or 'missing'!r}).", url=shown)
        declared = _declared_length(response)
        if declared is not None and declared > self.max_bytes:
            raise ImageDownloadError(self._too_large_message(shown, declared), url=shown)

    def _too_large_message(self, shown: str, size: int | None = None) -> str:
        size_text = f" ({size / 2**20:.1f} MiB)" if size is not None else ""
        return (f"{shown} is larger than the {self.max_bytes / 2**20:.1f} MiB limit{size_text}; "
                f"not downloaded.")

    def _stream_to_file(self, response: requests.Response, shown: str) -> tuple[Path, str]:
        digest = hashlib.sha256()
        received = 0
        handle = tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="download-", delete=False)
        try:
            with handle:
                for chunk in response.iter_content(CHUNK_SIZE):
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise ImageDownloadError(self._too_large_message(shown), url=shown)
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())  # durable before it gets its final name
        except BaseException:
            _remove_quietly(Path(handle.name))
            raise
        return Path(handle.name), digest.hexdigest()

    def _verified_extension(self, path: Path, url: str) -> str:
        """The file extension for Pillow's format of the bytes; ImageDownloadError if Pillow
        cannot make sense of them or they declare more than `MAX_IMAGE_PIXELS`."""
        shown = public_url(url)
        try:
            with Image.open(path) as image:  # lazy: reads the header, decodes no pixel
                image_format, problem = image.format, pixel_problem(image.size)
                if problem is None:
                    image.verify()
        except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ...)
            raise ImageDownloadError(f"{shown} did not contain a readable image "
                                     f"({type(exc).__name__}).", url=shown) from exc
        if problem is not None:
            raise ImageDownloadError(f"{shown} {problem}; not downloaded.", url=shown)
        return _EXTENSIONS.get(image_format or "", (image_format or "img").lower())


def pixel_problem(size: tuple[int, int]) -> str | None:
    """Why an image of `size` is refused (too many pixels to decode safely), or None."""
    width, height = size
    if width * height <= MAX_IMAGE_PIXELS:
        return None
    return (f"is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels), above the "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit (Midjourney's largest image, a 4x "
            f"upscale, is about 19)")


# --------------------------------------------------------------------------------------------
# Thumbnails and saving


# One full-size decode at a time in this process: four 4x upscales landing together must not
# hold four 57 MB bitmaps at once.
_FULL_SIZE_DECODE = threading.Lock()


# The last few images scaled down, by file and side: the view's thumbnails and the static twin
# of one job ask for the same picture at 768 and 512 px within moments; decoding a 5 MB PNG grid
# costs ~100 ms, shrinking a remembered 768-px copy ~5 ms.
_SMALL_ENTRIES = 10
_small: OrderedDict[tuple, Image.Image] = OrderedDict()
_small_lock = threading.Lock()


def scaled_down(path: Path | IO[bytes], max_side: int) -> Image.Image:
    """The image at `path` within `max_side` (never enlarged), turned upright per its EXIF.

    The file is opened lazily and shrunk in place (JPEG decodes at a reduced scale via draft,
    others are decoded once and reduced by whole factors before resampling), so at most one
    full-size bitmap exists, and only while it is being shrunk. A copy scaled down before to at
    least `max_side` is used instead when there is one. ImageFileError when the file cannot be
    read or has more than `MAX_IMAGE_PIXELS`."""
    try:
        stat = os.stat(path)
        file_key = (os.fspath(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, TypeError):  # missing, or an open file object (not remembered)
        file_key = None
    remembered = _remembered(file_key, max_side) if file_key else None
    if remembered is not None:
        remembered.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return remembered
    small = _decoded_small(path, max_side)
    if file_key:
        with _small_lock:
            _small[(*file_key, max_side)] = small.copy()
            while len(_small) > _SMALL_ENTRIES:
                _small.popitem(last=False)
    return small


def _remembered(file_key: tuple, max_side: int) -> Image.Image | None:
    """A copy of the smallest remembered version of the file that is at least `max_side`."""
    with _small_lock:
        sides = [key[-1] for key in _small if key[:-1] == file_key and key[-1] >= max_side]
        if not sides:
            return None
        key = (*file_key, min(sides))
        _small.move_to_end(key)
        return _small[key].copy()


def _decoded_small(path: Path, max_side: int) -> Image.Image:
    try:
        image = Image.open(path)
    except Exception as exc:  # missing file, or one of the many types Pillow decoders raise
        raise ImageFileError(f"Cannot read the image {path}: {type(exc).__name__}: {exc}"
                             ) from exc
    with image:
        problem = pixel_problem(image.size)
        if problem is not None:
            raise ImageFileError(f"Cannot show {path}: it {problem}.")
        try:
            with _FULL_SIZE_DECODE:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return ImageOps.exif_transpose(image)
        except Exception as exc:  # a truncated or corrupt file fails while decoding
            raise ImageFileError(f"Cannot read the image {path}: {type(exc).__name__}: {exc}"
                                 ) from exc


def render_thumbnail(path: Path, max_side: int, format: str) -> bytes:
    """Scale down (never up), honour EXIF rotation, flatten transparency onto white for JPEG."""
    try:
        small = scaled_down(path, max_side)
    except ImageFileError as exc:
        raise ImageFileError(f"Cannot make a thumbnail: {exc}") from exc
    if format == "JPEG":
        small = _flatten_to_rgb(small)
    output = io.BytesIO()
    small.save(output, format=format, **({"quality": 85} if format != "PNG" else {}))
    return output.getvalue()


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def check_writable_dir(path: str | os.PathLike) -> Path:
    """`path` as a directory images can be saved into, created if missing; SaveLocationError
    saying why not otherwise. Called before anything is submitted, so a paid result never
    finds its way out blocked. Writability is tried with a real file: modes, ACLs, read-only
    mounts and root all give their true answer."""
    directory = Path(path).expanduser()
    if directory.exists() and not directory.is_dir():
        raise SaveLocationError(f"Cannot save images into {directory}: it is a file, not a "
                                "directory. Choose another directory.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".apiframe-write-test-"):
            pass
    except OSError as exc:
        raise SaveLocationError(f"Cannot save images into {directory}: "
                                f"{_os_reason(exc)}. Choose a directory you can write to."
                                ) from None
    return directory


def _os_reason(exc: OSError) -> str:
    """'permission denied', 'not a directory: /a/file', ... without a traceback's noise."""
    reason = (exc.strerror or type(exc).__name__).lower()
    where = exc.filename if isinstance(exc, (NotADirectoryError, FileExistsError)) else None
    return f"{reason} ({where})" if where else reason


def save(task_id: str, paths_by_index: Mapping[str | int, str | os.PathLike],
         directory: str | os.PathLike) -> list[Path]:
    """Copy full-resolution files to `directory` as ``<task_id>_<index>.<ext>``
    (``_grid``, ``_1`` .. ``_4``, ``_upscale``), in the mapping's order.

    Saving the same content again is a no-op returning the existing file; a different file that
    already has the name is kept, and the new one gets a ``-2``, ``-3`` ... suffix. Every failure
    is an ImageFileError (SaveLocationError for the directory) with the reason."""
    directory = check_writable_dir(directory)
    try:
        return [_save_one(Path(source), directory, f"{_safe_name(task_id)}_{_safe_name(index)}")
                for index, source in paths_by_index.items()]
    except OSError as exc:  # disk full, the directory removed meanwhile ...
        raise SaveLocationError(f"Saving the images of {task_id} into {directory} failed: "
                                f"{_os_reason(exc)}.") from None


def _save_one(source: Path, directory: Path, stem: str) -> Path:
    if not source.is_file():
        raise ImageFileError(f"Cannot save {source}: the file does not exist.")
    extension = source.suffix.lower()
    for attempt in range(1, 1000):
        target = directory / (f"{stem}{extension}" if attempt == 1
                              else f"{stem}-{attempt}{extension}")
        if target.exists():
            if _same_content(source, target):
                return target
            continue
        if _copy_without_clobbering(source, target):
            return target
    raise ImageFileError(f"Cannot save {source} into {directory}: too many files named {stem}.")


def _copy_without_clobbering(source: Path, target: Path) -> bool:
    """Copy via a temporary file, then hard-link it into place: the name appears complete or not
    at all, and a file that appeared meanwhile is never overwritten. False if the name is taken."""
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=".saving-", delete=False)
    temporary = Path(handle.name)
    try:
        with handle, open(source, "rb") as reader:
            shutil.copyfileobj(reader, handle)
        os.chmod(temporary, 0o644)  # a saved image is the user's file, not a private temp file
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                return False
            os.replace(temporary, target)
        return True
    finally:
        _remove_quietly(temporary)
