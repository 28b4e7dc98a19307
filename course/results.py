"""Each tutorial's results file: what one run of its notebook computed.

A notebook ends by calling :func:`save`, which writes ``results/<mode>/<notebook>.json`` (its
settings, tables, curves and timings, plus the mode, machine, date and software that made them).
The full run of a tutorial is its notebook executed in full mode::

    SRLIB_MODE=full python -m course.notebooks 02_unet_pixel_loss

and ``results/full/`` is committed, so every notebook can show its full run with :func:`load`
and :func:`describe`; numbers quoted in a conclusion are printed from these files, never typed.
The fast mode's files (``results/fast/``) are ignored by git.
"""
from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path

from course.paths import PROJECT_ROOT
from srlib.config import machine_description, main_process, run_mode, shown_path
from srlib.io import atomic_write

RESULTS_DIR = PROJECT_ROOT / "results"


def results_path(notebook: str, mode: str | None = None) -> Path:
    """``results/<mode>/<notebook>.json`` (``mode`` default: the current run mode)."""
    return RESULTS_DIR / (mode or run_mode()) / f"{notebook}.json"


def software() -> str:
    """The versions of the frameworks this process imported, and Python's."""
    names = [name for name in ("torch", "fastai", "keras", "tensorflow") if name in sys.modules]
    versions = [f"{name} {getattr(sys.modules[name], '__version__', '?')}" for name in names]
    return ", ".join(versions + [f"Python {platform.python_version()}"])


def save(notebook: str, result: dict, mode: str | None = None) -> Path:
    """Write ``result`` (JSON-ready) for ``notebook`` with its provenance; returns the path.

    Adds ``notebook``, ``mode``, ``machine``, ``date``, ``software`` and ``command`` (how to
    make the file again). The write is atomic: an interrupted run leaves the old file. Under
    ``torchrun`` only rank 0 writes (:func:`srlib.config.main_process`); every process gets the path.
    """
    mode = mode or run_mode()
    precision = os.environ.get("SRLIB_PRECISION", "").strip()
    record = {"notebook": notebook, "mode": mode, "machine": machine_description(),
              "date": time.strftime("%Y-%m-%d"), "software": software(),
              "command": (f"SRLIB_PRECISION={precision} " if precision else "")
              + f"SRLIB_MODE={mode} python -m course.notebooks {notebook}", **result}
    path = results_path(notebook, mode)
    if not main_process():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, indent=1, default=float) + "\n"
    atomic_write(path, lambda temporary: Path(temporary).write_text(text))
    return path


def load(notebook: str, mode: str = "full") -> dict | None:
    """The results file of ``notebook`` in ``mode``, or None when that run has not been made."""
    path = results_path(notebook, mode)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error}); run `SRLIB_MODE={mode} python -m course.notebooks "
                         f"{notebook}` to make it again") from None


def describe(result: dict | None, notebook: str = "", mode: str = "full") -> str:
    """One line saying which run ``result`` is (or how to make it when it is None)."""
    if result is None:
        path = results_path(notebook, mode)
        return f"no {mode} run yet: `SRLIB_MODE={mode} python -m course.notebooks {notebook}` writes {shown_path(path)}"
    line = f"{result['mode']} run of {result['notebook']}, {result['date']}, {result['machine']} ({result['software']})"
    return line + (f"\nnote: {result['note']}" if result.get("note") else "")


def readme_block(notebook: str, mode: str = "full") -> str:
    """The README's table for ``notebook``'s run in ``mode``: a comment naming the file, the run
    and the command that made it, then the table of the results file."""
    result = load(notebook, mode)
    if result is None:
        raise FileNotFoundError(describe(None, notebook, mode))
    provenance = f"{result['mode']} run, {result['date']}, {result['machine']}; made by: {result['command']}"
    if result.get("note"):
        provenance += f" ({result['note']})"
    return f"<!-- {provenance} -->\n{result['markdown'].strip()}\n"


_BLOCK = re.compile(r"(<!-- begin results: (?P<notebook>[\w-]+) -->\n)(?P<body>.*?)(<!-- end results -->)", re.S)


def update_readme(path, check: bool = False) -> list[str]:
    """Rewrite every ``<!-- begin results: NOTEBOOK -->`` ... ``<!-- end results -->`` block of
    the Markdown file ``path`` from ``results/full/NOTEBOOK.json``; returns the notebooks whose
    block changed. With ``check``, only compare (the test uses it: the README quotes the files)."""
    path = Path(path)
    text = path.read_text()
    changed = []

    def replace(match):
        block = readme_block(match.group("notebook"))
        if block != match.group("body"):
            changed.append(match.group("notebook"))
        return match.group(1) + block + match.group(4)

    updated = _BLOCK.sub(replace, text)
    if changed and not check:
        atomic_write(path, lambda temporary: Path(temporary).write_text(updated))
    return changed


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write the full runs' tables into a Markdown file (the README).",
                                     epilog="example: python -m course.results docs/results.md")
    parser.add_argument("markdown", help="the file with <!-- begin results: NOTEBOOK --> blocks")
    parser.add_argument("--check", action="store_true", help="only report blocks that differ (exit status 1)")
    args = parser.parse_args(argv)
    changed = update_readme(args.markdown, check=args.check)
    print(f"{args.markdown}: {'differs in' if args.check else 'updated'} {', '.join(changed)}" if changed
          else f"{args.markdown}: every results block matches its file")
    return 1 if changed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
