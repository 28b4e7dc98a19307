"""Is the training pool the limit? EDSR's quality on the validation photos against the number of
training photos (issue 15: "if the pool is the limit, show the curve that says so").

    python benchmarks/pool.py --output results/benchmarks/pool
    python benchmarks/pool.py --features 64 --blocks 16 --steps 20000 --batch-size 32   # the zoo's size, a GPU

Writes ``<output>.md``, ``<output>.json`` and the curve's figure (``--figure``, by default the
README's ``img/pool_curve.png``):

1. **The curve.** The pool (:func:`srlib.samples.load_pool`: the sample photos' train split and the
   Debian wallpapers, never the validation or held-out photos) in one seeded order; for each size
   n, EDSR trained from scratch on the first n photos (nested subsets) with
   :func:`srlib.train_sr.train`, the same seed, steps and batch for every n, so every model sees
   the same number of crops and only their variety changes. Each model is scored (x2, bicubic
   degradation, Y channel, 2-pixel border) on the 5 validation photos and on the photos it trained
   on: the gap between the two says how much it memorised. Checkpoints go to ``--workdir``, so an
   interrupted benchmark resumes where it stopped.
2. **The zoo's models on seen and unseen photos.** ``edsr-x2`` and ``edsr-x4`` (and any
   ``--candidate`` folder of ``python -m srlib.train_sr``) scored on the sample photos' train
   split, on the wallpapers and on the validation photos, each set's gain over bicubic: a model
   trained on the samples alone has never seen the wallpapers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from timing import write_results

SCALE = 2


def pool_order(pool: dict, seed: int = 0) -> list[str]:
    """The pool's names in a seeded random order (the first n are the curve's n photos)."""
    names = sorted(pool)
    return [names[index] for index in np.random.default_rng(seed).permutation(len(names))]


def gains(model, images: dict, name: str, scale: int = SCALE) -> dict:
    """``{psnr, bicubic_psnr, gain}`` of a bicubic-task EDSR ``model`` on ``images`` (means in dB)."""
    from srlib.zoo import evaluate_model

    metadata = {"name": name, "scale": scale, "input": "lowres", "degradation": {"name": "bicubic"}}
    means = evaluate_model(model, images, metadata, precision="fp32").mean()
    return {"psnr": means[name]["psnr"], "bicubic_psnr": means["bicubic"]["psnr"],
            "gain": means[name]["psnr"] - means["bicubic"]["psnr"]}


def curve(pool: dict, validation: dict, sizes, features: int, blocks: int, steps: int, batch_size: int,
          workdir: Path, patch_size: int = 48, seed: int = 0) -> dict:
    """EDSR trained on the first n photos of ``pool`` (``{name: HWC [0, 1]}``) in :func:`pool_order`
    for each n of ``sizes``, scored on ``validation`` and on its own photos. Returns ``{"order",
    "points": [{photos, megapixels, validation, training, seconds, final_l1}], ...}``; the runs'
    checkpoints are ``workdir/photos_<n>`` (a finished one is read back, not trained again)."""
    from srlib.train_sr import SRTrainConfig, train

    if max(sizes) > len(pool):
        raise ValueError(f"sizes up to {max(sizes)} photos, but the pool has {len(pool)}")
    order = pool_order(pool, seed)
    points = []
    for size in sizes:
        subset = {name: pool[name] for name in order[:size]}
        config = SRTrainConfig(scale=SCALE, features=features, blocks=blocks, patch_size=patch_size,
                               batch_size=batch_size, steps=steps, seed=seed, precision="fp32",
                               checkpoint_every=max(100, steps // 10),
                               data=[f"the first {size} photos of the pool in benchmarks/pool.py's order"])
        print(f"{size} photo(s): EDSR {features}x{blocks}, {steps} steps of {batch_size} crops", flush=True)
        model, record = train(config, subset, workdir / f"photos_{size}", progress=False)
        points.append({"photos": size,
                       "megapixels": sum(image.shape[0] * image.shape[1] for image in subset.values()) / 1e6,
                       "validation": gains(model, validation, "EDSR"),
                       "training": gains(model, subset, "EDSR"),
                       "seconds": record["seconds"], "final_l1": record["history"][-1][1]})
        print(f"  validation gain {points[-1]['validation']['gain']:+.2f} dB, "
              f"on its own photos {points[-1]['training']['gain']:+.2f} dB", flush=True)
    return {"order": order, "features": features, "blocks": blocks, "steps": steps, "batch_size": batch_size,
            "patch_size": patch_size, "points": points}


def seen_and_unseen(candidates: dict) -> dict:
    """``{model: {set: gains}}`` for the zoo's ``edsr-x2`` and ``edsr-x4`` and each candidate
    ``{label: train_sr folder or zoo .safetensors file}``, on the sample photos' train split, the
    wallpapers and the validation photos."""
    from srlib.samples import load_pool, load_split
    from srlib.zoo import load_model
    from srlib.torch.edsr import EDSR

    sets = {"samples (train split)": load_split("train"),
            "wallpapers": load_pool(("wallpapers",)),
            "validation": load_split("valid")}
    models = {}
    for name in ("edsr-x2", "edsr-x4"):
        model, metadata = load_model(name, device="cpu")
        models[f"{name} (zoo)"] = (model, metadata["data"], metadata["scale"])
    for label, source in candidates.items():
        if str(source).endswith(".safetensors"):  # a zoo file kept aside (an earlier version of a zoo model)
            model, metadata = load_model(str(source), device="cpu")
            models[label] = (model, metadata["data"], metadata["scale"])
            continue
        record = json.loads((Path(source) / "record.json").read_text())
        config = record["config"]
        model = EDSR(scale=config["scale"], features=config["features"], blocks=config["blocks"])
        model.load_state_dict(torch.load(Path(source) / "weights.pt", map_location="cpu", weights_only=True))
        models[label] = (model.eval(), config["data"], config["scale"])
    result = {}
    for label, (model, data, scale) in models.items():
        print(f"{label}: scoring on {', '.join(sets)}", flush=True)
        result[label] = {"trained_on": data, "scale": scale,
                         **{name: gains(model, images, "EDSR", scale) for name, images in sets.items()}}
    return result


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = result["curve"]["points"]
    photos = [point["photos"] for point in points]
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    axis.plot(photos, [point["training"]["gain"] for point in points], "o--", color="tab:gray",
              label="on the photos it trained on")
    axis.plot(photos, [point["validation"]["gain"] for point in points], "o-", color="tab:blue",
              label="on the 5 validation photos")
    axis.set_xscale("log")
    axis.set_xticks(photos, [str(n) for n in photos])
    axis.axhline(0, color="black", linewidth=0.6)
    curve_ = result["curve"]
    axis.set(xlabel="training photos (nested subsets of the pool)", ylabel="PSNR gain over bicubic (dB, Y)",
             title=f"EDSR {curve_['features']}x{curve_['blocks']}, x2, {curve_['steps']:,} steps of "
                   f"{curve_['batch_size']} crops each")
    axis.legend()
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def markdown(result: dict) -> str:
    curve_ = result["curve"]
    lines = [f"Training pool benchmark, {result['machine']}, {result['date']} "
             f"(`{result.get('command', 'python benchmarks/pool.py')}`).", "",
             f"**Quality against the number of training photos.** EDSR {curve_['features']} features x "
             f"{curve_['blocks']} blocks, x2, trained from scratch on the first n photos of the pool "
             f"(nested subsets, seeded order), {curve_['steps']:,} steps of {curve_['batch_size']} crops of "
             f"{curve_['patch_size']} low-resolution pixels for every n (the same number of crops; only their variety changes), "
             "float32; gains over bicubic, Y channel, 2-pixel border.", "",
             "| photos | megapixels | validation gain (dB) | gain on its own photos (dB) | gap (dB) | final L1 | "
             "training (s) |", "|---|---|---|---|---|---|---|"]
    for point in curve_["points"]:
        gap = point["training"]["gain"] - point["validation"]["gain"]
        lines.append(f"| {point['photos']} | {point['megapixels']:.1f} | {point['validation']['gain']:+.2f} | "
                     f"{point['training']['gain']:+.2f} | {gap:.2f} | {point['final_l1']:.4f} | "
                     f"{point['seconds']:.0f} |")
    lines += ["", f"The pool's order: {', '.join(curve_['order'])}.", ""]
    if result.get("seen"):
        sets = [name for name in next(iter(result["seen"].values())) if name not in ("trained_on", "scale")]
        lines += ["**EDSR-baseline (64 x 16) on photos it saw and did not see:** gain over bicubic (dB) on each "
                  "set, Y channel, `scale` pixels of border.", "",
                  "| model | scale | trained on | " + " | ".join(sets) + " |", "|---|---|---|" + "---|" * len(sets)]
        for label, row in result["seen"].items():
            lines.append(f"| {label} | x{row['scale']} | {', '.join(row['trained_on'])} | " +
                         " | ".join(f"{row[name]['gain']:+.2f} ({row[name]['psnr']:.2f})" for name in sets) + " |")
        lines += ["", "Each cell: gain over bicubic, then the model's own PSNR in brackets."]
    return "\n".join(lines)


def main(argv=None) -> int:
    from srlib.config import machine_description
    from srlib.samples import load_pool, load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/benchmarks/pool")
    parser.add_argument("--figure", type=Path, default=Path("img/pool_curve.png"))
    parser.add_argument("--workdir", type=Path, default=Path("models/train/pool_curve"),
                        help="checkpoints of the curve's runs (a rerun resumes them)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 5, 10, 20])
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=48, help="low-resolution pixels per crop side")
    parser.add_argument("--candidate", nargs=2, action="append", default=[], metavar=("LABEL", "SOURCE"),
                        help="also score this model on seen and unseen photos: a train_sr run folder (weights.pt, "
                             "record.json) or a zoo .safetensors file with its .json")
    parser.add_argument("--no-zoo", action="store_true", help="skip part 2 (the zoo's edsr-x2 on seen/unseen photos)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    started = time.perf_counter()
    command = "python benchmarks/pool.py" + "".join(f" {argument}" for argument in (sys.argv[1:] if argv is None else argv))
    result = {"machine": machine_description(), "date": time.strftime("%Y-%m-%d"), "command": command,
              "curve": curve(load_pool(), load_split("valid"), args.sizes, args.features, args.blocks, args.steps,
                             args.batch_size, args.workdir, args.patch_size),
              "seen": None if args.no_zoo else seen_and_unseen(dict(args.candidate))}
    result["seconds"] = time.perf_counter() - started
    write_results(args.output, result, markdown(result))
    plot(result, args.figure)
    print(Path(args.output).with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
