"""Public import path of the magics (`apiframe_magic.magic`); they live in `apiframe_magic.ipython`."""
from .ipython.magic import Imagine

__all__ = ["Imagine"]
