"""Benchmark the losses: PyTorch/Keras parity and the feature loss's cost per step.

    .venv/bin/python benchmarks/losses.py [--repeats 7] [--output results/benchmarks/losses]

Writes OUTPUT.json and OUTPUT.md. Timings are medians over ``--repeats`` runs after one warm-up
(these machines are noisy); a "step" is the loss's forward and backward pass with respect to
the prediction, batch 8 of 128x128 RGB images, on whatever device PyTorch picks (CPU here).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import tensorflow as tf  # noqa: F401  (imported before torch: see ../shared/OFFLINE.md on import order)
import keras
import torch

from srlib.keras import losses as lk
from srlib.config import set_seed
from srlib.torch import losses as lt
from timing import write_results


def batch(size=8, side=128, seed=0):
    rng = np.random.default_rng(seed)
    target = rng.random((size, side, side, 3), dtype=np.float32)
    # smooth the noise a little so SSIM-type losses see structure
    target = (target + np.roll(target, 1, 1) + np.roll(target, 1, 2)) / 3
    prediction = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
    return prediction, target


def median_seconds(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", default="results/benchmarks/losses")
    args = parser.parse_args(argv)
    set_seed(0)
    prediction, target = batch()
    nchw = lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2).copy())  # noqa: E731
    parity = {}
    for name in sorted(lt.LOSSES):
        theirs = lt.LOSSES[name]()(nchw(prediction), nchw(target)).item()
        ours = float(keras.ops.convert_to_numpy(lk.LOSSES[name]()(target, prediction)))
        parity[name] = {"torch": theirs, "keras": ours, "relative_error": abs(ours - theirs) / abs(theirs)}

    feature_torch, feature_keras = lt.FeatureLoss(), lk.FeatureLoss()

    def torch_step():
        p = nchw(prediction).requires_grad_(True)
        feature_torch(p, nchw(target)).backward()

    keras_prediction, keras_target = tf.Variable(prediction), tf.constant(target)

    def keras_step():
        with tf.GradientTape() as tape:
            value = feature_keras(keras_target, keras_prediction)
        tape.gradient(value, keras_prediction)

    timings = {}
    for label, function in (("feature_loss_step_torch", torch_step), ("feature_loss_step_keras", keras_step)):
        median, times = median_seconds(function, args.repeats)
        timings[label] = {"median_s": median, "all_s": times}
    results = {"machine": {"processor": platform.processor() or platform.machine(),
                           "torch_threads": torch.get_num_threads(),
                           "device": "cuda" if torch.cuda.is_available() else "cpu"},
               "batch": "8 x 128 x 128 x 3", "repeats": args.repeats, "parity": parity, "timings": timings}
    output = Path(args.output)
    lines = ["| loss | PyTorch | Keras (TF) | relative difference |", "|---|---|---|---|"]
    lines += [f"| {name} | {v['torch']:.6g} | {v['keras']:.6g} | {v['relative_error']:.1e} |" for name, v in parity.items()]
    lines += ["", "| step (batch 8, 128x128, forward + backward) | median seconds |", "|---|---|"]
    lines += [f"| {label} | {v['median_s']:.3f} |" for label, v in timings.items()]
    write_results(output, results, "\n".join(lines))
    print("\n".join(lines))
    print(f"\nwritten: {output.with_suffix('.json')}, {output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
