"""The live widget UI: a view per job (`JobView`) and the prompt form (`ImaginePanel`).

Pure ipywidgets; rules and reasons in ../shared/design/widget-ui.md. Imported only when a widget
frontend is live, never at `%load_ext`.
"""
from .context import UiContext
from .panel import ImaginePanel
from .view import JobView

__all__ = ["ImaginePanel", "JobView", "UiContext"]
