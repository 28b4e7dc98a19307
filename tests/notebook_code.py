"""The functions and classes a tutorial defines in its cells, loaded without running the notebook.

A tutorial writes its lesson's code from scratch in its cells; the library has the version other
tutorials and users import. The checks that the two agree live in the tests (not in the lesson):
:func:`definitions` reads the notebook's source with jupytext and executes only its imports and
its ``def``/``class`` statements and its upper-case settings (``MODE``, ``CONFIG``, constants
that defaults read), so a test can call them on tiny inputs.
"""
from __future__ import annotations

import ast
from types import SimpleNamespace

from course.paths import PROJECT_ROOT
from course.notebooks import read_source


def definitions(notebook: str, **names) -> SimpleNamespace:
    """The imports, functions and classes of ``notebooks/src/<notebook>.py``, as attributes.

    ``names`` are globals the definitions read when called (``CONFIG=...``), set before they are
    defined.
    """
    source = read_source((PROJECT_ROOT / "notebooks" / "src" / f"{notebook}.py").read_text())
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)

    def constant(node) -> bool:  # MODE = ..., GAUSSIAN_11 = ...: the notebook's settings, defaults read
        return (isinstance(node, ast.Assign) and all(isinstance(target, ast.Name) and target.id.isupper()
                                                     and target.id not in names for target in node.targets))

    namespace = {"__name__": f"notebook_{notebook}", **names}
    for cell in source.cells:
        for node in ast.parse(cell.source).body if cell.cell_type == "code" else []:
            if isinstance(node, kept) or constant(node):
                code = compile(ast.Module(body=[node], type_ignores=[]), f"notebooks/src/{notebook}.py", "exec")
                try:
                    exec(code, namespace)
                except Exception:  # a setting computed from the run's data (MARKERS = ...(photos)), or one
                    if not constant(node):  # the run mode has no budget for: left out; a function that
                        raise               # needs it fails when called
    return SimpleNamespace(**namespace)
