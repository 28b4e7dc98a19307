"""Build notebooks/NN_name.ipynb from their sources notebooks/src/NN_name.py (percent format).

    python scripts/build_notebooks.py [NAMES...]            # sources -> .ipynb (no outputs)
    python scripts/build_notebooks.py --execute [NAMES...]  # ... then run them in fast mode
    python scripts/build_notebooks.py --text NAMES...        # only the prose of published notebooks
    python scripts/build_notebooks.py --moved srlib.edsr=srlib.torch.edsr [--moved ...] [NAMES...]
                                         # ... and code cells whose imports alone moved, outputs kept

A source is plain Python in jupytext's percent format (``course.notebooks.read_source``). The .ipynb
files are generated: edit the sources. ``make notebooks`` builds and then executes them in fast
mode; the committed notebooks show the full run instead:
``SRLIB_MODE=full python -m course.notebooks NAME --publish`` runs one in full mode and copies it
into ``notebooks/`` (refusing when its code differs from the source).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from course.notebooks import execute, read_source, update_imports, update_text

ROOT = Path(__file__).resolve().parent.parent


def build(source_path: Path, root: Path = ROOT) -> Path:
    """Write ``root/notebooks/<stem>.ipynb`` from one source, with no outputs; returns its path."""
    notebook = read_source(source_path.read_text())
    target = root / "notebooks" / f"{source_path.stem}.ipynb"
    nbformat.write(notebook, target)
    return target


def main(argv=None, root: Path = ROOT) -> int:
    """The command line; checks every argument before it writes anything."""
    sources = {path.stem: path for path in sorted((root / "notebooks" / "src").glob("*.py"))}
    parser = argparse.ArgumentParser(
        description="Build notebooks/NAME.ipynb from notebooks/src/NAME.py. Building replaces the notebook, "
                    "outputs included (the committed ones show full runs: git restores them).")
    parser.add_argument("names", nargs="*", help=f"notebooks to build, default all ({', '.join(sources)})")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--execute", action="store_true", help="then run them in fast mode")
    action.add_argument("--text", action="store_true",
                        help="only rewrite the prose of these published notebooks, keeping code and outputs")
    action.add_argument("--moved", action="append", metavar="OLD=NEW", default=[],
                        help="a library module (or one of its names) that moved: rewrite the published notebooks' "
                             "code cells that change only in where their imports come from, and their prose, "
                             "keeping outputs (repeat for each module)")
    args = parser.parse_args(argv)
    moves = {}
    for move in args.moved:
        old, _, new = move.partition("=")
        if not old or not new or not all(part.isidentifier() for part in (old + "." + new).split(".")):
            parser.error(f"--moved takes OLD=NEW, two dotted names (srlib.edsr=srlib.torch.edsr), not {move!r}")
        moves[old] = new
    unknown = [name for name in args.names if name not in sources]
    if unknown:
        parser.error(f"no source notebooks/src/{unknown[0]}.py (choose from {', '.join(sources)})")
    if moves:  # a published full run keeps its outputs; imports that moved, and the prose, change
        for name in args.names or sources:
            cells = update_imports(name, moves, root=root)
            print(f"notebooks/{name}.ipynb: code cells {cells} and text cells {update_text(name, root=root)} "
                  f"rewritten from notebooks/src/{name}.py")
        return 0
    if args.text:  # a published full run keeps its code and outputs; only its prose changes
        if not args.names:
            parser.error("--text needs the notebooks to rewrite, by name")
        for name in args.names:
            print(f"notebooks/{name}.ipynb: text cells {update_text(name, root=root)} rewritten "
                  f"from notebooks/src/{name}.py")
        return 0
    for name, source in sources.items():
        if not args.names or name in args.names:
            target = build(source, root)
            if args.execute:
                print(f"{target}: executed in fast mode in {execute(target, mode='fast'):.0f} s")
            else:
                print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
