"""A job's images on disk: downloaded in the background once it finishes, and a past record's
images brought back from the cache (or downloaded again) when it is reopened or saved.

Two download threads, so the poller never waits on a download and a job's thumbnails do not queue
behind another job's upscales. What the images are called ('grid', '1'..'4', 'image') is
`models.image_names`; where they are is recorded in the history.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .errors import ApiframeError
from .images import ImageDownloadError
from .models import Task, image_names


class ImageDownloads:
    """Downloads for one manager: `images` an `images.ImageCache`, `store` the history (or None).

    `landed(job)` is called once a job's images are on disk, or could not be had (said to
    `remember`), or when it has none: the manager fires the job's image callbacks there."""

    def __init__(self, images, store, *, landed: Callable, remember: Callable[[str], None]):
        self.images = images
        self.store = store
        self._landed = landed
        self._remember = remember
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()   # the poller and a webhook may finish jobs at once

    def start(self, job) -> None:
        """Download a finished job's images in the background (at once done when it has none)."""
        if self.images is None or job.result is None or not job.result.all_image_urls:
            self._landed(job)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2,
                                                thread_name_prefix="apiframe-images")
            self._pool.submit(self._download, job)

    def _download(self, job) -> None:
        names = image_names(job.result)
        try:
            paths = self.images.get_many([url for _, url in names])
            self.images.pin(job, paths)  # kept in the bounded cache while the job is around
            job.image_paths = {name: path for (name, _), path in zip(names, paths)}
            if self.store is not None and job.job_id:
                for (name, url), path in zip(names, paths):
                    self.store.record_image(job.job_id, name, url, str(path))
        except Exception as exc:  # noqa: BLE001
            self._remember(f"downloading the images of {job!r} failed: {exc}")
        finally:
            self._landed(job)

    def files(self, record, result: Task | None = None) -> dict:
        """The files of a finished record's images by name ('grid', '1'..'4', 'image'): from the
        cache when it still has them, else downloaded (and recorded) again. Raises
        images.ImageDownloadError naming the image that cannot be had."""
        result = result or Task.from_dict({"task_id": record.task_id, **(record.result or {})})
        recorded = {str(name): path for name, path in self.store.images(record.job_id).items()}
        files = {}
        for name, url in image_names(result):
            path = recorded.get(name)
            if path is None or not path.is_file():
                try:
                    path = self.images.get(url)
                except ImageDownloadError as exc:
                    raise ImageDownloadError(f"image {name} is not in the cache and could not "
                                             f"be downloaded again: {exc}") from None
                self.store.record_image(record.job_id, name, url, str(path))
            files[name] = path
        return files

    def on_disk(self, record, result: Task) -> dict:
        """`files`, or none (said to `remember`) when they cannot be had or nothing keeps them."""
        if self.store is None or self.images is None:
            return {}
        try:
            return self.files(record, result)
        except ApiframeError as exc:
            self._remember(f"the images of {record.task_id} could not be had again: {exc}")
            return {}

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
