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
import os
import re
import sys
import time
from pathlib import Path

import nbformat

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


# TensorFlow's C++ logging writes these to the kernel's stderr before Python can silence it.
NOISE = re.compile(r"^(?:[IWE]\d{4} [\d:. ]+\d+ \S+:\d+\]|WARNING: All log messages before absl::InitializeLog)")


def clean_stream(text: str) -> str:
    """What a terminal would show: carriage returns resolved, framework log noise dropped."""
    lines = [line.rsplit("\r", 1)[-1] if line.strip("\r") else "" for line in text.split("\n")]
    return "\n".join(line for line in lines if not NOISE.match(line))


def clean(notebook) -> None:
    """Merge consecutive stream outputs, resolve progress-bar redraws, strip timing metadata."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.outputs:
            if output.output_type == "stream" and merged and merged[-1].output_type == "stream" \
                    and merged[-1].name == output.name:
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = clean_stream(output.text).strip("\n") + "\n"
        cell.outputs = [o for o in merged if o.output_type != "stream" or o.text.strip()]


def execute(path: Path, mode: str = "fast") -> float:
    """Run a notebook in place with SRLIB_MODE=mode; returns the seconds it took."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ["SRLIB_MODE"] = mode
    started = time.perf_counter()
    NotebookClient(notebook, timeout=3600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - started
    clean(notebook)
    nbformat.write(notebook, path)
    return seconds


if __name__ == "__main__":
    arguments = sys.argv[1:]
    run = "--execute" in arguments
    names = [a for a in arguments if not a.startswith("--")]
    for source in sorted((ROOT / "notebooks" / "src").glob("*.py")):
        if not names or source.stem in names:
            target = build(source)
            if run:
                print(f"{target}: executed in fast mode in {execute(target):.0f} s")
            else:
                print(target)
