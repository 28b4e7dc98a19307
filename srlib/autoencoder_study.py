"""The loss-function study of tutorial 1: one auto-encoder, one seed, one budget, seven losses.

The notebook ``notebooks/01_autoencoder_keras.ipynb`` walks through these steps one by one;
``python -m srlib.autoencoder_study --mode full`` runs them all at once (that is how the full
run on a GPU was made) and writes ``results/autoencoder_study_<mode>.json``.
Imports keras.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from srlib import losses_keras
from srlib.config import PROJECT_ROOT, machine_description, run_mode, set_seed
from srlib.evaluation import ResultsTable, evaluate
from srlib.models_keras import build_autoencoder
from srlib.patches import PairedPatches, degrade_pair
from srlib.samples import load_split
from srlib.train_keras import dtype_policy, fit, predict_images

#: The losses compared, in the order the tables show them (names of ``srlib.losses_keras.LOSSES``).
STUDY_LOSSES = ["mse", "l1", "ssim", "psnr", "hfen", "mse_hfen", "ms_ssim_l1"]
LOSS_LABELS = {"mse": "MSE", "l1": "L1", "ssim": "SSIM loss", "psnr": "PSNR loss", "hfen": "HFEN",
               "mse_hfen": "MSE + 10 HFEN", "ms_ssim_l1": "MS-SSIM + L1"}


@dataclass
class StudyConfig:
    """Everything that decides the study's numbers."""

    degradation: str = "bicubic"
    scale: int = 2
    filters: tuple = (64, 128, 256)
    residual: bool = True
    patch_size: int = 96
    batch_size: int = 16
    num_steps: int = 2500
    learning_rate: float = 1e-3
    precision: str = "auto"  # Keras's mixed_bfloat16 where the CPU has native bfloat16 (srlib.train_keras.dtype_policy)
    seed: int = 42

    @classmethod
    def for_mode(cls, mode: str) -> "StudyConfig":
        """``fast``: a narrower network, small crops, 200 steps per loss (minutes on a CPU);
        ``full``: the original widths (1.1 M parameters), 96-pixel crops, 2,500 steps."""
        if mode == "fast":
            return cls(filters=(32, 64, 128), patch_size=48, num_steps=200)
        if mode == "full":
            return cls()
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


def make_data(config: StudyConfig, train_images: dict, valid_images: dict):
    """Training patches, and the validation inputs and targets as whole images.

    Inputs are the degraded photos brought back to full size (bicubic-upsampled for
    ``bicubic``; ``downup`` already is), since the auto-encoder maps an image to one of the same size.
    """
    pairs = PairedPatches(train_images, config.degradation, scale=config.scale, patch_size=config.patch_size,
                          length=config.batch_size * 50, upsample_input=True, seed=config.seed)
    valid_pairs = {name: degrade_pair(image, config.degradation, config.scale, upsample_input=True,
                                      seed=[config.seed, index], name=name)
                   for index, (name, image) in enumerate(valid_images.items())}
    inputs = {name: pair[0] for name, pair in valid_pairs.items()}
    targets = {name: pair[1] for name, pair in valid_pairs.items()}
    return pairs, inputs, targets


def train_with_loss(name: str, config: StudyConfig, pairs: PairedPatches, progress: bool = True):
    """Build the auto-encoder from the study's seed and train it with loss ``name``.

    Every loss starts from the same initial weights and sees the same batches.
    Returns ``(model, history)``.
    """
    set_seed(config.seed)
    model = build_autoencoder(config.filters, residual=config.residual, name=f"autoencoder_{name}",
                              dtype_policy=dtype_policy(config.precision))
    pairs.set_epoch(0)
    history = fit(model, losses_keras.LOSSES[name](), pairs, num_steps=config.num_steps,
                  batch_size=config.batch_size, learning_rate=config.learning_rate, seed=config.seed,
                  description=f"{LOSS_LABELS[name]:>14}", progress=progress)
    return model, history


def score_study(targets: dict, inputs: dict, predictions: dict, config: StudyConfig,
                baselines: bool = True) -> ResultsTable:
    """PSNR/SSIM/HFEN (Y channel, ``scale`` pixels of border cropped) of every method.

    Rows: with ``baselines``, ``bicubic`` (MATLAB bicubic down and up) and ``input`` (the model's
    input unchanged: for the bicubic degradation the same as bicubic); then one row per loss.
    """
    methods = {LOSS_LABELS[name]: images for name, images in predictions.items()}
    if baselines:
        methods = {"input": inputs, **methods}
    table = evaluate(targets, methods, scale=config.scale if baselines else None, crop_border=config.scale)
    return table


def run_study(config: StudyConfig, losses=STUDY_LOSSES, progress: bool = True, folder=None,
              output: Path | None = None) -> dict:
    """Train one model per loss and score them all; returns a JSON-ready dictionary.

    With ``output``, the result so far is written there after every loss, and a run
    interrupted midway resumes: losses already in the file (with the same config) are skipped.
    """
    started = time.perf_counter()
    result = {"config": json.loads(json.dumps(asdict(config))), "rows": [], "histories": {}, "seconds": 0.0}
    if output is not None and Path(output).exists():
        previous = json.loads(Path(output).read_text())
        if previous.get("config") == result["config"]:
            result = previous
    pairs, inputs, targets = make_data(config, load_split("train", folder), load_split("valid", folder))
    if not result["rows"]:
        result["rows"] = score_study(targets, inputs, {}, config).rows
    for name in losses:
        if name in result["histories"]:
            continue
        model, history = train_with_loss(name, config, pairs, progress)
        result["rows"] += score_study(targets, {}, {name: predict_images(model, inputs)}, config,
                                      baselines=False).rows
        result["histories"][name] = history
        result["seconds"] += time.perf_counter() - started
        started = time.perf_counter()
        result.update(parameters=model.count_params(), machine=machine_description(),
                      keras_backend=keras.backend.backend())
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(json.dumps(result, indent=2) + "\n")
    result["seconds"] += time.perf_counter() - started
    table = ResultsTable(rows=result["rows"], settings={"scale": config.scale, "y_channel": True})
    result["markdown"] = table.to_markdown()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run tutorial 1's loss study end to end.",
                                     epilog="example: KERAS_BACKEND=torch python -m srlib.autoencoder_study --mode full")
    parser.add_argument("--mode", default=None, choices=["fast", "full"], help="default: srlib's run mode")
    parser.add_argument("--output", default=None, help="JSON file (default results/autoencoder_study_<mode>.json); "
                                                        "an interrupted run resumes from it")
    args = parser.parse_args(argv)
    mode = args.mode or run_mode()
    output = Path(args.output or PROJECT_ROOT / "results" / f"autoencoder_study_{mode}.json")
    result = run_study(StudyConfig.for_mode(mode), output=output)
    import sys

    import torch  # keras's torch backend or not, the project environment has it: record versions

    result.update(mode=mode, command=" ".join(["python -m srlib.autoencoder_study"] + sys.argv[1:]),
                  date=time.strftime("%Y-%m-%d"),
                  software=f"keras {keras.__version__}, torch {torch.__version__}, Python {platform.python_version()}")
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    print(f"\n{mode} run: {result['seconds']:.0f} s on {result['machine']} (Keras backend {result['keras_backend']}); "
          f"written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
