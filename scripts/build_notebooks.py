"""Build notebooks/NN_name.ipynb from their sources notebooks/src/NN_name.py (percent format).

    python scripts/build_notebooks.py [NAMES...]            # sources -> .ipynb (no outputs)
    python scripts/build_notebooks.py --execute [NAMES...]  # ... then run them in fast mode
    python scripts/build_notebooks.py --text NAMES...        # only the prose of published notebooks

A source is plain Python in percent format (``srlib.notebooks.cells_from_source``). The .ipynb
files are generated: edit the sources. ``make notebooks`` builds and then executes them in fast
mode; the committed notebooks show the full run instead:
``SRLIB_MODE=full python -m srlib.notebooks NAME --publish`` runs one in full mode and copies it
into ``notebooks/`` (refusing when its code differs from the source).
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from srlib.notebooks import cells_from_source, execute, update_text

ROOT = Path(__file__).resolve().parent.parent


def build(source_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells_from_source(source_path.read_text()))
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"  # stable ids: no churn in diffs
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}
    target = ROOT / "notebooks" / f"{source_path.stem}.ipynb"
    nbformat.write(notebook, target)
    return target


if __name__ == "__main__":
    arguments = sys.argv[1:]
    run = "--execute" in arguments
    names = [a for a in arguments if not a.startswith("--")]
    if "--text" in arguments:  # a published full run keeps its code and outputs; only its prose changes
        for name in names:
            print(f"notebooks/{name}.ipynb: text cells {update_text(name)} rewritten from notebooks/src/{name}.py")
        sys.exit(0)
    for source in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        if not names or source.stem in names:
            target = build(source)
            if run:
                print(f"{target}: executed in fast mode in {execute(target, mode='fast'):.0f} s")
            else:
                print(target)
