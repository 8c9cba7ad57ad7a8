"""Showing jobs in whatever is running the kernel: live views, static twins, or text.

- Where widgets render (JupyterLab, Notebook 7, VS Code): a live `JobView` per job, then the twin.
- Everywhere else in a kernel (nbclient, papermill, Colab): the twin only.
- A terminal IPython: a progress line while waiting, then the local paths.

The twin is one output per run, shown with `display_id` the moment the cell runs and updated in
place from the job callbacks (`DisplayHandle.update` is routed by id, so it lands in the right
cell from any thread). Nothing here prints or displays from a thread.

`%load_ext` registers the magics' `Presenter` in `presenting`: that is how `job.show()`, a job's
`_repr_mimebundle_` and `job.save()` / `job.prompts` waiting with progress reach it.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable

from ..errors import StoppedWaiting
from ..static import render
from ..words import progress_line
from . import frontend


class Twin:
    """The static output of one run: one job, several as a contact sheet, or a matrix."""

    def __init__(self, jobs, *, group: bool, max_side: int, matrix=None):
        from IPython.display import display

        self.jobs, self.group, self.max_side, self.matrix = list(jobs), group, max_side, matrix
        self._lock = threading.Lock()
        self._key = None
        data, metadata = self._bundle()
        self.handle = display(data, metadata=metadata, raw=True, display_id=True)
        for job in self.jobs:
            job.on_progress(self._changed)
            job.on_failed(self._changed)
            job.on_images(self._changed)

    def add(self, job) -> None:
        """Take in a follow-up started from a button: the twin becomes a sheet of the tree."""
        with self._lock:
            self.jobs.append(job)
            self.group = True
        job.on_progress(self._changed)
        job.on_failed(self._changed)
        job.on_images(self._changed)
        self.refresh()

    def _bundle(self):
        return render.bundle(self.jobs, group=self.group, matrix=self.matrix,
                             max_side=self.max_side)

    def _state_key(self):
        if self.matrix is not None:  # the composite shows results only: skip progress ticks
            return tuple((job.state, tuple(job.image_paths or ())) for job in self.jobs)
        return tuple((job.state, job.status, job.percentage, getattr(job, "notice", None),
                      tuple(job.image_paths or ())) for job in self.jobs)

    def _changed(self, _job=None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Render and send the current state, unless it is what was sent last."""
        with self._lock:
            key = self._state_key()
            if key == self._key:
                return
            data, metadata = self._bundle()
            self._key = key
            self.handle.update(data, metadata=metadata, raw=True)


# ------------------------------------------------------------------------------ the presenter


class Presenter:
    """Shows runs according to the frontend and the configuration; one per magics instance."""

    def __init__(self, shell, *, display_mode: Callable[[], str], twin_size: Callable[[], int],
                 ui_context: Callable[[], object] | None = None):
        self.shell = shell
        self._display_mode = display_mode
        self._twin_size = twin_size
        self._ui_context = ui_context
        self._just_shown: set[int] = set()
        self.frontend = frontend.detect(shell)

    @property
    def mode(self) -> str:
        """'widgets', 'static' or 'text': what this kernel can show, unless configured."""
        chosen = self._display_mode()
        if chosen != "auto":
            return chosen
        if self.frontend == frontend.TERMINAL:
            return "text"
        return "widgets" if frontend.shows_widgets(self.frontend) else "static"

    def show(self, jobs, *, group: bool = False, matrix=None) -> Twin | None:
        """Display the jobs of one run; the live views first, the static twin after them."""
        mode = self.mode
        if mode == "text":
            return None
        views = self._show_views(jobs, matrix) if mode == "widgets" and self._ui_context else []
        twin = Twin(jobs, group=group, max_side=self._twin_size(), matrix=matrix)
        for view in views:
            view.record_follow_up = twin.add
        return twin

    def _show_views(self, jobs, matrix) -> list:
        """Display the live views; returns the job views whose follow-ups the twin records."""
        from IPython.display import display

        from ..widgets import JobView
        from ..widgets.explore import DescribeView, MatrixView

        context = self._ui_context()
        if matrix is not None:
            display(MatrixView(matrix, jobs, context))
            return []
        views = [(DescribeView if job.kind == "describe" else JobView)(job, context)
                 for job in jobs]
        for view in views:
            display(view)
        return views

    def mark_shown(self, result) -> None:
        """The cell already shows `result`: the display hook must not show it a second time."""
        self._just_shown.add(id(result))

    def display_object(self, result) -> None:
        """IPython's display formatter for jobs and groups (see `install`)."""
        if id(result) in self._just_shown:
            self._just_shown.discard(id(result))
            return
        group = hasattr(result, "jobs")
        self.present(list(result) if group else [result], group=group,
                     matrix=getattr(result, "matrix", None))

    def present(self, jobs, *, group: bool = False, matrix=None) -> None:
        """Show jobs again: the caption in a terminal, else as `show` does."""
        if self.mode == "text":
            print(self.bundle(jobs, group=group, matrix=matrix)[0]["text/plain"])
        else:
            self.show(jobs, group=group, matrix=matrix)

    def bundle(self, jobs, *, group: bool = False, matrix=None):
        """(data, metadata) of the static form, for `_repr_mimebundle_`."""
        return render.bundle(jobs, group=group, matrix=matrix)

    def wait(self, jobs) -> bool:
        """Wait for jobs a value needs (`job.save()`, `job.prompts`), with a progress line in a
        terminal; False when Ctrl-C stopped the waiting."""
        return wait_for(jobs, None, text_progress=self.mode == "text")

    def forget_shown(self, *_args) -> None:
        self._just_shown.clear()

    def displayhook(self, result=None) -> None:
        """The shell's display hook, except for a result the cell already shows: that one only
        becomes `_` and `Out[N]`, so a terminal prints no bare `Out[N]:` prompt for it."""
        hook = self.shell.displayhook
        if result is None or id(result) not in self._just_shown:
            hook(result)
            return
        hook.check_for_underscore()
        hook.update_user_ns(result)
        hook.fill_exec_result(result)

    def install(self) -> None:
        """Register the display formatter by name, so jobs.py (and requests) load on first use."""
        formatter = self.shell.display_formatter.ipython_display_formatter
        for module, name in _RESULT_TYPES:
            formatter.for_type_by_name(module, name, self.display_object)
        self.shell.events.register("post_run_cell", self.forget_shown)
        self.shell.display_trap.hook = self.displayhook
        if not self.shell.custom_exceptions:   # never replace a handler someone else set
            self.shell.set_custom_exc((StoppedWaiting,), _stopped_waiting)

    def uninstall(self) -> None:
        formatter = self.shell.display_formatter.ipython_display_formatter
        for module, name in _RESULT_TYPES:
            formatter.deferred_printers.pop((module, name), None)
            cls = getattr(sys.modules.get(module), name, None)
            formatter.type_printers.pop(cls, None)
        try:
            self.shell.events.unregister("post_run_cell", self.forget_shown)
        except ValueError:
            pass
        if self.shell.display_trap.hook == self.displayhook:
            self.shell.display_trap.hook = self.shell.displayhook
        if self.shell.custom_exceptions == (StoppedWaiting,):
            self.shell.set_custom_exc((), None)


def _stopped_waiting(shell, etype, value, tb, tb_offset=None):
    """Ctrl-C stopped a job's value being waited for from Python (`job.save()`, `job.prompts`,
    `job.wait()`): its one line, as a UsageError is shown; no traceback, in any `%xmode`."""
    print(value, file=sys.stderr)


_RESULT_TYPES = (("apiframe_magic.jobs", "Job"), ("apiframe_magic.groups", "JobGroup"))


# ------------------------------------------------------------------------------ waiting


def wait_for(jobs, twin: Twin | None, *, text_progress: bool, stream=None) -> bool:
    """Block until every job has ended and its images are on disk; False if interrupted.

    Ctrl-C (a kernel interrupt) stops the waiting, never the jobs; the caller says so in one line
    (`errors.StoppedWaiting`). The twin gets its final state from this thread before the cell
    ends, so headless runs keep the final image.
    """
    stream = stream or sys.stdout
    last = None
    try:
        while True:
            pending = [job for job in jobs if not job.images_event.is_set()]
            if text_progress:
                line = progress_line(jobs, width=24)
                if line != last:
                    stream.write("\r" + line.ljust(len(last or "")))
                    stream.flush()
                    last = line
            if not pending:
                break
            pending[0].images_event.wait(0.1)
    except KeyboardInterrupt:
        if text_progress:
            stream.write("\n")
        return False
    finally:
        if twin is not None:
            twin.refresh()
    if text_progress:
        stream.write("\n")
    return True


