"""How long each tutorial notebook takes end to end, per run mode (kernel start included).

    python benchmarks/notebooks.py --modes test fast --output results/benchmarks/notebooks

Executes every notebook (or those named) into a temporary folder, in order, once per mode, and
writes ``OUTPUT.json`` and ``OUTPUT.md``: seconds per notebook and the total, with the machine
(its CPU, thread count and whether it computes bfloat16 natively) and the precision setting.
``make test`` runs the notebooks in test mode; ``make results`` in fast mode.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from course.notebooks import execute
from course.paths import PROJECT_ROOT
from srlib.config import machine_description, precision_setting
from timing import write_results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks (stems), default all")
    parser.add_argument("--modes", nargs="+", default=["test"], choices=["test", "fast", "full"])
    parser.add_argument("--output", default=str(PROJECT_ROOT / "results" / "benchmarks" / "notebooks"))
    args = parser.parse_args(argv)
    notebooks = [path for path in sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
                 if not args.names or path.stem in args.names]
    seconds = {mode: {} for mode in args.modes}
    with tempfile.TemporaryDirectory() as folder:
        for mode in args.modes:
            for path in notebooks:
                started = time.perf_counter()
                execute(path, Path(folder) / mode / path.name, mode=mode)
                seconds[mode][path.stem] = time.perf_counter() - started
                print(f"{mode} {path.stem}: {seconds[mode][path.stem]:.0f} s", flush=True)
    machine, precision = machine_description(), precision_setting()
    lines = [f"Seconds per notebook, end to end (kernel start included); {machine}, precision "
             f"{precision}, {time.strftime('%Y-%m-%d')}.", "",
             "| notebook | " + " | ".join(f"{mode} mode (s)" for mode in args.modes) + " |",
             "|---|" + "---|" * len(args.modes)]
    for path in notebooks:
        lines.append(f"| {path.stem} | " + " | ".join(f"{seconds[mode][path.stem]:.0f}" for mode in args.modes) + " |")
    lines.append("| total | " + " | ".join(f"{sum(seconds[mode].values()):.0f}" for mode in args.modes) + " |")
    write_results(args.output, {"machine": machine, "date": time.strftime("%Y-%m-%d"),
                                "precision": precision,
                                "command": "python benchmarks/notebooks.py " + " ".join(sys.argv[1:] if argv is None else argv),
                                "seconds": seconds}, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
