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
  second order, half first order; the second order is the ladder's ``heavy`` rung), against bicubic, with the
  per-photo gains (the check of ``real-x4`` against ``edsr-x4``);
- the damage ladder: the x2 and x4 models at each rung (``clean``, ``mild``, ``moderate``,
  ``heavy``; ``srlib.degrade.LADDER``), against bicubic, with the worst input's gain
  (``srlib.zoo.evaluate_degradations``, as ``srlib evaluate --degradation ladder``);
- strength: each camera model blended with its faithful partner at strengths 0 to 1
  (``srlib.zoo.strength_sweep``) on the ladder, and the default ``srlib.zoo.choose_strength`` picks;
- OpenCV's protocol: the x4 models on ``monarch`` under OpenCV dnn_superres's published protocol
  (``srlib.evaluation.opencv_protocol``) beside its published ESPCN, FSRCNN, LapSRN and EDSR rows;
- tiling: the largest difference between tiled (256-pixel tiles) and whole-image output;
- memory: peak resident memory of ``srlib upscale`` making a 3840x2160 image with edsr-x4 (tiled),
  measured in a fresh process.

``--sections`` runs some of them (``quality`` is the quality, speed, ONNX and tiling loop) and
``--models`` some of the models; the report leaves out what was not run.
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
from srlib.degrade import LADDER
from srlib.resize import upscale_bicubic
from srlib.evaluation import OPENCV_MONARCH_X4, opencv_protocol
from srlib.io import save_image
from srlib.samples import load_split
from timing import seconds_per_megapixel, write_results

#: What ``--sections`` chooses from.
SECTIONS = ("quality", "camera", "ladder", "strength", "opencv", "memory")


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
                draws: int = 4, scales=(4,), folder=zoo.ZOO_DIR) -> dict:
    """``{degradation: {model: {trained_on, draws, psnr, ssim, bicubic_psnr, bicubic_ssim, gain,
    worst_gain, worst_photo, per_photo_gain}}}`` (:func:`srlib.zoo.evaluate_degradations`) for the
    models of ``scales`` (``{name: metadata}`` of the zoo in ``folder``) that take low-resolution
    inputs or bicubic enlargements (not the crappify U-Nets): each photo damaged ``draws`` times
    (seeds ``[draw, index]``, the same inputs for every model), means over all photos and draws;
    ``per_photo_gain`` is keyed ``photo/draw`` (``photo`` alone for one draw)."""
    result = {degradation: {} for degradation in degradations}
    for name, metadata in models.items():
        if metadata["scale"] not in scales or metadata["degradation"]["name"] == "crappify":
            continue
        model, metadata = zoo.load_model(name, device="cpu", folder=folder)
        print(f"{name}: {', '.join(degradations)} ({draws} draws per photo)", flush=True)
        scores = zoo.evaluate_degradations(model, photos, metadata, degradations, draws)
        for degradation, row in scores.items():
            result[degradation][name] = {"trained_on": metadata["degradation"]["name"], "draws": draws, **row}
    return result


def strength_table(models: dict, photos: dict, draws: int = 4, folder=zoo.ZOO_DIR, strengths=zoo.STRENGTHS) -> dict:
    """Each camera model (one whose metadata names a faithful partner) at each strength of
    ``srlib.zoo.STRENGTHS`` on the damage ladder, ``draws`` damages of each photo, with the default
    strength its metadata gives and the one ``srlib.zoo.choose_strength`` picks from these scores."""
    section = {}
    for name, metadata in models.items():
        if not metadata.get("faithful"):
            continue
        print(f"{name}: strengths {', '.join(f'{s:g}' for s in strengths)} on the ladder", flush=True)
        sweep = zoo.strength_sweep(name, photos, strengths=strengths, draws=draws, folder=folder, progress=True)
        section[name] = {"faithful": metadata["faithful"]["model"], "draws": draws,
                         "default_strength": metadata["faithful"]["default_strength"],
                         "chosen": zoo.choose_strength(sweep), "sweep": {f"{s:g}": rows for s, rows in sweep.items()}}
    return section


def opencv_table(models: dict, photo: np.ndarray, scale: int = 4, folder=zoo.ZOO_DIR) -> dict:
    """The models of ``scale`` (``{name: metadata}`` of the zoo in ``folder``; not the crappify
    U-Nets) under OpenCV dnn_superres's protocol on ``photo`` (``monarch`` for its published
    table): ``{"measured": {method: PSNR}, "published": srlib.evaluation.OPENCV_MONARCH_X4}``;
    ``measured`` holds OpenCV's bicubic, nearest and Lanczos rows, then each model (whole image);
    ``published`` is empty at other scales than 4."""
    upscalers = {}
    for name, metadata in models.items():
        if metadata["scale"] != scale or metadata["degradation"]["name"] == "crappify":
            continue
        model, metadata = zoo.load_model(name, device="cpu", folder=folder)
        upscalers[name] = lambda lowres, model=model, metadata=metadata: zoo.upscale(model, metadata, lowres, tile=None)
    print(f"OpenCV's protocol, x{scale}: {', '.join(upscalers)}", flush=True)
    return {"scale": scale, "measured": opencv_protocol(photo, scale, upscalers),
            "published": OPENCV_MONARCH_X4 if scale == 4 else {}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/benchmarks/zoo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--models", nargs="+", default=None, help="zoo names (default: the whole zoo)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    valid = load_split("valid")
    models = zoo.list_models()
    unknown = sorted(set(args.models or []) - set(models))
    if unknown:
        parser.error(f"unknown models {', '.join(unknown)}; the zoo has {', '.join(models)}")
    models = {name: metadata for name, metadata in models.items() if not args.models or name in args.models}
    result = {"machine": machine_description(), "torch_threads": torch.get_num_threads(),
              "date": time.strftime("%Y-%m-%d")}
    if "quality" in args.sections:
        result.update(quality_and_speed(models, valid, args.repeats))
    if "camera" in args.sections:
        result["camera"] = camera_like(models, valid)
    if "ladder" in args.sections:
        result["ladder"] = camera_like(models, valid, LADDER, scales=(2, 4))
    if "strength" in args.sections:
        result["strength"] = strength_table(models, valid)
    if "opencv" in args.sections:
        result["opencv"] = opencv_table(models, valid["monarch"])
    if "memory" in args.sections:
        print("peak memory of a 3840x2160 output", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            result["memory"] = peak_memory_4k(Path(folder))
    output = Path(args.output)
    write_results(output, result, to_markdown(result))
    print(to_markdown(result))
    return 0


def quality_and_speed(models: dict, valid: dict, repeats: int) -> dict:
    """``{"quality", "speed", "tiling"}``: each model on the validation photos degraded its own way
    (and self-ensembled for EDSR), its speed in PyTorch and ONNX Runtime, and its tiling error."""
    result = {"quality": {}, "speed": {}, "tiling": {}}
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
                                                           lowres, repeats),
            "tiled_seconds_per_megapixel": seconds_per_megapixel(
                lambda image: zoo.upscale(model, metadata, image, tile=256), lowres, repeats)}
        small_tiles = zoo.upscale(model, metadata, lowres, tile=128)
        whole = zoo.upscale(model, metadata, lowres, tile=None)
        if zoo.is_diffusion(metadata):  # a sampling loop, which ONNX export refuses
            result["speed"][name].update(onnxruntime_seconds_per_megapixel=None, onnxruntime_max_abs_difference=None)
        else:
            print(f"{name}: ONNX Runtime", flush=True)
            with tempfile.TemporaryDirectory() as folder:
                through_onnx = onnx_upscaler(model, metadata, Path(folder))
                result["speed"][name]["onnxruntime_seconds_per_megapixel"] = seconds_per_megapixel(
                    through_onnx, lowres, repeats)
                result["speed"][name]["onnxruntime_max_abs_difference"] = float(
                    np.abs(through_onnx(lowres) - whole).max())
        result["tiling"][name] = {"tile": 128, "max_abs_difference": float(np.abs(small_tiles - whole).max()),
                                  "mean_abs_difference": float(np.abs(small_tiles - whole).mean())}
        if scale not in result["speed"].setdefault("bicubic", {}):
            result["speed"]["bicubic"][scale] = seconds_per_megapixel(lambda image: upscale_bicubic(image, scale),
                                                                      lowres, repeats)
    return result


def to_markdown(result: dict) -> str:
    """The report: a section for each part of ``result`` that was run."""
    lines = [f"Model zoo benchmark, {result['machine']} ({result['torch_threads']} PyTorch threads), {result['date']}."]
    if "quality" in result:
        lines += quality_markdown(result)
    if "camera" in result:
        lines += ["", "The x4 models on camera-like inputs: the 5 validation photos degraded with blur, noise and JPEG "
                      "(`realistic`, a simple first-order recipe that no model trained on), with Real-ESRGAN's "
                      "second-order degradation (`second-order`, the ladder's `heavy` rung) and with `mixed-order` "
                      "(the second order half the time, else the first order alone); each photo damaged 4 times (seeds "
                      "`[draw, index]`), the same inputs for every model, means over the 20 inputs; Y channel, "
                      "4-pixel border:", ""] + camera_markdown(result["camera"])
    if "ladder" in result:
        lines += ["", "The x2 and x4 models on the damage ladder (`srlib.degrade.LADDER`; `srlib evaluate "
                      "--degradation ladder`): `clean` (a reduction by MATLAB's or Pillow's bicubic, or OpenCV's "
                      "linear, cubic, area or nearest, drawn per input), `mild` (blur sigma up to 1.5, noise up to "
                      "6 levels, JPEG 55-95), `moderate` (blur up to 2.5, noise up to 15, JPEG 35-75), `heavy` "
                      "(Real-ESRGAN's second order); each photo damaged 4 times (seeds `[draw, index]`), the same "
                      "inputs for every model; Y channel, `scale`-pixel border:", ""] + camera_markdown(result["ladder"])
    for name, row in result.get("strength", {}).items():
        sweep = {float(strength): rows for strength, rows in row["sweep"].items()}
        lines += ["", f"`{name}` blended with `{row['faithful']}` (`--strength S`: 0 is {row['faithful']}, 1 is {name}) "
                      f"on the damage ladder, {row['draws']} damages of each validation photo: the mean gain over "
                      f"bicubic in dB and, in brackets, the worst input's. The default strength is "
                      f"{row['default_strength']:g}; `srlib.zoo.choose_strength` picks **{row['chosen']:g}** from "
                      f"these scores ({zoo.STRENGTH_RULE}):", "", zoo.strength_markdown(sweep, name, row["chosen"])]
    if "opencv" in result:
        lines += [""] + opencv_markdown(result["opencv"])
    if "memory" in result:
        memory = result["memory"]
        lines += ["", f"Peak resident memory of `srlib upscale --model {memory['model']} --tile {memory['tile']}` making "
                      f"a {memory['output']} image from {memory['input']}: **{memory['peak_rss_mib']:.0f} MiB** "
                      f"({memory['seconds']:.0f} s, fresh process, CPU)."]
    return "\n".join(lines)


def quality_markdown(result: dict) -> list[str]:
    lines = ["", "Quality on the 5 validation photos (degraded as in training; Y channel, `scale`-pixel border):", "",
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
        onnx = ("- (a sampling loop) | -" if row["onnxruntime_seconds_per_megapixel"] is None else
                f"{row['onnxruntime_seconds_per_megapixel']:.2f} | {row['onnxruntime_max_abs_difference']:.1e}")
        lines.append(f"| {name} | {row['parameters'] / 1e6:.2f} M | {row['seconds_per_megapixel']:.2f} | "
                     f"{row['tiled_seconds_per_megapixel']:.2f} | {onnx} | {tiling['max_abs_difference']:.2e} / "
                     f"{tiling['mean_abs_difference']:.2e} |")
    for scale, value in result["speed"].get("bicubic", {}).items():
        lines.append(f"| bicubic x{scale} (MATLAB imresize, NumPy) | 0 | {value:.3f} | - | - | - | - |")
    return lines


def camera_markdown(section: dict) -> list[str]:
    """:func:`camera_like`'s result: one row per damage and model."""
    lines = ["| inputs | model | trained on | PSNR (dB) | SSIM | bicubic PSNR (dB) | bicubic SSIM | gain (dB) | "
             "per-input gains (dB), median [min, max] | worst input | inputs better than bicubic |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for degradation, rows in section.items():
        for name, row in rows.items():
            gains = np.array(list(row["per_photo_gain"].values()))
            lines.append(f"| {degradation} | {name} | {row['trained_on']} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
                         f"{row['bicubic_psnr']:.2f} | {row['bicubic_ssim']:.4f} | {row['gain']:+.2f} | "
                         f"{np.median(gains):+.2f} [{gains.min():+.2f}, {gains.max():+.2f}] | "
                         f"{row['worst_photo']} | {int((gains > 0).sum())} of {len(gains)} |")
    return lines


def opencv_markdown(section: dict) -> list[str]:
    """:func:`opencv_table`'s result: our measurements beside OpenCV's published rows."""
    published, measured = section["published"], section["measured"]
    lines = [f"Under OpenCV dnn_superres's protocol (x{section['scale']}, Set14's `monarch`: cropped to a multiple "
             "of the scale, reduced by `cv2.resize`'s default `INTER_LINEAR` on 8 bits, outputs rounded to 8 bits, "
             "RGB PSNR on all pixels, no border), beside the table of opencv_contrib's "
             "`modules/dnn_superres/README.md` (bicubic, nearest and Lanczos are `cv2.resize` enlargements):", "",
             "| method | PSNR (dB), measured here | PSNR (dB), published by OpenCV |", "|---|---|---|"]
    for method in dict.fromkeys([*published, *measured]):
        ours = f"{measured[method]:.4f}" if method in measured else "-"
        theirs = f"{published[method]['psnr']:.4f}" if method in published else "-"
        lines.append(f"| {method} | {ours} | {theirs} |")
    return lines

if __name__ == "__main__":
    raise SystemExit(main())
