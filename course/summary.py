"""The main job's results table: every method of every tutorial side by side.

Each notebook ends its evaluation with :func:`record`, which (only when ``SRLIB_RESULTS`` names a
folder, as ``make results`` does; tests and readers' runs write nothing) scores its predictions
with the same columns everywhere (PSNR, SSIM, HFEN on the Y channel with the border cropped, the
VGG-16 feature distance on RGB) and writes ``$SRLIB_RESULTS/<study>.json`` with each method's
parameters, training time and inference time per output megapixel. ``python -m course.summary``
then joins those files into ``results/summary.md`` and ``results/summary.json``.

The tutorials solve different tasks (x2 and x4 bicubic super-resolution, crappify restoration),
so every row names its task and each task has its own baseline row.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from course.paths import PROJECT_ROOT
from srlib.config import machine_description, main_process, run_mode

COLUMNS = ("psnr", "ssim", "hfen", "vgg")


def results_folder() -> Path | None:
    """``$SRLIB_RESULTS`` as a Path, or None (record nothing)."""
    folder = os.environ.get("SRLIB_RESULTS")
    return Path(folder) if folder else None


def timed_predictions(predict, images: dict) -> tuple[dict, float]:
    """``({name: predict(image)}, seconds per output megapixel)`` over all ``images``."""
    started = time.perf_counter()
    predictions = {name: predict(image) for name, image in images.items()}
    seconds = time.perf_counter() - started
    megapixels = sum(p.shape[0] * p.shape[1] for p in predictions.values()) / 1e6
    return predictions, seconds / megapixels


def record(study: str, task: str, targets: dict, predictions: dict, details, crop_border: int,
           notebook: str | None = None) -> Path | None:
    """Score ``predictions`` ({method: {name: image}}) against ``targets`` and save them for the
    main job's table, with ``details`` ({method: {"parameters", "training_seconds",
    "inference_seconds_per_megapixel"}}, or a function returning it, called only when something is
    recorded: timing inference costs a second run of every model). Does nothing unless
    ``SRLIB_RESULTS`` is set, nor in a ``torchrun`` process other than rank 0."""
    folder = results_folder()
    if folder is None or not main_process():
        return None
    if callable(details):
        details = details()
    from srlib.evaluation import evaluate
    from srlib.torch.perceptual import vgg_distance

    table = evaluate(targets, predictions, crop_border=crop_border, extra_metrics={"vgg": vgg_distance})
    rows = [{"study": study, "task": task, "method": method, **values, **details.get(method, {})}
            for method, values in table.mean().items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{study}.json"
    path.write_text(json.dumps({"study": study, "notebook": notebook, "mode": run_mode(), "machine": machine_description(),
                                "date": time.strftime("%Y-%m-%d %H:%M"), "crop_border": crop_border,
                                "images": list(targets), "rows": rows}, indent=2) + "\n")
    return path


def _cell(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _parameters(count) -> str:
    if not count:
        return "-"
    return f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.0f} k"


def combine(folder, order=("autoencoder", "unet_pixel", "unet_perceptual", "gan", "vae", "classic",
                           "diffusion")) -> dict:
    """Join the studies' files in ``folder`` into ``{"rows", "markdown", ...}``."""
    folder = Path(folder)
    studies = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    if not studies:
        raise FileNotFoundError(f"{folder}: no study results; run the notebooks with SRLIB_RESULTS={folder}")
    names = [name for name in order if name in studies] + [name for name in studies if name not in order]
    rows, seen = [], set()
    for name in names:
        for row in studies[name]["rows"]:
            key = (row["task"], row["method"])
            if key not in seen:  # a baseline shared by two notebooks appears once
                seen.add(key)
                rows.append(row)
    header = ("| task | method | PSNR (dB) ↑ | SSIM ↑ | HFEN ↓ | VGG distance ↓ | parameters | training (s) | "
              "inference (s/MP) |")
    lines = [header, "|" + "---|" * 9]
    for row in rows:
        parameters = row.get("parameters")
        lines.append(f"| {row['task']} | {row['method']} | {_cell(row['psnr'], 2)} | {_cell(row['ssim'], 4)} | "
                     f"{_cell(row['hfen'], 4)} | {_cell(row.get('vgg'), 4)} | "
                     f"{_parameters(parameters)} | "
                     f"{_cell(row.get('training_seconds'), 0)} | "
                     f"{_cell(row.get('inference_seconds_per_megapixel'), 2)} |")
    modes = sorted({study["mode"] for study in studies.values()})
    machines = sorted({study["machine"] for study in studies.values()})
    note = (f"Made by `make results` ({', '.join(modes)} mode, {'; '.join(machines)}), "
            f"{max(study['date'] for study in studies.values())}. Validation photos of srlib.samples; "
            "PSNR/SSIM/HFEN on the Y channel, the border cropped as in each tutorial; VGG distance on RGB. "
            "Training time is this run's; inference time per output megapixel, on the same machine.")
    return {"rows": rows, "markdown": "\n".join(lines), "note": note, "modes": modes, "machines": machines,
            "studies": {name: {k: v for k, v in study.items() if k != "rows"} for name, study in studies.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Join the tutorials' results into one table (the main job's).",
                                     epilog="example: python -m course.summary results/summary --output results/summary")
    parser.add_argument("folder", nargs="?", default=str(PROJECT_ROOT / "results" / "summary"))
    parser.add_argument("--output", default=str(PROJECT_ROOT / "results" / "summary"),
                        help="writes OUTPUT.md and OUTPUT.json")
    parser.add_argument("--figures", default=None, help="also draw the approaches' diagrams into FIGURES/approaches.png")
    args = parser.parse_args(argv)
    if args.figures:
        import matplotlib

        matplotlib.use("Agg")
        from srlib.plotting import draw_approaches

        Path(args.figures).mkdir(parents=True, exist_ok=True)
        draw_approaches(path=Path(args.figures) / "approaches.png")
    result = combine(args.folder)
    output = Path(args.output)
    output.with_suffix(".md").write_text(result["markdown"] + "\n\n" + result["note"] + "\n")
    output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"] + "\n\n" + result["note"])
    print(f"\nwritten: {output.with_suffix('.md')}, {output.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def bicubic_seconds_per_megapixel(targets: dict, scale: int) -> float:
    """Seconds per output megapixel of MATLAB bicubic upscaling by ``scale`` (the baseline's cost)."""
    from srlib.degrade import bicubic
    from srlib.resize import upscale_bicubic

    lowres = {name: bicubic(image, scale) for name, image in targets.items()}
    return timed_predictions(lambda image: upscale_bicubic(image, scale), lowres)[1]
