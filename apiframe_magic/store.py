"""History of submitted tasks, on disk, so that nothing submitted is ever lost.

A task is written here *before* its submit request goes out (state ``submitting``) and updated as
soon as the answer arrives, so a crash, a kernel restart or a network fault leaves either a task id
to resume or a row that says "this submit may have created a task". Nothing in here resubmits.

Storage: one SQLite file (standard library ``sqlite3``) under ``settings.data_dir()``.

- Several processes (two kernels) may write at once: WAL journal, ``busy_timeout`` of 10 s, one
  short ``BEGIN IMMEDIATE`` transaction per write, ``synchronous=FULL`` so a committed row survives
  a power cut as well as a crash.
- Several threads of one process (the poller and the main thread) share one connection opened
  with ``check_same_thread=False`` and serialised by a lock. The writes are tiny, so one connection
  costs nothing in throughput and can be closed deterministically; SQLite's own file locking keeps
  the processes apart. After a ``fork`` the child opens its own connection.
- The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` holds one step per version.

States (``JobRecord.state``)::

    queued --(claim_queued)--> submitting --> active --> finished | failed
      |                          |           |  \\--> timed_out | cancelled --(mark_resumed)--> active
      +--> cancelled             |           |                (both resumable: the service has no cancel)
      (never sent, nothing paid) +--> rejected            (the service certainly did not create the task)
                                 +--> uncertain           (it may have; never resubmitted automatically)

A ``queued`` row is a job a user asked for that has not been sent (and not paid): the in-flight
limit held it back, or the process ended first. Claiming it (``queued`` -> ``submitting``) is one
conditional UPDATE, so two processes can never both send it.

Rows left in ``submitting`` by a process that died are reported as ``uncertain`` when a store is
opened (see :meth:`HistoryStore.reclaim_interrupted_submits`): only rows whose writing process is
gone (same host, pid no longer alive) or which are older than :data:`STALE_SUBMIT_SECONDS`, so a
submit that another live kernel is making right now is never touched.

Secrets: keys that look like credentials (``api_key``, ``authorization``, ``webhook_secret``, …) are
removed from payloads and params before they are stored, and the value of ``APIFRAME_API_KEY`` is
redacted from every text written (also repr-, JSON- and URL-escaped), as a second line of defence.
"""
from __future__ import annotations

import errno
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import ApiframeError
from .models import Task
from .redaction import redact as _redact  # any known key, in any escaped spelling
from .settings import data_dir

DB_FILENAME = "history.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
STALE_SUBMIT_SECONDS = 300.0
SCHEMA_VERSION = 3

QUEUED = "queued"
SUBMITTING = "submitting"
ACTIVE = "active"
REJECTED = "rejected"
UNCERTAIN = "uncertain"
FINISHED = "finished"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"

ALL_STATES = frozenset({QUEUED, SUBMITTING, ACTIVE, REJECTED, UNCERTAIN, FINISHED, FAILED, TIMED_OUT,
                        CANCELLED})
TERMINAL_STATES = frozenset({FINISHED, FAILED, REJECTED})
RESUMABLE_STATES = frozenset({ACTIVE, TIMED_OUT, CANCELLED})
IN_DOUBT_STATES = frozenset({SUBMITTING, UNCERTAIN})

_SECRET_KEY = re.compile(r"api_?key|authori[sz]ation|secret|password|token|bearer")


class StoreError(ApiframeError):
    """The history file cannot be opened or written, or a job id is unknown."""


class JobNotFoundError(StoreError):
    """No job with this id in the history."""


# --------------------------------------------------------------------------------------------
# Locations


class DataDirError(StoreError):
    """The data directory (history, image cache) cannot be created or written."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path`, and each missing parent, readable by its owner only (0o700) from the
    moment it exists (``mkdir(parents=True)`` would make the parents with the umask's 0o755).
    An existing directory is left as it is. DataDirError names APIFRAME_MAGIC_HOME if it fails."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.is_dir() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                if not directory.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory, a file is in the way",
                                             str(directory)) from None
    except OSError as exc:
        raise DataDirError(unwritable_data_dir_message(path, exc)) from None
    return path


def unwritable_data_dir_message(path: Path, exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc)
    where = getattr(exc, "filename", None) or path
    return (f"Cannot use {path} for apiframe-magic's data ({reason}: {where}). Set "
            "APIFRAME_MAGIC_HOME to a directory you can write to, e.g. "
            "`export APIFRAME_MAGIC_HOME=/tmp/apiframe_magic`.")


def default_db_path() -> Path:
    return data_dir() / DB_FILENAME


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class JobRecord:
    """One row of the history, as read. JSON columns are parsed on first access only, so listing
    ten thousand jobs does not parse ten thousand result documents nobody looks at."""

    job_id: str
    task_id: str | None
    kind: str
    state: str
    status: str | None
    percentage: int | None
    prompt: str | None
    parent_job_id: str | None
    error: str | None
    sref: str | None
    original_image_url: str | None
    image_url: str | None
    seed: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    pid: int | None
    host: str | None
    payload_json: str = field(default="{}", repr=False)
    params_json: str | None = field(default=None, repr=False)
    result_json: str | None = field(default=None, repr=False)
    image_urls_json: str | None = field(default=None, repr=False)
    content_json: str | None = field(default=None, repr=False)
    sent_at: float | None = None     # when a queued job was claimed for sending (else created_at)

    @classmethod
    def _from_row(cls, row: tuple) -> "JobRecord":
        """Build from a SELECT of _COLUMNS without the frozen __init__'s per-field setattr calls;
        listing 10,000 jobs gets about 20% faster (benchmarks/bench_store.py)."""
        record = object.__new__(cls)
        record.__dict__.update(zip(_COLUMNS, row))
        return record

    @cached_property
    def payload(self) -> dict:
        """The request body as sent, minus secrets."""
        return json.loads(self.payload_json)

    @cached_property
    def params(self) -> dict:
        """Parsed prompt parameters, as the caller handed them to `record_submitting`."""
        return json.loads(self.params_json) if self.params_json else {}

    @cached_property
    def result(self) -> dict | None:
        """The raw finished (or failed) task object as the service sent it."""
        return json.loads(self.result_json) if self.result_json else None

    @cached_property
    def image_urls(self) -> tuple[str, ...]:
        return tuple(json.loads(self.image_urls_json)) if self.image_urls_json else ()

    @cached_property
    def content(self) -> tuple[str, ...] | None:
        """Text results (describe, shorten prompts)."""
        return tuple(json.loads(self.content_json)) if self.content_json else None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def is_resumable(self) -> bool:
        return self.state in RESUMABLE_STATES and self.task_id is not None

    @property
    def is_queued(self) -> bool:
        """Asked for, never sent, nothing paid: `resume(send_queued=True)` sends it."""
        return self.state == QUEUED

    @property
    def is_in_doubt(self) -> bool:
        """The submit may or may not have created (and charged for) a task."""
        return self.state in IN_DOUBT_STATES


_COLUMNS = tuple(JobRecord.__dataclass_fields__)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


# --------------------------------------------------------------------------------------------
# Schema


MIGRATIONS: dict[int, str] = {
    1: """
        CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            task_id TEXT UNIQUE,
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            status TEXT,
            percentage INTEGER,
            prompt TEXT,
            parent_job_id TEXT,
            error TEXT,
            sref TEXT,
            original_image_url TEXT,
            image_url TEXT,
            seed TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            finished_at REAL,
            pid INTEGER,
            host TEXT,
            payload_json TEXT NOT NULL,
            params_json TEXT,
            result_json TEXT,
            image_urls_json TEXT,
            content_json TEXT
        );
        CREATE INDEX jobs_by_state ON jobs (state);
        CREATE INDEX jobs_by_created ON jobs (created_at);
        CREATE TABLE images (
            job_id TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
            image_index TEXT NOT NULL,
            url TEXT,
            path TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            PRIMARY KEY (job_id, image_index)
        );
    """,
    # Names people give to style codes (styles.py); IF NOT EXISTS so the step can be renumbered.
    2: """
        CREATE TABLE IF NOT EXISTS style_names (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            named_at REAL NOT NULL
        );
    """,
    3: "ALTER TABLE jobs ADD COLUMN sent_at REAL",
}


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION; the check runs inside the write lock, so two processes
    opening a fresh file at once do not both create the tables."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"The history file was written by a newer apiframe_magic (schema "
                             f"{version}, this one knows {SCHEMA_VERSION}). Upgrade the package.")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# --------------------------------------------------------------------------------------------
# Secrets and JSON


def strip_secrets(value: Any) -> Any:
    """A copy of `value` without any mapping key that names a credential (at any depth)."""
    if isinstance(value, dict):
        return {key: strip_secrets(item) for key, item in value.items()
                if not _SECRET_KEY.search(str(key).lower().replace("-", "_"))}
    if isinstance(value, (list, tuple)):
        return [strip_secrets(item) for item in value]
    return value


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return _redact(json.dumps(strip_secrets(value), ensure_ascii=False, default=str))


def _as_int(value: Any) -> int | None:
    """The service sends percentage as a string ("40"); keep an int or nothing."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_text_list(value: Any) -> str | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return None
    return json.dumps([str(item) for item in value], ensure_ascii=False)


def _index_key(index: str | int) -> str:
    return str(index).strip().lower()


def _index_value(key: str) -> str | int:
    return int(key) if key.isdigit() else key


# --------------------------------------------------------------------------------------------
# Liveness of the process that wrote a `submitting` row


def _pid_is_alive(pid: int) -> bool:
    """True when a process with this pid exists (or when we cannot tell)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would signal the process on Windows; rely on age alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists but belongs to someone else
    return True


def _submit_was_interrupted(record_pid: int | None, record_host: str | None, created_at: float,
                            now: float) -> bool:
    """Whether a `submitting` row can no longer be completed by the process that wrote it."""
    if now - created_at > STALE_SUBMIT_SECONDS:
        return True
    if record_pid is None or record_host != socket.gethostname() or record_pid == os.getpid():
        return False
    return not _pid_is_alive(record_pid)


def held_by_another_process(record: "JobRecord") -> bool:
    """Whether a live process on this host other than this one wrote `record` (it may still send
    a queued job itself; claiming is atomic either way, so this only avoids surprises)."""
    return (record.pid is not None and record.pid != os.getpid()
            and record.host == socket.gethostname() and _pid_is_alive(record.pid))


# --------------------------------------------------------------------------------------------
# The store


class HistoryStore:
    """The job history. Thread-safe; safe to share one file between processes."""

    def __init__(self, path: str | os.PathLike | None = None, *, durable: bool = True):
        """Open (and create or migrate) the history at `path`, default ``data_dir()/history.sqlite3``.

        `durable=False` relaxes fsync to ``synchronous=NORMAL`` (still crash-safe, may lose the
        last commits on power loss); for bulk tools and benchmarks only.
        """
        self.path = Path(path) if path is not None else default_db_path()
        self._synchronous = "FULL" if durable else "NORMAL"
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = -1
        self._connection()
        self.reclaim_interrupted_submits()

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """The process's connection; reopened in a forked child, which must not share it."""
        if self._conn is None or self._conn_pid != os.getpid():
            self._conn = self._open()
            self._conn_pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        ensure_private_dir(self.path.parent)
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn)
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.OperationalError) and not os.access(self.path.parent,
                                                                           os.W_OK):
                raise DataDirError(unwritable_data_dir_message(self.path.parent, exc)) from None
            raise StoreError(f"Cannot open the job history at {self.path}: {exc}") from exc
        self._restrict_file_modes()
        return conn

    def _restrict_file_modes(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.chmod(f"{self.path}{suffix}", 0o600)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, holding the database's write lock from its first line.
        Constraint violations pass through for the caller to explain; other SQLite errors
        (busy beyond the timeout, disk full) become StoreError."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise StoreError(f"Cannot write the job history at {self.path}: {exc}") from exc
                raise

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot read the job history at {self.path}: {exc}") from exc

    def _update(self, job_id: str, assignments: dict[str, Any], *, from_states: Iterable[str],
                ) -> bool:
        """Set columns of one job if it is in one of `from_states`; False if it is not."""
        assignments = {**assignments, "updated_at": time.time()}
        columns = ", ".join(f"{name} = ?" for name in assignments)
        states = tuple(from_states)
        marks = ", ".join("?" * len(states))
        with self._write() as conn:
            changed = conn.execute(
                f"UPDATE jobs SET {columns} WHERE job_id = ? AND state IN ({marks})",
                (*assignments.values(), job_id, *states)).rowcount
            if not changed and conn.execute("SELECT 1 FROM jobs WHERE job_id = ?",
                                            (job_id,)).fetchone() is None:
                raise JobNotFoundError(f"No job {job_id!r} in the history at {self.path}.")
        return bool(changed)

    # -- the submit protocol ------------------------------------------------------------------

    def record_submitting(self, kind: str, payload: dict, *, parent_job_id: str | None = None,
                          prompt: str | None = None, params: dict | None = None) -> str:
        """Write the intent to submit, before the POST; returns the new local job id."""
        return self._insert(SUBMITTING, [(kind, payload, parent_job_id, prompt, params)])[0]

    def record_queued(self, kind: str, payload: dict, *, parent_job_id: str | None = None,
                      prompt: str | None = None, params: dict | None = None) -> str:
        """Write a job the user asked for that is not sent yet (nothing paid); returns its job id.
        `claim_queued` turns it into a submit."""
        return self._insert(QUEUED, [(kind, payload, parent_job_id, prompt, params)])[0]

    def record_queued_many(self, jobs: Iterable[tuple]) -> list[str]:
        """`record_queued` for many jobs in one transaction (all or none): a permutation run of 40
        jobs costs one fsync, not 40. Each item: (kind, payload, parent_job_id, prompt, params)."""
        return self._insert(QUEUED, list(jobs))

    def _insert(self, state: str, jobs: list[tuple]) -> list[str]:
        now = time.time()
        rows = [{
            "job_id": uuid.uuid4().hex, "kind": kind, "state": state, "prompt": _redact(prompt),
            "parent_job_id": parent_job_id, "created_at": now, "updated_at": now,
            "pid": os.getpid(), "host": socket.gethostname(),
            "payload_json": _dump(payload or {}), "params_json": _dump(params),
        } for kind, payload, parent_job_id, prompt, params in jobs]
        if not rows:
            return []
        columns = ", ".join(rows[0])
        with self._write() as conn:
            conn.executemany(f"INSERT INTO jobs ({columns}) VALUES ({', '.join('?' * len(rows[0]))})",
                             [tuple(row.values()) for row in rows])
        return [row["job_id"] for row in rows]

    def claim_queued(self, job_id: str, *, payload: dict | None = None,
                     prompt: str | None = None) -> bool:
        """Take a queued job for sending (queued -> submitting), as this process. False when it is
        no longer queued (another process sent or cancelled it): then it must not be sent.

        `payload` and `prompt`, when given, replace the recorded ones in the same update: a
        follow-up recorded before its parent finished is sent with its parent's task id (a
        describe's suggestion with its prompt), and the history keeps what was really sent."""
        final = {"payload_json": _dump(payload)} if payload is not None else {}
        if prompt is not None:
            final["prompt"] = _redact(prompt)
        return self._update(job_id, {"state": SUBMITTING, "pid": os.getpid(),
                                     "host": socket.gethostname(), "sent_at": time.time(),
                                     **final},
                            from_states=(QUEUED,))

    def mark_submitted(self, job_id: str, task_id: str) -> bool:
        """The service answered with a task id: the job is live. Also accepted for an uncertain
        job, when the user finds its task id after all."""
        try:
            return self._update(job_id, {"task_id": str(task_id), "state": ACTIVE, "error": None},
                                from_states=(SUBMITTING, UNCERTAIN))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"Task {task_id} is already recorded for another job.") from exc

    def mark_rejected(self, job_id: str, error: str) -> bool:
        """The service certainly did not create the task (400, 401, connection refused...)."""
        return self._update(job_id, {"state": REJECTED, "error": _redact(error),
                                     "finished_at": time.time()},
                            from_states=(SUBMITTING, UNCERTAIN))

    def mark_uncertain(self, job_id: str, error: str) -> bool:
        """The submit failed ambiguously (read timeout, 5xx, crash): a task may exist."""
        return self._update(job_id, {"state": UNCERTAIN, "error": _redact(error)},
                            from_states=(SUBMITTING,))

    # -- progress and outcome -----------------------------------------------------------------

    def update_progress(self, job_id: str, status: str | None, percentage: Any = None) -> bool:
        """Latest status and percentage from a poll. Ignored (False) once the job is terminal or
        in doubt; never changes the state."""
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE jobs SET status = ?, percentage = ?, updated_at = ? "
                "WHERE job_id = ? AND state IN (?, ?, ?)",
                (_redact(_as_text(status)), _as_int(percentage), time.time(), job_id,
                 *sorted(RESUMABLE_STATES))).rowcount
        return bool(changed)

    def mark_finished(self, job_id: str, result: dict) -> bool:
        """Keep the finished task object and the fields the UI needs without parsing it.

        The fields are read by `models.Task`, the one tolerant reader of task objects."""
        result = dict(result or {})
        task = Task.from_dict({"task_id": job_id, **result})
        columns = {  # the service's text, redacted: a hostile one may echo the key anywhere
            "state": FINISHED, "status": _redact(_as_text(result.get("status"))) or FINISHED,
            "percentage": 100 if task.percentage is None else task.percentage,
            "error": None, "result_json": _dump(result), "sref": _redact(task.sref),
            "original_image_url": _redact(task.original_image_url),
            "image_urls_json": _redact(_as_text_list(task.image_urls or None)),
            "image_url": _redact(task.image_url),
            "content_json": _redact(_as_text_list(task.content)),
            "seed": _redact(task.seed), "finished_at": time.time(),
        }
        return self._update(job_id, columns, from_states=ALL_STATES - TERMINAL_STATES)

    def mark_failed(self, job_id: str, error: str, result: dict | None = None) -> bool:
        """The task ended with status failed (or the job cannot go on)."""
        columns = {"state": FAILED, "error": _redact(error), "finished_at": time.time()}
        if result is not None:
            columns.update(result_json=_dump(result), status=_as_text(result.get("status")))
        return self._update(job_id, columns, from_states=ALL_STATES - TERMINAL_STATES)

    def mark_timed_out(self, job_id: str) -> bool:
        """The local deadline passed; the task may still finish and can be resumed."""
        return self._update(job_id, {"state": TIMED_OUT}, from_states=(ACTIVE,))

    def mark_cancelled(self, job_id: str) -> bool:
        """The user stopped tracking; the service has no cancel, so the task stays resumable.
        A queued job cancelled this way was never sent: it stays cancelled, with nothing to
        resume."""
        return self._update(job_id, {"state": CANCELLED}, from_states=(ACTIVE, TIMED_OUT, QUEUED))

    def mark_resumed(self, job_id: str) -> bool:
        """Tracking starts again for a timed-out or cancelled job."""
        return self._update(job_id, {"state": ACTIVE}, from_states=(TIMED_OUT, CANCELLED))

    def reclaim_interrupted_submits(self) -> list[str]:
        """Turn `submitting` rows whose process died (or which are older than
        STALE_SUBMIT_SECONDS) into `uncertain`; returns their job ids."""
        now = time.time()
        candidates = self._read("SELECT job_id, pid, host, coalesce(sent_at, created_at) FROM jobs "
                                "WHERE state = ?", (SUBMITTING,))
        interrupted = [job_id for job_id, pid, host, created_at in candidates
                       if _submit_was_interrupted(pid, host, created_at, now)]
        for job_id in interrupted:
            self._update(job_id, {"state": UNCERTAIN,
                                  "error": "The process submitting this task stopped before the "
                                           "service answered; a task may have been created."},
                         from_states=(SUBMITTING,))
        return interrupted

    # -- images -------------------------------------------------------------------------------

    def record_image(self, job_id: str, index: str | int, url: str | None,
                     path: str | os.PathLike) -> None:
        """Where a downloaded image of this job lives on disk (index: "grid", 1..4, "upscale")."""
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO images (job_id, image_index, url, path, recorded_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (job_id, _index_key(index), _redact(url), os.fspath(path), time.time()))
        except sqlite3.IntegrityError as exc:
            raise JobNotFoundError(f"No job {job_id!r} in the history at {self.path}.") from exc

    def images(self, job_id: str) -> dict[str | int, Path]:
        """Local files of a job by index (1..4 as ints), grid first, then 1..4, then the rest."""
        rows = self._read("SELECT image_index, path FROM images WHERE job_id = ?", (job_id,))
        order = {"grid": 0, "1": 1, "2": 2, "3": 3, "4": 4}
        rows.sort(key=lambda row: (order.get(row[0], 9), row[0]))
        return {_index_value(key): Path(path) for key, path in rows}

    # -- style names (see styles.py) ----------------------------------------------------------

    def style_names(self) -> dict[str, str]:
        """Every named style: code -> name."""
        return dict(self._read("SELECT code, name FROM style_names ORDER BY name"))

    def set_style_name(self, code: str, name: str) -> str | None:
        """Give `code` the name `name` (replacing its old name). When another code already holds
        `name`, nothing is written and that code is returned; else None. One transaction, so two
        kernels naming at once cannot both take a name."""
        with self._write() as conn:
            holder = conn.execute("SELECT code FROM style_names WHERE name = ?",
                                  (name,)).fetchone()
            if holder is not None and holder[0] != code:
                return holder[0]
            conn.execute("INSERT OR REPLACE INTO style_names (code, name, named_at) "
                         "VALUES (?, ?, ?)", (code, name, time.time()))
        return None

    def remove_style_name(self, code: str) -> bool:
        """Forget the name of `code`; False when it had none."""
        with self._write() as conn:
            return bool(conn.execute("DELETE FROM style_names WHERE code = ?", (code,)).rowcount)

    # -- queries ------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord | None:
        rows = self._read(f"{_SELECT} WHERE job_id = ?", (job_id,))
        return JobRecord._from_row(rows[0]) if rows else None

    def by_task_id(self, task_id: str) -> JobRecord | None:
        rows = self._read(f"{_SELECT} WHERE task_id = ?", (str(task_id),))
        return JobRecord._from_row(rows[0]) if rows else None

    def list(self, limit: int | None = None, states: Iterable[str] | None = None,
             newest_first: bool = True) -> list[JobRecord]:
        """Jobs in creation order (newest first by default), optionally only in `states`."""
        sql, args = _SELECT, []
        if states is not None:
            states = tuple(states)
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            args.extend(states)
        direction = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY created_at {direction}, rowid {direction}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [JobRecord._from_row(row) for row in self._read(sql, args)]

    def resumable(self) -> list[JobRecord]:
        """Jobs with a task id the poller can pick up again (active, timed out, cancelled)."""
        return [record for record in self.list(states=RESUMABLE_STATES, newest_first=False)
                if record.task_id is not None]

    def in_doubt(self) -> list[JobRecord]:
        """Submits that may have created a task we have no id for: tell the user to check the
        APIFRAME dashboard; never resubmit them automatically."""
        self.reclaim_interrupted_submits()
        return self.list(states=IN_DOUBT_STATES, newest_first=False)

    def queued(self) -> list[JobRecord]:
        """Jobs asked for but never sent, oldest first (`JobRecord.pid` says which process
        queued them; `resume(send_queued=True)` sends them)."""
        return self.list(states=(QUEUED,), newest_first=False)

    def unfinished(self) -> list[JobRecord]:
        """Everything not terminal: resumable jobs, queued (unsent) jobs, then jobs in doubt."""
        return self.resumable() + self.queued() + self.in_doubt()

    def count(self) -> int:
        return self._read("SELECT count(*) FROM jobs")[0][0]
