"""Only `jobs` sets a Job's private fields: the engine modules split out of the manager (sending,
follow-ups, recovery, downloads, the poller) and every face change a job through its public
fields or the manager. Read from the code with `ast`."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "apiframe_magic"


def private_fields_of_job() -> set[str]:
    tree = ast.parse((PACKAGE / "jobs.py").read_text())
    job = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Job")
    return {node.attr for node in ast.walk(job)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name) and node.value.id == "self"
            and node.attr.startswith("_")}


def writes_of(path: Path, fields: set[str]) -> list[str]:
    """Where `path` assigns, deletes or setattr()s one of `fields` on anything."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) \
                and node.attr in fields:
            found.append(f"{path.name}:{node.lineno} {node.attr}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in fields:
            found.append(f"{path.name}:{node.lineno} setattr {node.args[1].value}")
    return found


def test_the_job_has_private_fields_to_guard():
    assert "_callbacks" in private_fields_of_job()


def test_no_module_but_jobs_sets_a_private_field_of_a_job():
    fields = private_fields_of_job()
    writes = [write for path in sorted(PACKAGE.rglob("*.py")) if path.name != "jobs.py"
              or path.parent != PACKAGE for write in writes_of(path, fields)]
    assert writes == []
