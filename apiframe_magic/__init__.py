"""apiframe_magic: Midjourney in Jupyter through APIFRAME's v1 API.

`%load_ext apiframe_magic` registers the `%%imagine` magic. The client, the prompt parser and the
simulator import nothing from IPython and work from plain scripts too.
"""
from __future__ import annotations

from .errors import (
    ApiConnectionError,
    ApiframeError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidArgumentError,
    InvalidResponseError,
    JobCancelledError,
    JobTimeoutError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotFoundError,
)

__version__ = "0.1.0"

__all__ = [
    "ApiframeClient", "parse_prompt", "expand_permutations", "PromptError", "Prompt",
    "ApiframeError", "AuthenticationError", "BadRequestError", "RateLimitError", "ServerError",
    "InvalidResponseError", "ApiConnectionError", "ApiTimeoutError", "TaskFailedError",
    "TaskNotFoundError", "JobTimeoutError", "JobCancelledError", "InvalidArgumentError",
    "validate", "Job", "JobManager",
]

_LAZY = {
    "ApiframeClient": ("client", "ApiframeClient"),
    "parse_prompt": ("prompt", "parse_prompt"),
    "expand_permutations": ("prompt", "expand_permutations"),
    "PromptError": ("prompt", "PromptError"),
    "Prompt": ("prompt", "Prompt"),
    "validate": ("prompt", "validate"),
    "Job": ("jobs", "Job"),
    "JobManager": ("jobs", "JobManager"),
}


def __getattr__(name):
    """Import submodules on first use so `import apiframe_magic` stays cheap."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(name)


def load_ipython_extension(ipython) -> None:
    """`%load_ext apiframe_magic`: register %%imagine / %imagine; nothing starts until first use."""
    from . import presenting
    from .ipython.magic import Imagine

    if "Imagine" in ipython.magics_manager.registry:
        return
    magics = Imagine(ipython)
    ipython.register_magics(magics)
    magics.presenter.install()
    presenting.register(magics.presenter)


def unload_ipython_extension(ipython) -> None:
    """`%unload_ext apiframe_magic`: stop the poller and the simulator; the history stays."""
    from . import presenting

    magics = ipython.magics_manager.registry.pop("Imagine", None)
    if magics is None:
        return
    magics.presenter.uninstall()
    magics.close()
    presenting.unregister(magics.presenter)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("imagine", None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
