"""How much disk the image cache may use, and pruning it least recently used first.

Why: a real job brings about 12 MB of PNGs (a grid of 4-8 MB and four 1-2.5 MB images), so an
unbounded cache reaches 12 GB after 1,000 jobs. Evicting loses nothing the user keeps: saving
copies images out of the cache, and an evicted image is downloaded again when it is asked for.
The images of jobs this process still shows are pinned (`pin`) and never evicted.

An entry is one downloaded object plus its thumbnails (named by the object's hash); its recency
is the newest modification time among its files, which the cache refreshes on every use.
"""
from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .settings import cache_limit_mb, check_cache_limit_mb


MB = 2**20
AFTER_DOWNLOAD_SHARE = 0.9  # a prune after a download makes room for a few more (not one scan each)


@dataclass(frozen=True)
class CacheUsage:
    images: int
    bytes: int

    def __str__(self) -> str:
        return f"{self.images} image{'s' if self.images != 1 else ''}, {self.bytes / MB:.1f} MB"


@dataclass
class _Entry:
    files: list[Path]
    size: int = 0
    used_at: float = 0.0
    is_object: bool = False  # False: thumbnails of a file that is not in the cache


class CacheBudget:
    """The size limit of one cache directory (`objects/<xx>/<hash>.<ext>`, `thumbs/<hash>_*`).
    Thread-safe. `limit_mb` may be changed at any time; it applies from the next download."""

    def __init__(self, objects_dir: Path, thumbs_dir: Path, limit_mb: int | None = None):
        self.objects_dir = objects_dir
        self.thumbs_dir = thumbs_dir
        self.limit_mb = (cache_limit_mb() if limit_mb is None
                         else check_cache_limit_mb(limit_mb))
        self._lock = threading.Lock()
        self._pins: dict[int, frozenset[str]] = {}
        self._estimate: int | None = None  # bytes on disk, counted once, then kept up to date

    # -- in use -----------------------------------------------------------------------------

    def pin(self, owner: object, paths: Iterable[str | os.PathLike]) -> None:
        """Keep `paths` while `owner` (a job, a view) is alive; pinning again replaces them."""
        key = id(owner)
        with self._lock:
            first = key not in self._pins
            self._pins[key] = frozenset(Path(path).name.split(".")[0] for path in paths)
        if first:
            weakref.finalize(owner, self._unpin, key)

    def _unpin(self, key: int) -> None:
        with self._lock:
            self._pins.pop(key, None)

    def in_use(self) -> frozenset[str]:
        """The content hashes pinned now."""
        with self._lock:
            return frozenset().union(*self._pins.values())

    # -- size -------------------------------------------------------------------------------

    def usage(self) -> CacheUsage:
        entries = self._entries()
        return CacheUsage(sum(1 for e in entries.values() if e.is_object),
                          sum(e.size for e in entries.values()))

    def added(self, size: int, keep: str) -> None:
        """A file of `size` bytes was just written; prune if the cache is now over its limit.
        `keep` (the content hash of the file just made, not yet handed out) is never evicted."""
        with self._lock:
            if self._estimate is None:
                self._estimate = sum(e.size for e in self._entries().values())
            else:
                self._estimate += size
            over = self._estimate > self.limit_mb * MB
        if over:
            self.prune(keep=keep, share=AFTER_DOWNLOAD_SHARE)

    def prune(self, limit_mb: int | None = None, keep: str | None = None,
              share: float = 1.0) -> CacheUsage:
        """Delete the least recently used entries not in use until the cache fits `share` of
        `limit_mb` (default: its limit); returns what was removed."""
        limit = (self.limit_mb if limit_mb is None else check_cache_limit_mb(limit_mb)) * MB * share
        protected = self.in_use() | {keep}
        entries = self._entries()
        total = sum(e.size for e in entries.values())
        removed_images = removed_bytes = 0
        for content_hash, entry in sorted(entries.items(), key=lambda item: item[1].used_at):
            if total <= limit:
                break
            if content_hash in protected:
                continue
            for path in entry.files:
                try:
                    path.unlink()
                except FileNotFoundError:  # another process pruned it first
                    pass
            total -= entry.size
            removed_images += entry.is_object
            removed_bytes += entry.size
        with self._lock:
            self._estimate = total
        return CacheUsage(removed_images, removed_bytes)

    def _entries(self) -> dict[str, _Entry]:
        entries: dict[str, _Entry] = {}
        for directory, pattern, separator in ((self.objects_dir, "??/*", "."),
                                              (self.thumbs_dir, "*", "_")):
            for path in directory.glob(pattern):
                if path.name.startswith("."):  # a file being written (temporary name)
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                content_hash = path.name.split(separator)[0]
                entry = entries.setdefault(content_hash, _Entry([]))
                entry.is_object |= directory == self.objects_dir
                entry.files.append(path)
                entry.size += stat.st_size
                entry.used_at = max(entry.used_at, stat.st_mtime)
        return entries


def touch(path: Path) -> None:
    """Mark `path` as just used (its modification time is the cache's recency)."""
    try:
        os.utime(path)
    except OSError:
        pass
