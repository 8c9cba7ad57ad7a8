"""The IPython face: `%load_ext apiframe_magic` and everything a notebook or a terminal IPython sees.

- `grammar.py`: what a `%%imagine` / `%imagine` line may say (options, the subcommand table,
  `{{var}}` expansion, version labels); imports neither of the two below.
- `magic.py`: the `Imagine` magics class, its configuration, and the runtime it switches.
- `commands.py`: what each form does (run a prompt, every subcommand).
- `presenter.py`: showing jobs as live views, static twins or text; waiting with a progress line.
- `waiting.py`: waiting for what a running job will have (`{{job.sref}}`, `show`, `save`).
- `frontend.py`: which frontend runs the kernel; `keys.py`: where the API key comes from.

Nothing below this folder imports it: the engine, the static forms and the widgets work without
IPython's magic machinery.
"""
