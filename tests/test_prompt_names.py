"""prompt/'s internal names: a name one of its modules imports from another is not
underscore-private, and code outside the package uses only what the package exports."""
from __future__ import annotations

import ast
from pathlib import Path

import apiframe_magic

PACKAGE = Path(apiframe_magic.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield node


def test_names_shared_between_prompt_modules_are_not_underscore_private():
    shared = {f"{path.name}: {alias.name}" for path in (PACKAGE / "prompt").glob("*.py")
              for node in _imports(path) if node.level == 1
              for alias in node.names if alias.name.startswith("_")}
    assert shared == set()


def test_the_rest_of_the_package_imports_no_private_prompt_name():
    private = {f"{path.relative_to(PACKAGE)}: {alias.name}"
               for path in PACKAGE.rglob("*.py") if path.parent.name != "prompt"
               for node in _imports(path) if "prompt" in (node.module or "")
               for alias in node.names if alias.name.startswith("_")}
    assert private == set()


def test_reduce_ratio_is_public():
    from apiframe_magic.prompt import reduce_ratio

    assert reduce_ratio(1920, 1080) == "16:9"
