"""Build notebooks/NN_name.ipynb from their sources notebooks/src/NN_name.py (percent format).

    python scripts/build_notebooks.py [NAMES...]            # sources -> .ipynb (no outputs)
    python scripts/build_notebooks.py --execute [NAMES...]  # ... then run them in fast mode

A source is plain Python: ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose
lines start with ``# ``, and ``# %% tags=["parameters"]`` tags a cell. The .ipynb files are
generated: edit the sources. ``make notebooks`` builds and then executes them in fast mode so
the committed notebooks show their outputs.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

from srlib.notebooks import execute

ROOT = Path(__file__).resolve().parent.parent
HEADER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(source: str) -> list:
    cells, kind, tags, lines = [], None, [], []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in text.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif kind == "code":
            cells.append(nbformat.v4.new_code_cell(text, metadata={"tags": tags} if tags else {}))

    for line in source.splitlines():
        match = HEADER.match(line)
        if match:
            if kind is not None:
                flush()
            kind = "markdown" if match.group("markdown") else "code"
            tags = json.loads(match.group("tags")) if match.group("tags") else []
            lines = []
        elif kind is not None:
            lines.append(line)
    if kind is not None:
        flush()
    return cells


def build(source_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=parse(source_path.read_text()))
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
    for source in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        if not names or source.stem in names:
            target = build(source)
            if run:
                print(f"{target}: executed in fast mode in {execute(target, mode='fast'):.0f} s")
            else:
                print(target)
