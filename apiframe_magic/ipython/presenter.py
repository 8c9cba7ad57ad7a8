"""Showing jobs in whatever is running the kernel: live views, static twins, or text.

- Where widgets render (JupyterLab, Notebook 7, VS Code): a live `JobView` per job, then the twin.
- Everywhere else in a kernel (nbclient, papermill, Colab): the twin only.
- A terminal IPython: a progress line while waiting, then the local paths.

The twin is one output per run, shown with `display_id` the moment the cell runs and updated in
place from the job callbacks (`DisplayHandle.update` is routed by id, so it lands in the right
cell from any thread). Nothing here prints or displays from a thread.

`%load_ext` registers the magics' `Presenter` in `presenting`: that is how `job.show()`, a job's
`_repr_mimebundle_` and `job.save()` / `job.prompts` waiting with progress reach it.

A live view is shown with a `display_id` and a one-line `text/plain` of our own (not the widget's
repr, which nbconvert and GitHub would print). When the view closes, and for every view still open
when the kernel exits, its output is updated to an empty model id: JupyterLab and Notebook 7 then
hide it instead of saying "model not found" after a reopen, and the twin under it shows alone.
"""
from __future__ import annotations

import sys
import threading
from typing import Callable

from ..errors import Interrupted
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
        return static_bundle(self.jobs, group=self.group, matrix=self.matrix,
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


# ------------------------------------------------------------------------------ live outputs

VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def view_bundle(model_id: str, summary: str) -> dict:
    """A widget view's output: its model (an empty id hides it) and a line for everyone else."""
    return {"text/plain": summary,
            VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": model_id}}


class LiveOutputs:
    """The live views this kernel has shown, each with its display handle, so that a view that
    closes (or is open when the kernel exits) leaves an output that frontends hide."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[int, tuple[object, Callable[[], str]]] = {}

    def show(self, widget, summary: Callable[[], str]) -> None:
        """Display `widget` (main thread) with `summary()` as its text/plain; asked again when
        the view closes, when the task id it names is known."""
        from IPython.display import display

        from ..widgets.style import before_exit

        before_exit(self.empty_all)
        handle = display(view_bundle(widget.model_id, summary()), raw=True, display_id=True)
        with self._lock:
            self._open[id(widget)] = (handle, summary)
        widget.observe(self._closed, names="comm")

    def _closed(self, change) -> None:
        if change["new"] is None:
            self._empty(id(change["owner"]))

    def _empty(self, key: int) -> None:
        with self._lock:
            entry = self._open.pop(key, None)
        if entry is not None:
            handle, summary = entry
            handle.update(view_bundle("", summary()), raw=True)

    def empty_all(self) -> None:
        """At kernel exit: every view still open becomes an empty output."""
        with self._lock:
            keys = list(self._open)
        for key in keys:
            self._empty(key)


live_outputs = LiveOutputs()


def view_summary(jobs, *, matrix=None) -> str:
    """The one line that stands for a live view where it cannot render (nbconvert, GitHub)."""
    if matrix is not None:
        what = f"a permutation matrix of {len(jobs)} jobs"
    else:
        what = " ".join(filter(None, (jobs[0].kind, render.short_id(jobs[0].task_id))))
    return f"Live view of {what} (needs the running kernel); the result is below."


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
        from ..widgets import JobView
        from ..widgets.explore import SUGGESTION_KINDS, MatrixView, SuggestionsView

        context = self._ui_context()
        if matrix is not None:
            live_outputs.show(MatrixView(matrix, jobs, context),
                              lambda: view_summary(jobs, matrix=matrix))
            return []
        views = [(SuggestionsView if job.kind in SUGGESTION_KINDS else JobView)(job, context)
                 for job in jobs]
        for job, view in zip(jobs, views):
            live_outputs.show(view, lambda job=job: view_summary([job]))
        return views

    def show_styles(self, store, images) -> None:
        """`%imagine styles`: the live library where widgets render, then its static twin."""
        from IPython.display import display

        from ..styles import styles_bundle

        if self.mode == "widgets" and self._ui_context:
            from ..widgets.explore import StyleLibrary

            live_outputs.show(StyleLibrary(self._ui_context()), lambda: "Live view of the "
                              "style library (needs the running kernel); the table is below.")
        data, metadata = styles_bundle(store, images)
        data["text/html"] = (f'{render.STALE_VIEW_CSS}<div class="amj-twin amj-styles-twin">'
                             f'{data["text/html"]}</div>')
        display(data, metadata=metadata, raw=True)

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
        return static_bundle(jobs, group=group, matrix=matrix)

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
            self.shell.set_custom_exc((Interrupted,), _one_line_interrupt)

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
        if self.shell.custom_exceptions == (Interrupted,):
            self.shell.set_custom_exc((), None)


def _one_line_interrupt(shell, etype, value, tb, tb_offset=None):
    """Ctrl-C stopped a wait (`job.save()`, `job.prompts`, `job.wait()`) or a call to the service
    from Python: its one line, as a UsageError is shown; no traceback, in any `%xmode`."""
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


def static_bundle(jobs, *, group: bool = False, matrix=None,
                  max_side: int = render.DEFAULT_TWIN_SIZE) -> tuple[dict, dict]:
    """(data, metadata) of the static form of a run: one job, a group, or a permutation matrix
    (the twin, and `_repr_mimebundle_` through the registered presenter)."""
    if matrix is not None:
        from ..static.matrix import matrix_bundle  # Pillow: loaded when a matrix is first shown

        return matrix_bundle(matrix, jobs)
    if group:
        return render.group_bundle(jobs, max_side)
    return render.job_bundle(jobs[0], max_side)
