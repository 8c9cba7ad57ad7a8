"""The IPython face: the `%%imagine` / `%imagine` magics, their line grammar, the subcommands,
the presenter that shows jobs in a notebook, frontend detection and the key lookup.

Nothing below this folder imports it: the engine, the static forms and the widgets work without
IPython's magic machinery.
"""
