"""The presenter in charge of showing jobs: registered by the face that is loaded, asked by the engine.

The engine must not import the faces above it, yet `job.show()`, a job's `_repr_mimebundle_`, and
`job.save()` / `job.prompts` waiting with progress all need one. The IPython face registers its
presenter here at `%load_ext` and removes it at unload; with none registered, jobs fall back to a
plain text form and wait silently. A presenter offers:

- `bundle(jobs, *, group=False, matrix=None)` -> (data, metadata): the static form;
- `present(jobs, *, group=False, matrix=None)`: show them (live, static or as text);
- `wait(jobs)` -> bool: block with progress until they ended and their images are on disk;
  False when the user stopped the waiting (Ctrl-C), never stopping the jobs.

A leaf: it imports nothing, so the engine and every face may use it.
"""

_current = None


def register(presenter) -> None:
    """Make `presenter` the one jobs ask from now on."""
    global _current
    _current = presenter


def unregister(presenter) -> None:
    """Forget `presenter` if it is the current one (a later registration stays)."""
    global _current
    if _current is presenter:
        _current = None


def current():
    """The registered presenter, or None."""
    return _current
