"""An in-process IPython shell for magic tests (jupysql's TestingShell pattern), with a display
publisher that records every output and update, as a notebook frontend would receive them."""
from __future__ import annotations

import base64

from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


class RecordingPublisher(DisplayPublisher):
    """Keeps outputs by display id the way a frontend does: an update replaces in place."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.messages: list[dict] = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                **kwargs):
        self.messages.append({"data": data, "metadata": metadata or {},
                              "display_id": (transient or {}).get("display_id"),
                              "update": update})

    def outputs(self) -> list[dict]:
        """The outputs as a notebook would save them (updates applied in place)."""
        shown: list[dict] = []
        for message in self.messages:
            if message["update"]:
                for output in shown:
                    if output["display_id"] == message["display_id"]:
                        output.update(data=message["data"], metadata=message["metadata"])
            else:
                shown.append(dict(message))
        return shown

    def images(self) -> list[bytes]:
        return [base64.b64decode(o["data"]["image/jpeg"]) for o in self.outputs()
                if "image/jpeg" in o["data"]]


class TestingShell(InteractiveShell):
    def run_cell(self, *args, **kwargs):
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result


class ZMQInteractiveShell(TestingShell):
    """Named as ipykernel's shell, so the extension sees a kernel: with `JPY_SESSION_NAME` in
    the environment, a live notebook (`frontend.detect`)."""


def make_shell(shell_class=TestingShell, **imagine_config) -> TestingShell:
    config = Config()
    config.HistoryAccessor.enabled = False
    for name, value in {"sim_speed": 200.0, **imagine_config}.items():
        setattr(config.Imagine, name, value)
    shell = shell_class(config=config)
    InteractiveShell._instance = shell   # IPython's display() goes to "the" shell
    shell.display_pub = RecordingPublisher(shell=shell)
    shell.extension_manager.load_extension("apiframe_magic")
    return shell


def magics_of(shell):
    return shell.magics_manager.registry["Imagine"]
