"""Benchmark of the model zoo: quality on the validation photos, speed and memory on this machine.

Writes ``<output>.json`` and ``<output>.md`` (``make benchmark`` uses results/benchmarks/zoo):

- quality: each zoo model on the 5 validation photos, degraded as in its training, against
  bicubic (Y channel, ``scale`` pixels of border), plus the x2/x4 models with self-ensemble;
- speed: seconds per output megapixel (median of ``--repeats``) for each model and for bicubic,
  on one validation photo (kodim23, 768x512 output);
- ONNX Runtime: the same, whole image, through the model exported by ``srlib export`` (float32,
  ``--repeats`` medians), with the largest difference from PyTorch's output;
- camera-like inputs: the x4 models on the validation photos degraded with blur, noise and JPEG
  (``realistic``), with Real-ESRGAN's second-order degradation and with ``mixed-order`` (half
  second order, half first order: ``real-x4``'s training kind), against bicubic, with the
  per-photo gains (the check of ``real-x4`` against ``edsr-x4``);
- tiling: the largest difference between tiled (256-pixel tiles) and whole-image output;
- memory: peak resident memory of ``srlib upscale`` making a 3840x2160 image with edsr-x4 (tiled),
  measured in a fresh process.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from srlib import zoo
from srlib.config import machine_description
from srlib.degrade import upscale_bicubic
from srlib.io import save_image
from srlib.samples import load_split
from timing import seconds_per_megapixel, write_results


def peak_memory_4k(folder: Path, name: str = "edsr-x4", tile: int = 256) -> dict:
    """Peak RSS (MiB) and seconds of ``srlib upscale`` producing a 3840x2160 image, fresh process."""
    metadata = zoo.list_models()[name]
    scale = metadata["scale"]
    photo = load_split("valid")["kodim23"]
    lowres = np.tile(photo, (8, 8, 1))[: 2160 // scale, : 3840 // scale]
    source = save_image(folder / "big.png", lowres)
    # VmHWM (peak resident set of this process image), not ru_maxrss, which keeps the forking
    # parent's peak across exec.
    script = ("import re, sys, time, torch; torch.set_num_threads(2); from srlib.cli import main; "
              "started = time.perf_counter(); status = main(sys.argv[1:]); "
              "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
              "print('RESULT', peak, time.perf_counter() - started); sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", script, "upscale", str(source), "-o", str(folder / "out"),
                             "--model", name, "--tile", str(tile), "--device", "cpu"], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(result.stderr)
    _, peak, seconds = next(line for line in result.stdout.splitlines() if line.startswith("RESULT")).split()
    return {"model": name, "tile": tile, "input": f"{lowres.shape[1]}x{lowres.shape[0]}", "output": "3840x2160",
            "peak_rss_mib": int(peak) / 1024, "seconds": float(seconds)}


def onnx_upscaler(model, metadata: dict, folder: Path):
    """``image -> output`` like ``zoo.upscale(..., tile=None)``, through ONNX Runtime on the model's
    ``srlib export`` file (2 threads, as PyTorch here)."""
    import onnxruntime

    from srlib.export import export_onnx

    path = export_onnx(model, metadata, folder / f"{metadata['name']}.onnx", overwrite=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    network_scale, _ = zoo.scale_and_multiple(metadata)

    def run(image):
        if network_scale == 1:  # the U-Nets, auto-encoder and VAE take the bicubic-enlarged image
            image = upscale_bicubic(image, metadata["scale"])
        output = session.run(None, {"image": np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32)})[0]
        return np.clip(output[0].transpose(1, 2, 0), 0.0, 1.0)

    return run


def camera_like(models: dict, photos: dict, degradations=("realistic", "second-order", "mixed-order"),
                draws: int = 4) -> dict:
    """``{degradation: {model: {psnr, ssim, bicubic_psnr, bicubic_ssim, gain, per_photo_gain}}}``
    for the x4 models that take low-resolution inputs or bicubic enlargements (not the crappify
    U-Nets): each photo damaged ``draws`` times (seeds ``[draw, index]``, the same inputs for every
    model), means over all photos and draws; ``per_photo_gain`` is keyed ``photo/draw``."""
    result = {degradation: {} for degradation in degradations}
    for name, metadata in models.items():
        if metadata["scale"] != 4 or metadata["degradation"]["name"] == "crappify":
            continue
        model, _ = zoo.load_model(name, device="cpu")
        for degradation in degradations:
            print(f"{name}: camera-like inputs ({degradation}, {draws} draws per photo)", flush=True)
            rows = []
            for draw in range(draws):
                table = zoo.evaluate_model(model, photos, metadata, degradation=degradation, draw=draw)
                rows += [{**row, "image": f"{row['image']}/{draw}"} for row in table.rows]
            scores = {method: {row["image"]: row for row in rows if row["method"] == method}
                      for method in ("bicubic", name)}
            mean = {method: {key: float(np.mean([row[key] for row in by_image.values()])) for key in ("psnr", "ssim")}
                    for method, by_image in scores.items()}
            result[degradation][name] = {
                "trained_on": metadata["degradation"]["name"], "psnr": mean[name]["psnr"], "ssim": mean[name]["ssim"],
                "bicubic_psnr": mean["bicubic"]["psnr"], "bicubic_ssim": mean["bicubic"]["ssim"],
                "gain": mean[name]["psnr"] - mean["bicubic"]["psnr"], "draws": draws,
                "per_photo_gain": {image: row["psnr"] - scores["bicubic"][image]["psnr"]
                                   for image, row in scores[name].items()}}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/benchmarks/zoo")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    valid = load_split("valid")
    models = zoo.list_models()
    result = {"machine": machine_description(), "torch_threads": torch.get_num_threads(),
              "date": time.strftime("%Y-%m-%d"), "quality": {}, "speed": {}, "tiling": {}}
    photo = valid["kodim23"]
    for name, metadata in models.items():
        model, metadata = zoo.load_model(name, device="cpu")
        scale = metadata["scale"]
        print(f"{name}: quality", flush=True)
        variants = [False, True] if metadata["architecture"]["class"] == "EDSR" else [False]
        for ensemble in variants:
            table = zoo.evaluate_model(model, valid, metadata, self_ensemble=ensemble)
            means = table.mean()
            label = name + (" + self-ensemble" if ensemble else "")
            model_means = means[metadata["name"] + (" (self-ensemble)" if ensemble else "")]
            result["quality"][label] = {"scale": scale, "degradation": metadata["degradation"]["name"],
                                        "psnr": model_means["psnr"], "ssim": model_means["ssim"],
                                        "bicubic_psnr": means["bicubic"]["psnr"],
                                        "gain": model_means["psnr"] - means["bicubic"]["psnr"]}
        lowres, _ = zoo.degrade_like(metadata, photo)
        print(f"{name}: speed and tiling", flush=True)
        result["speed"][name] = {
            "parameters": metadata["parameters"],
            "seconds_per_megapixel": seconds_per_megapixel(lambda image: zoo.upscale(model, metadata, image, tile=None),
                                                           lowres, args.repeats),
            "tiled_seconds_per_megapixel": seconds_per_megapixel(
                lambda image: zoo.upscale(model, metadata, image, tile=256), lowres, args.repeats)}
        small_tiles = zoo.upscale(model, metadata, lowres, tile=128)
        whole = zoo.upscale(model, metadata, lowres, tile=None)
        print(f"{name}: ONNX Runtime", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            through_onnx = onnx_upscaler(model, metadata, Path(folder))
            result["speed"][name]["onnxruntime_seconds_per_megapixel"] = seconds_per_megapixel(
                through_onnx, lowres, args.repeats)
            result["speed"][name]["onnxruntime_max_abs_difference"] = float(np.abs(through_onnx(lowres) - whole).max())
        result["tiling"][name] = {"tile": 128, "max_abs_difference": float(np.abs(small_tiles - whole).max()),
                                  "mean_abs_difference": float(np.abs(small_tiles - whole).mean())}
        if scale not in result["speed"].setdefault("bicubic", {}):
            result["speed"]["bicubic"][scale] = seconds_per_megapixel(lambda image: upscale_bicubic(image, scale),
                                                                      lowres, args.repeats)
    result["camera"] = camera_like(models, valid)
    print("peak memory of a 3840x2160 output", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        result["memory"] = peak_memory_4k(Path(folder))
    output = Path(args.output)
    write_results(output, result, to_markdown(result))
    print(to_markdown(result))
    return 0


def to_markdown(result: dict) -> str:
    lines = [f"Model zoo benchmark, {result['machine']} ({result['torch_threads']} PyTorch threads), {result['date']}.",
             "", "Quality on the 5 validation photos (degraded as in training; Y channel, `scale`-pixel border):", "",
             "| model | scale | degradation | PSNR (dB) | SSIM | bicubic PSNR (dB) | gain (dB) |",
             "|---|---|---|---|---|---|---|"]
    for name, row in result["quality"].items():
        lines.append(f"| {name} | x{row['scale']} | {row['degradation']} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
                     f"{row['bicubic_psnr']:.2f} | {row['gain']:+.2f} |")
    lines += ["", "Inference time per output megapixel (median of repeats; kodim23, 768x512 output; U-Nets "
                  "include their bicubic pre-upsampling):", "",
              "| model | parameters | whole image (s/MP) | 256-px tiles (s/MP) | ONNX Runtime, whole image (s/MP) | "
              "ONNX vs PyTorch: max abs difference | tiled vs whole, 128-px tiles: max / mean abs difference |",
              "|---|---|---|---|---|---|---|"]
    for name, row in result["speed"].items():
        if name == "bicubic":
            continue
        tiling = result["tiling"][name]
        lines.append(f"| {name} | {row['parameters'] / 1e6:.2f} M | {row['seconds_per_megapixel']:.2f} | "
                     f"{row['tiled_seconds_per_megapixel']:.2f} | {row['onnxruntime_seconds_per_megapixel']:.2f} | "
                     f"{row['onnxruntime_max_abs_difference']:.1e} | {tiling['max_abs_difference']:.2e} / "
                     f"{tiling['mean_abs_difference']:.2e} |")
    for scale, value in result["speed"]["bicubic"].items():
        lines.append(f"| bicubic x{scale} (MATLAB imresize, NumPy) | 0 | {value:.3f} | - | - | - | - |")
    lines += ["", "The x4 models on camera-like inputs: the 5 validation photos degraded with blur, noise and JPEG "
                  "(`realistic`, a simple first-order recipe that no model trained on), with Real-ESRGAN's "
                  "second-order degradation (`second-order`) and with `mixed-order` (`real-x4`'s training kind: the "
                  "second order half the time, else the first order alone); each photo damaged 4 times (seeds "
                  "`[draw, index]`), the same inputs for every model, means over the 20 inputs; Y channel, 4-pixel "
                  "border:", "",
              "| inputs | model | trained on | PSNR (dB) | SSIM | bicubic PSNR (dB) | bicubic SSIM | gain (dB) | "
              "per-input gains (dB), median [min, max] | inputs better than bicubic |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for degradation, rows in result["camera"].items():
        for name, row in rows.items():
            gains = np.array(list(row["per_photo_gain"].values()))
            lines.append(f"| {degradation} | {name} | {row['trained_on']} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
                         f"{row['bicubic_psnr']:.2f} | {row['bicubic_ssim']:.4f} | {row['gain']:+.2f} | "
                         f"{np.median(gains):+.2f} [{gains.min():+.2f}, {gains.max():+.2f}] | "
                         f"{int((gains > 0).sum())} of {len(gains)} |")
    memory = result["memory"]
    lines += ["", f"Peak resident memory of `srlib upscale --model {memory['model']} --tile {memory['tile']}` making a "
                  f"{memory['output']} image from {memory['input']}: **{memory['peak_rss_mib']:.0f} MiB** "
                  f"({memory['seconds']:.0f} s, fresh process, CPU)."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
