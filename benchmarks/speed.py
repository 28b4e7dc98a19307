"""Benchmark of CPU (or GPU) speed: the banded bicubic, bfloat16 inference and bfloat16 training.

Writes ``<output>.json`` and ``<output>.md`` (``make benchmark`` uses results/benchmarks/speed).
Every ratio compares two measurements made in this one run, each a median of ``--repeats``:

- ``imresize``: MATLAB bicubic x2 at three sizes, seconds per output megapixel (linear growth
  means a constant s/MP);
- inference: each zoo model at ``fp32`` and at ``auto`` (:mod:`srlib.torch.precision`), seconds per
  output megapixel on one validation photo, and the mean validation PSNR of both (5 photos,
  degraded as in training, Y channel, ``scale``-pixel border);
- the command line: ``srlib upscale --model edsr-x2`` over the validation photos in a fresh
  process, at ``auto`` and ``fp32``, against a plain float32 forward pass of the same model on the
  same images in a fresh process (start-up included in all three);
- training: seconds per step at ``fp32`` and ``bf16`` (autocast + channels-last) for EDSR, the
  tutorials' U-Net, the conditional VAE, and the Keras auto-encoder (float32 against Keras's
  ``mixed_bfloat16`` policy); then convergence: EDSR x2, the U-Net (tutorial 2's fast schedule:
  frozen, then unfrozen), the VAE tutorial's MSE model and the Keras auto-encoder (L1) trained the same number of
  steps from the same seed both ways, and their validation PSNR.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SECTIONS = ("imresize", "inference", "command_line", "training_steps", "convergence_edsr", "convergence_unet",
            "convergence_vae", "convergence_keras")

PLAIN_FORWARD = """
import sys, time
started = time.perf_counter()
import torch
from srlib import zoo
from srlib.io import list_images, load_image
from srlib.torch.data import to_tensor
model, metadata = zoo.load_model(sys.argv[1], device="cpu")
with torch.no_grad():
    for path in list_images(sys.argv[2]):
        model(to_tensor(load_image(path))[None])
print("RESULT", time.perf_counter() - started)
"""

KERAS_STEP = """
import sys, time, json
import numpy as np, keras
policy = sys.argv[1]
keras.mixed_precision.set_global_policy(policy)
keras.utils.set_random_seed(0)
from srlib.keras.models import build_autoencoder
model = build_autoencoder(residual=True)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
rng = np.random.default_rng(0)
x = rng.random((16, 96, 96, 3), dtype=np.float32); y = rng.random((16, 96, 96, 3), dtype=np.float32)
for _ in range(3):
    model.train_on_batch(x, y)
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter(); model.train_on_batch(x, y); times.append(time.perf_counter() - started)
print("RESULT", float(np.median(times)))
"""

KERAS_CONVERGENCE = """
import sys, json
import keras
from srlib import config, evaluation
from srlib.keras import losses as losses_keras, training as train_keras
from srlib.keras.models import build_autoencoder
from srlib.patches import PairedPatches, degrade_photos
from srlib.samples import load_split
precision, steps = sys.argv[1], int(sys.argv[2])
# tutorial 1's fast settings: x2 bicubic, widths (32, 64, 128), 48-pixel crops, batches of 16, seed 42
pairs = PairedPatches(load_split("train"), "bicubic", scale=2, patch_size=48, length=16 * 50, upsample_input=True, seed=42)
inputs, targets = degrade_photos(load_split("valid"), "bicubic", 2, seed=42)
config.set_seed(42)
model = build_autoencoder((32, 64, 128), residual=True, dtype_policy=train_keras.dtype_policy(precision))
pairs.set_epoch(0)
history = train_keras.fit(model, losses_keras.LOSSES["l1"](), pairs, num_steps=steps, batch_size=16, learning_rate=1e-3,
                          seed=42, progress=False)
table = evaluation.evaluate(targets, {"L1": train_keras.predict_images(model, inputs)}, crop_border=2)
row = {f"{precision}_psnr": table.mean()["L1"]["psnr"], f"{precision}_seconds": history["seconds"],
       "steps": history["steps"], f"{precision}_policy": model.layers[1].dtype_policy.name}
print("RESULT", json.dumps(row))
"""


def _fresh_process(arguments: list[str], label: str) -> float:
    """Wall seconds of a fresh Python process (start-up included)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *arguments], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{label} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def _reported_line(arguments: list[str], label: str) -> str:
    """What a fresh Python process printed after ``RESULT``."""
    result = subprocess.run([sys.executable, *arguments], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{label} failed:\n{result.stderr[-2000:]}")
    return next(line for line in result.stdout.splitlines() if line.startswith("RESULT")).split(maxsplit=1)[1]


def bench_imresize(repeats: int) -> list[dict]:
    from srlib.resize import imresize
    from timing import median_seconds

    rows = []
    rng = np.random.default_rng(0)
    for side in (256, 512, 1024):
        image = rng.random((side, side, 3), dtype=np.float32)
        seconds = median_seconds(lambda: imresize(image, scale=2), repeats)
        rows.append({"input": f"{side}x{side}", "output": f"{2 * side}x{2 * side}", "seconds": seconds,
                     "seconds_per_megapixel": seconds / (4 * side * side / 1e6)})
    return rows


def bench_inference(repeats: int) -> dict:
    from srlib import zoo
    from srlib.samples import load_split
    from timing import seconds_per_megapixel

    valid = load_split("valid")
    rows = {}
    for name in zoo.list_models():
        model, metadata = zoo.load_model(name, device="cpu")
        lowres, _ = zoo.degrade_like(metadata, valid["kodim23"])
        row = {"scale": metadata["scale"]}
        for precision in ("fp32", "auto"):
            row[f"{precision}_seconds_per_megapixel"] = seconds_per_megapixel(
                lambda image: zoo.upscale(model, metadata, image, precision=precision), lowres, repeats)
            table = zoo.evaluate_model(model, valid, metadata, precision=precision)
            row[f"{precision}_psnr"] = table.mean()[metadata["name"]]["psnr"]
        row["speedup"] = row["fp32_seconds_per_megapixel"] / row["auto_seconds_per_megapixel"]
        row["psnr_change"] = row["auto_psnr"] - row["fp32_psnr"]
        rows[name] = row
        print(f"  {name}: {row['speedup']:.2f}x, {row['psnr_change']:+.4f} dB", flush=True)
    return rows


def bench_command_line(repeats: int, model: str = "edsr-x2") -> dict:
    from srlib.samples import load_split

    load_split("valid")  # writes data/samples when missing
    from srlib.config import data_dir

    folder = data_dir() / "samples" / "valid"
    with tempfile.TemporaryDirectory() as scratch:
        times = {"auto": [], "fp32": [], "plain_fp32_forward": []}
        for repeat in range(repeats):
            for precision in ("auto", "fp32"):
                output = Path(scratch) / f"{precision}{repeat}"
                times[precision].append(_fresh_process(
                    ["-m", "srlib", "upscale", str(folder), "-o", str(output), "--model", model, "--device", "cpu",
                     "--precision", precision], f"srlib upscale --precision {precision}"))
            times["plain_fp32_forward"].append(_fresh_process(["-c", PLAIN_FORWARD, model, str(folder)],
                                                              "plain forward"))
    medians = {key: float(np.median(value)) for key, value in times.items()}
    return {"model": model, "images": len(list(folder.glob("*.png"))), "seconds": medians,
            "auto_over_plain_fp32": medians["auto"] / medians["plain_fp32_forward"]}


def _step_time(step, repeats: int) -> float:
    from timing import median_seconds

    return median_seconds(step, repeats, warmup=3)


def bench_training_steps(repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    from srlib.torch.vae import ConditionalVAE, vae_loss
    from srlib.torch import precision as precisions
    from srlib.torch.edsr import EDSR
    from srlib.torch.models import build_unet

    def timed(make_model, make_batch, loss_of, label):
        row = {}
        for precision in ("fp32", "bf16"):
            torch.manual_seed(0)
            model = make_model()
            model.train()
            resolved = precisions.prepare_training(model, precision, "cpu")
            layout = precisions.memory_format(resolved)
            optimizer = torch.optim.Adam(model.parameters(), 1e-4)
            lowres, highres = make_batch()
            lowres, highres = lowres.contiguous(memory_format=layout), highres.contiguous(memory_format=layout)

            def step():
                with precisions.autocast(resolved):
                    loss = loss_of(model, lowres, highres)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

            row[f"{precision}_seconds_per_step"] = _step_time(step, repeats)
        row["speedup"] = row["fp32_seconds_per_step"] / row["bf16_seconds_per_step"]
        print(f"  {label}: {row['speedup']:.2f}x", flush=True)
        return row

    generator = torch.Generator().manual_seed(0)
    rows = {}
    rows["EDSR x2 (batch 16, 48x48 low-res)"] = timed(
        lambda: EDSR(scale=2), lambda: (torch.rand(16, 3, 48, 48, generator=generator),
                                        torch.rand(16, 3, 96, 96, generator=generator)),
        lambda model, lowres, highres: F.l1_loss(model(lowres).float(), highres), "EDSR")
    rows["U-Net (batch 8, 96x96)"] = timed(
        lambda: build_unet(), lambda: (torch.rand(8, 3, 96, 96, generator=generator),
                                       torch.rand(8, 3, 96, 96, generator=generator)),
        lambda model, lowres, highres: F.mse_loss(model(lowres).float(), highres), "U-Net")

    def vae_step(model, lowres, highres):
        prediction, mu, logvar = model(lowres, highres)
        return vae_loss(prediction.float(), highres, mu.float(), logvar.float(), 0.02)[0]

    rows["conditional VAE x4 (batch 16, 64x64)"] = timed(
        lambda: ConditionalVAE(32, 4), lambda: (torch.rand(16, 3, 64, 64, generator=generator),
                                                torch.rand(16, 3, 64, 64, generator=generator)), vae_step, "VAE")
    keras = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras[policy] = float(_reported_line(["-c", KERAS_STEP, policy, str(repeats)], f"Keras {policy}"))
    rows["Keras auto-encoder (batch 16, 96x96; mixed_bfloat16 policy)"] = {
        "fp32_seconds_per_step": keras["float32"], "bf16_seconds_per_step": keras["mixed_bfloat16"],
        "speedup": keras["float32"] / keras["mixed_bfloat16"]}
    print(f"  Keras: {keras['float32'] / keras['mixed_bfloat16']:.2f}x", flush=True)
    return rows


def mean_psnr(predictions: dict, targets: dict, border: int) -> float:
    """Mean PSNR (Y channel, ``border`` pixels cropped) over the photos of ``targets``."""
    from srlib.metrics import psnr

    return float(np.mean([psnr(targets[name], predictions[name], crop_border=border, y_channel=True)
                          for name in targets]))


def converge_edsr(steps: int) -> dict:
    """EDSR x2 trained ``steps`` steps from seed 0 in each precision (``srlib.train_sr``)."""
    from srlib import train_sr
    from srlib.samples import load_split

    train, valid = load_split("train"), load_split("valid")
    rows = {}
    row = {"steps": steps}
    for precision in ("fp32", "bf16"):
        config = train_sr.SRTrainConfig(scale=2, steps=steps, precision=precision, checkpoint_every=10 ** 9)
        with tempfile.TemporaryDirectory() as folder:
            model, record = train_sr.train(config, train, folder, device="cpu", progress=False)
        table = train_sr.validation_table(model, 2, valid, precision="fp32")
        row[f"{precision}_psnr"] = table.mean()["EDSR x2"]["psnr"]
        row[f"{precision}_seconds"] = record["seconds"]
        row["bicubic_psnr"] = table.mean()["bicubic"]["psnr"]
    row["psnr_change"] = row["bf16_psnr"] - row["fp32_psnr"]
    rows["EDSR x2"] = row
    print(f"  EDSR: {row['psnr_change']:+.4f} dB after {steps} steps", flush=True)
    return rows


def converge_unet(seeds) -> dict:
    """Tutorial 2's fast schedule (frozen, then unfrozen) in each precision, for each seed.

    The seed also draws the validation photos' crappify damage, so compare within a seed."""
    import fastai.callback.schedule  # noqa: F401 (Learner.fit_one_cycle)
    from torch import nn

    from srlib.config import set_seed
    from srlib.samples import load_split
    from srlib.torch.callbacks import BFloat16Training
    from srlib.torch.data import paired_data
    from srlib.torch.models import unet_learner
    from srlib.torch.training import predict_images

    train, valid = load_split("train"), load_split("valid")
    rows = {}
    for seed in seeds:
        row = {}
        for precision in ("fp32", "bf16"):
            # tutorial 2's fast settings: crappify at a 192-pixel shorter side, 64-pixel crops, batches
            # of 8, 50 steps per epoch, 2 frozen + 6 unfrozen epochs, learning rate 1e-3
            dls, inputs, targets = paired_data(train, valid, "crappify", 1, 64, 8, 50, 192, seed, device="cpu")
            set_seed(seed)
            learn = unet_learner(dls, nn.MSELoss())
            learn.add_cb(BFloat16Training(precision))
            started = time.perf_counter()
            with learn.no_bar(), learn.no_logging():
                learn.freeze()
                learn.fit_one_cycle(2, 1e-3, pct_start=0.8)
                learn.unfreeze()
                learn.fit_one_cycle(6, slice(1e-5, 1e-3))
            assert learn.precision == precision
            row["steps"] = 8 * 50
            row[f"{precision}_seconds"] = time.perf_counter() - started
            predictions = predict_images(learn.model.float().eval(), inputs, precision="fp32")
            row[f"{precision}_psnr"] = mean_psnr(predictions, targets, 4)
            row["input_psnr"] = mean_psnr(inputs, targets, 4)
        row["psnr_change"] = row["bf16_psnr"] - row["fp32_psnr"]
        rows[f"U-Net, pixel loss (crappify), seed {seed}"] = row
        print(f"  U-Net seed {seed}: {row['psnr_change']:+.4f} dB after {row['steps']} steps", flush=True)
    return rows


def converge_vae() -> dict:
    """The VAE tutorial's MSE model, its fast run (500 steps) in each precision."""
    import torch

    from srlib import vae
    from srlib.patches import PairedPatches, degrade_photos
    from srlib.samples import load_split

    # tutorial 5's fast settings: x4 bicubic, 64-pixel crops, batches of 16, 500 steps, 32 channels
    pairs = PairedPatches(load_split("train"), "bicubic", scale=4, patch_size=64, length=16 * 50, upsample_input=True,
                          seed=42)
    inputs, targets = degrade_photos(load_split("valid"), "bicubic", 4, seed=42, multiple=16)
    row = {"steps": 500}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(42)
        model = vae.ConditionalVAE(32, 4)
        history = vae.train(model, pairs, 500, 16, kind="mse", precision=precision, seed=42, progress=False)
        assert history["precision"] == precision
        row[f"{precision}_psnr"] = mean_psnr(vae.predict(model, inputs, "mse"), targets, 4)
        row[f"{precision}_seconds"] = history["seconds"]
    row["psnr_change"] = row["bf16_psnr"] - row["fp32_psnr"]
    print(f"  VAE's MSE model: {row['psnr_change']:+.4f} dB after {row['steps']} steps", flush=True)
    return {"VAE tutorial's MSE model (x4)": row}


def converge_keras(steps: int) -> dict:
    """Tutorial 1's auto-encoder with the L1 loss, float32 against mixed_bfloat16 (fresh processes)."""
    row = {}
    for precision in ("fp32", "bf16"):
        row.update(json.loads(_reported_line(["-c", KERAS_CONVERGENCE, precision, str(steps)], f"Keras {precision}")))
    row["psnr_change"] = row["bf16_psnr"] - row["fp32_psnr"]
    print(f"  Keras auto-encoder: {row['psnr_change']:+.4f} dB after {row['steps']} steps", flush=True)
    return {"Keras auto-encoder, L1 (tutorial 1, x2)": row}


def to_markdown(result: dict) -> str:
    """The results as Markdown; sections not measured (``--sections`` into a new file) are left out."""
    dates = sorted(set(result["dates"].values()))
    lines = [f"# Speed on this machine ({result['machine']}, {', '.join(dates)})", "",
             f"bfloat16: {result['bfloat16']}. Threads: {result['threads']}."]
    if "imresize" in result:
        lines += ["", "## MATLAB bicubic (`srlib.resize.imresize`, x2)", "",
                  "| input | output | seconds | s per output MP |", "|---|---|---|---|"]
        lines += [f"| {row['input']} | {row['output']} | {row['seconds']:.3f} | {row['seconds_per_megapixel']:.3f} |"
                  for row in result["imresize"]]
    if "inference" in result:
        lines += ["", "## Inference: float32 against `auto` (bfloat16 + channels-last where native)", "",
                  "Seconds per output megapixel on kodim23 (the default 512-px tiles); PSNR: mean of the 5 validation "
                  "photos.", "",
                  "| model | fp32 s/MP | auto s/MP | speed-up | fp32 PSNR (dB) | auto PSNR (dB) | change (dB) |",
                  "|---|---|---|---|---|---|---|"]
        for name, row in result["inference"].items():
            lines.append(f"| {name} | {row['fp32_seconds_per_megapixel']:.2f} | {row['auto_seconds_per_megapixel']:.2f} | "
                         f"{row['speedup']:.2f}x | {row['fp32_psnr']:.4f} | {row['auto_psnr']:.4f} | "
                         f"{row['psnr_change']:+.4f} |")
    if "command_line" in result:
        cli = result["command_line"]
        seconds = cli["seconds"]
        lines += ["", f"## `srlib upscale --model {cli['model']}` over {cli['images']} photos (fresh process each)", "",
                  "| run | seconds |", "|---|---|",
                  f"| `srlib upscale` (auto) | {seconds['auto']:.1f} |",
                  f"| `srlib upscale --precision fp32` | {seconds['fp32']:.1f} |",
                  f"| plain float32 forward, whole images, no saving | {seconds['plain_fp32_forward']:.1f} |",
                  "", f"auto / plain float32: **{cli['auto_over_plain_fp32']:.2f}**"]
    if "training_steps" in result:
        lines += ["", "## Training: seconds per step", "", "| model | fp32 | bf16 | speed-up |", "|---|---|---|---|"]
        for name, row in result["training_steps"].items():
            lines.append(f"| {name} | {row['fp32_seconds_per_step']:.3f} | {row['bf16_seconds_per_step']:.3f} | "
                         f"{row['speedup']:.2f}x |")
    convergence = {name: row for section in SECTIONS if section.startswith("convergence") and section in result
                   for name, row in result[section].items()}
    if convergence:
        lines += ["", "## Convergence: same seed, same steps", "",
                  "Validation PSNR (Y channel) after training in each precision; predictions in float32.", "",
                  "| model | steps | fp32 PSNR (dB) | bf16 PSNR (dB) | change (dB) | fp32 s | bf16 s |",
                  "|---|---|---|---|---|---|---|"]
        for name, row in convergence.items():
            lines.append(f"| {name} | {row['steps']} | {row['fp32_psnr']:.3f} | {row['bf16_psnr']:.3f} | "
                         f"{row['psnr_change']:+.3f} | {row['fp32_seconds']:.0f} | {row['bf16_seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/benchmarks/speed")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cli-repeats", type=int, default=3)
    parser.add_argument("--edsr-steps", type=int, default=300, help="EDSR convergence check length")
    parser.add_argument("--keras-steps", type=int, default=200, help="convergence check of the Keras auto-encoder")
    parser.add_argument("--unet-seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="run only these; the others are kept from an earlier results file (default: all)")
    args = parser.parse_args(argv)
    import torch  # noqa: F401  (before configure_threads, so that it sizes PyTorch's pools too)

    from srlib.config import configure_threads, machine_description
    from srlib.torch import precision as precisions

    output = Path(args.output)
    supported, how = precisions.bfloat16_support("cpu")
    result = {"machine": machine_description(), "bfloat16": f"{'native' if supported else 'not native'} ({how})",
              "threads": configure_threads(), "dates": {}}
    if set(args.sections) != set(SECTIONS) and output.with_suffix(".json").exists():
        previous = json.loads(output.with_suffix(".json").read_text())
        if previous.get("machine") != result["machine"] or previous.get("bfloat16") != result["bfloat16"]:
            raise SystemExit(f"{output.with_suffix('.json')} was measured on another machine; run every section")
        result = {**previous, **result, "dates": previous.get("dates", {})}
    runs = {"imresize": lambda: bench_imresize(args.repeats),
            "inference": lambda: bench_inference(args.repeats),
            "command_line": lambda: bench_command_line(args.cli_repeats),
            "training_steps": lambda: bench_training_steps(args.repeats * 2),
            "convergence_edsr": lambda: converge_edsr(args.edsr_steps),
            "convergence_unet": lambda: converge_unet(args.unet_seeds),
            "convergence_vae": converge_vae,
            "convergence_keras": lambda: converge_keras(args.keras_steps)}
    for section in SECTIONS:
        if section in args.sections:
            print(section, flush=True)
            result[section] = runs[section]()
            result["dates"][section] = time.strftime("%Y-%m-%d")
    from timing import write_results

    write_results(output, result, to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    raise SystemExit(main())
