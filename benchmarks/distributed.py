"""Training on several processes: does DDP train like one process, and what keeps N GPUs fed?

    python benchmarks/distributed.py --output results/benchmarks/distributed

Writes ``<output>.md`` and ``<output>.json``:

1. **Equivalence.** ``srlib.train_sr.train`` for K steps on one process with a batch of 2b crops,
   and on two gloo processes with b crops each (``torch.multiprocessing``, one thread each): the
   largest difference between their weights, and between each and the starting weights (how far
   training moved them). Two processes on this 2-core CPU only show that the bookkeeping is right;
   speed-ups are for GPUs.
2. **Feeding the GPUs.** What one training crop costs a CPU core to produce, by how the photos are
   stored: a whole 2K photo decoded per crop (PNG, as DIV2K ships, or JPEG), a 480x480 sub-image
   decoded per crop (BasicSR's ``extract_subimages``; its LMDB holds the same PNG bytes), or a slice
   of an uncompressed uint8 shard mapped into memory; then the low-resolution side (MATLAB bicubic
   of the crop, or Real-ESRGAN's second-order damage). The photo is a real one: the largest
   version of a wallpaper of Debian's ``plasma-workspace-wallpapers`` (fetched like ``srlib data``),
   cut to DIV2K's 2040 x 1356. Medians of single-threaded calls.
3. **The plan.** Crops per second one H200 consumes (the zoo's ``edsr-x2`` run: its metadata's
   seconds and steps, batch 32) against the crops per second per core of each storage, and the
   time of one epoch of DIV2K + Flickr2K (800 + 2,650 photos of about 2040 x 1356) at that rate.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from timing import median_seconds, write_results

DIV2K_SIZE = (1356, 2040)           # height, width of a typical DIV2K training photo
DF2K_PHOTOS = 800 + 2650            # DIV2K's training photos and Flickr2K's
HR_CROP = 96                        # x2 with 48 low-resolution pixels: EDSR's crop


def _rank(rank: int, world_size: int, rendezvous: str, config, images: dict, output: str, result: str):
    import torch.distributed as dist

    from srlib.train_sr import train

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world_size)
    started = time.perf_counter()
    model, record = train(config, images, output, device="cpu", progress=False)
    if rank == 0:
        torch.save({"state": model.state_dict(), "seconds": time.perf_counter() - started,
                    "history": record["history"]}, result)
    dist.destroy_process_group()


def equivalence(steps: int, per_rank_batch: int) -> dict:
    from srlib.samples import load_split
    from srlib.train_sr import SRTrainConfig, build_model, train

    images = load_split("train")
    config = SRTrainConfig(scale=2, features=16, blocks=2, patch_size=24, batch_size=2 * per_rank_batch, steps=steps,
                           learning_rate=2e-4, checkpoint_every=steps, precision="fp32", seed=0)
    with tempfile.TemporaryDirectory() as folder:
        torch.set_num_threads(1)
        started = time.perf_counter()
        single, single_record = train(config, images, Path(folder) / "one", device="cpu", progress=False)
        single_seconds = time.perf_counter() - started
        torch.set_num_threads(2)
        result = Path(folder) / "two.pt"
        torch.multiprocessing.spawn(_rank, args=(2, str(Path(folder) / "rendezvous"), config, images,
                                                 str(Path(folder) / "two"), str(result)), nprocs=2, join=True)
        two = torch.load(result, weights_only=True)
    start = build_model(config).state_dict()
    difference = max(float((single.state_dict()[name] - two["state"][name]).abs().max()) for name in start)
    moved = max(float((single.state_dict()[name] - start[name]).abs().max()) for name in start)
    history_difference = max(abs(a[1] - b[1]) for a, b in zip(single_record["history"], two["history"]))
    return {"steps": steps, "per_rank_batch": per_rank_batch, "largest_weight_difference": difference,
            "largest_weight_change": moved, "largest_logged_l1_difference": history_difference,
            "single_seconds_per_step": single_seconds / steps, "two_seconds_per_step": two["seconds"] / steps}


def photo() -> tuple[np.ndarray, str]:
    """``(uint8 HWC, file name)``: a DIV2K-sized real photograph, a wallpaper's largest JPEG cut to 2040 x 1356."""
    from PIL import Image

    from srlib.samples import WALLPAPERS, fetch_wallpaper_package

    installed = Path("/usr/share/wallpapers")
    with tempfile.TemporaryDirectory() as folder:
        source = installed if (installed / WALLPAPERS[0]).is_dir() else fetch_wallpaper_package(Path(folder))
        largest = max(Path(source, "Kite", "contents", "images").glob("*.jpg"),
                      key=lambda path: int(path.stem.split("x")[0]) * int(path.stem.split("x")[1]))
        image = np.asarray(Image.open(largest).convert("RGB"))
    top, left = (image.shape[0] - DIV2K_SIZE[0]) // 2, (image.shape[1] - DIV2K_SIZE[1]) // 2
    return np.ascontiguousarray(image[top:top + DIV2K_SIZE[0], left:left + DIV2K_SIZE[1]]), largest.name


def crop_costs(image: np.ndarray, repeats: int) -> dict:
    import cv2
    from PIL import Image

    from srlib.degrade import second_order
    from srlib.resize import imresize

    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)

    def corner(height, width, size):
        return int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))

    costs = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        Image.fromarray(image).save(folder / "photo.png")                       # Pillow's default level 6
        cv2.imwrite(str(folder / "photo_level1.png"), image[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
        Image.fromarray(image).save(folder / "photo.jpg", quality=95)
        Image.fromarray(image[:480, :480]).save(folder / "sub.png", compress_level=3)  # BasicSR's level
        np.save(folder / "shard.npy", image)
        sizes = {name: (folder / name).stat().st_size for name in ("photo.png", "photo_level1.png", "photo.jpg",
                                                                   "sub.png", "shard.npy")}

        def from_file(name, size, reader):
            def run():
                array = reader(folder / name)
                top, left = corner(array.shape[0], array.shape[1], size)
                return np.ascontiguousarray(array[top:top + size, left:left + size])
            return run

        pillow = lambda path: np.asarray(Image.open(path).convert("RGB"))      # noqa: E731
        opencv = lambda path: cv2.imread(str(path), cv2.IMREAD_COLOR)           # noqa: E731
        shard = np.load(folder / "shard.npy", mmap_mode="r")
        cases = {
            "whole 2K PNG decoded per crop (Pillow)": from_file("photo.png", HR_CROP, pillow),
            "whole 2K PNG decoded per crop (OpenCV)": from_file("photo.png", HR_CROP, opencv),
            "whole 2K PNG, compression level 1 (OpenCV)": from_file("photo_level1.png", HR_CROP, opencv),
            "whole 2K JPEG quality 95 decoded per crop (OpenCV)": from_file("photo.jpg", HR_CROP, opencv),
            "480x480 sub-image PNG decoded per crop (OpenCV)": from_file("sub.png", HR_CROP, opencv),
            "uint8 shard mapped in memory, a slice": from_file("shard.npy", HR_CROP, lambda path: shard),
        }
        for label, function in cases.items():
            costs[label] = median_seconds(function, repeats=repeats, warmup=2)
    crop = image[:HR_CROP, :HR_CROP].astype(np.float32) / 255
    crop4 = image[:2 * HR_CROP, :2 * HR_CROP].astype(np.float32) / 255
    low_side = {
        "x2 MATLAB bicubic of a 96x96 crop": median_seconds(lambda: imresize(crop, scale=0.5), repeats, 2),
        "x4 second-order damage of a 192x192 crop (Real-ESRGAN)":
            median_seconds(lambda: second_order(crop4, 4, seed=int(rng.integers(1 << 30))), repeats, 2),
    }
    return {"per_crop_seconds": costs, "low_resolution_seconds": low_side, "file_bytes": sizes}


def plan(costs: dict) -> dict:
    from srlib.zoo import model_path, training_stages
    from srlib.torch.checkpoints import load_metadata

    # the H200 run that started the zoo's edsr-x2 (a later stage may have continued it on a CPU)
    training = next(stage for stage in training_stages(load_metadata(model_path("edsr-x2")))
                    if stage["machine"].startswith("GPU"))
    batch = training["config"]["batch_size"]
    seconds_per_step = training["seconds"] / training["steps"]
    crops_per_second = batch / seconds_per_step
    epoch_crops = DF2K_PHOTOS * DIV2K_SIZE[0] * DIV2K_SIZE[1] / HR_CROP**2   # every pixel once, on average
    cores = {label: crops_per_second * seconds for label, seconds in costs["per_crop_seconds"].items()}
    bicubic = costs["low_resolution_seconds"]["x2 MATLAB bicubic of a 96x96 crop"]
    return {"gpu": training["machine"], "gpu_seconds_per_step": seconds_per_step, "batch": batch,
            "crops_per_second_per_gpu": crops_per_second, "epoch_crops": epoch_crops,
            "epoch_minutes_one_gpu": epoch_crops / crops_per_second / 60,
            "cores_per_gpu": cores, "cores_per_gpu_with_bicubic_per_crop":
                {label: crops_per_second * (seconds + bicubic) for label, seconds in costs["per_crop_seconds"].items()}}


def markdown(result: dict) -> str:
    eq, costs, need = result["equivalence"], result["costs"], result["plan"]
    lines = [f"# Several processes ({result['date']}, {result['machine']})", "",
             f"## 1 x {2 * eq['per_rank_batch']} crops against 2 processes x {eq['per_rank_batch']} (gloo), "
             f"{eq['steps']} steps", "",
             f"- largest weight difference: {eq['largest_weight_difference']:.2e} "
             f"(training moved the weights by up to {eq['largest_weight_change']:.2e})",
             f"- largest difference of the logged L1 (every 50 steps): {eq['largest_logged_l1_difference']:.2e}",
             f"- seconds per step: {eq['single_seconds_per_step']:.3f} on 1 process (1 thread), "
             f"{eq['two_seconds_per_step']:.3f} on 2 processes (1 thread each, this 2-core CPU)", "",
             f"## One training crop ({HR_CROP}x{HR_CROP}), one CPU core; photo: {result['photo']} cut to "
             f"{DIV2K_SIZE[1]}x{DIV2K_SIZE[0]}", "",
             "| storage | ms per crop | crops per second per core | cores to feed one H200 |", "|---|---|---|---|"]
    for label, seconds in costs["per_crop_seconds"].items():
        lines.append(f"| {label} | {seconds * 1000:.3f} | {1 / seconds:,.0f} | {need['cores_per_gpu'][label]:.2f} |")
    lines += ["", "| low-resolution side | ms per crop |", "|---|---|"]
    lines += [f"| {label} | {seconds * 1000:.2f} |" for label, seconds in costs["low_resolution_seconds"].items()]
    lines += ["", "File sizes: " + ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in costs["file_bytes"].items()),
              "", "## The plan", "",
              f"One {need['gpu']} trained EDSR-baseline x2 at {need['gpu_seconds_per_step'] * 1000:.1f} ms per step "
              f"with {need['batch']} crops (the zoo's edsr-x2 run): {need['crops_per_second_per_gpu']:,.0f} crops per "
              f"second per GPU. One epoch of DIV2K + Flickr2K ({DF2K_PHOTOS:,} photos of {DIV2K_SIZE[1]}x{DIV2K_SIZE[0]}, "
              f"every pixel once in {HR_CROP}x{HR_CROP} crops) is {need['epoch_crops']:,.0f} crops: "
              f"{need['epoch_minutes_one_gpu']:.1f} min on one GPU, that divided by N on N GPUs when the data keeps up.",
              "", "Cores per GPU with the x2 MATLAB bicubic computed per crop as well:", ""]
    lines += [f"- {label}: {cores:.2f}" for label, cores in need["cores_per_gpu_with_bicubic_per_crop"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from srlib.config import machine_description

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="results/benchmarks/distributed", help="path without suffix")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    image, name = photo()
    costs = crop_costs(image, args.repeats)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine_description(), "photo": f"Kite/{name}",
              "equivalence": equivalence(args.steps, 4), "costs": costs}
    result["plan"] = plan(costs)
    write_results(args.output, result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
