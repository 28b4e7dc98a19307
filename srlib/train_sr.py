"""Train a classic super-resolution network (EDSR) on aligned random crops, resumably (imports torch).

The zoo's bicubic x2/x4 models come from here; taught in ``notebooks/06_classic_sr.ipynb``, which
writes the same loop and crop sampler in its cells first. Pairs are the photos cropped to a
multiple of the scale and their MATLAB-bicubic reductions, computed once; each step draws ``batch_size`` aligned
crops (``patch_size`` low-resolution pixels square) with random flips and rotations, from images
chosen in proportion to their area, using a seeded ``torch.Generator``. The loss is L1 (EDSR's),
Adam with a cosine learning-rate decay. Steps run in bfloat16 autocast with channels-last tensors
where the hardware computes bfloat16 natively (``precision="auto"``, :mod:`srlib.torch.precision`).

Several processes: under ``torchrun --nproc_per_node N -m srlib.train_sr ...`` (or with a process
group already initialised) each process trains a replica wrapped in PyTorch's
``DistributedDataParallel``, NCCL between GPUs (one per process, ``LOCAL_RANK``) and gloo between
CPU processes. ``batch_size`` stays the *global* batch: every process draws the same plan of
``batch_size`` crops from the shared seed and cuts out only its own ``batch_size / N`` of them, and
DDP averages the gradients, so N processes train on exactly the crops of one process (tested:
the same weights within float rounding) and a checkpoint resumes with any N that divides the batch.
Only rank 0 writes checkpoints, files and log lines.

Interruptions: every ``checkpoint_every`` steps the model, the optimizer, the step, the history
and the crop generator's state go to ``<output>/checkpoint.pt`` (written atomically; loaded with
``weights_only=True``, so no code runs). Running again with the same output folder resumes and,
on the CPU, ends with exactly the weights of an uninterrupted run (tested).

    python -m srlib.train_sr --scale 4 --steps 20000 --output models/train/edsr_x4
    python -m srlib.train_sr --scale 2 --seconds 600 --output models/train/edsr_x2   # steps from a timing
    torchrun --nproc_per_node 4 -m srlib.train_sr --scale 4 --batch-size 64 --output models/train/edsr_x4_4gpu
"""
from __future__ import annotations

import argparse
import json
import sys
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srlib.arrays import mod_crop, to_float
from srlib.config import shown_path
from srlib.degrade import bicubic
from srlib.io import atomic_write
from srlib.torch import default_device, precision as precisions
from srlib.torch.edsr import EDSR, count_parameters
from srlib.torch.distributed import process_group, start as start_processes, stop as stop_processes


@dataclass
class SRTrainConfig:
    """Everything that fixes a training run (saved in the checkpoint and in the zoo metadata)."""

    scale: int = 2
    features: int = 64
    blocks: int = 16
    patch_size: int = 48  # low-resolution pixels; the high-resolution crop is scale times larger
    batch_size: int = 16
    steps: int = 1000
    learning_rate: float = 2e-4
    final_learning_rate: float = 1e-6
    seed: int = 0
    checkpoint_every: int = 500
    precision: str = "auto"  # auto / fp32 / bf16 (srlib.torch.precision); the record says what was used
    degradation: str = "bicubic"  # or a random one of srlib.degrade (second-order: camera-like), per crop
    data: list = field(default_factory=lambda: ["srlib samples: train split"])
    init: str | None = None  # weights to start from: a weights.pt, a .safetensors file or a zoo name


def build_model(config: SRTrainConfig) -> EDSR:
    """The EDSR that ``config`` describes, float32: untrained, or started from ``config.init``
    (:func:`initial_weights`; tensors whose names and shapes match are loaded, so an x2 model's
    body can start an x4 one)."""
    model = EDSR(scale=config.scale, features=config.features, blocks=config.blocks)
    if config.init:
        state = initial_weights(config.init)
        own = model.state_dict()
        own.update({name: tensor.to(own[name].dtype) for name, tensor in state.items()
                    if name in own and own[name].shape == tensor.shape})
        model.load_state_dict(own)
    return model


def initial_weights(source: str) -> dict:
    """The tensors to start a run from: ``weights.pt`` (a state dict saved by this trainer), a
    ``.safetensors`` file, or a zoo model's name (``edsr-x4``: the fine-tune that RealESRNet does
    from a PSNR-trained model). Raises ``ValueError`` naming the source when it is none of these."""
    path = Path(source)
    if path.suffix == ".pt":
        if not path.exists():
            raise ValueError(f"{path}: no such weights file")
        return torch.load(path, map_location="cpu", weights_only=True)
    from safetensors.torch import load_file

    from srlib.zoo import model_path

    return load_file(str(model_path(source) if path.suffix in ("", ".safetensors") else path))


def make_pairs(images: dict, scale: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``[(lowres CHW, highres CHW)]``: each photo cropped to a multiple of ``scale`` and its MATLAB
    bicubic reduction. Photos smaller than one crop are refused by :class:`CropSampler`."""
    pairs = []
    for name, image in images.items():
        highres = mod_crop(to_float(image, name), scale)
        lowres = bicubic(highres, scale)
        pairs.append((torch.from_numpy(lowres.transpose(2, 0, 1).copy()),
                      torch.from_numpy(highres.transpose(2, 0, 1).copy())))
    return pairs


class CropSampler:
    """Aligned random crops with the 8 dihedral transforms, drawn from a seeded generator.

    With ``degradation`` other than ``"bicubic"`` (a random one of :mod:`srlib.degrade`, such as
    ``"second-order"``), each crop's low-resolution patch is made afresh from its high-resolution
    crop, with a seed drawn from the same generator: a new damage every time the crop is drawn,
    still repeatable and resumable. The pairs' precomputed bicubic images then only give sizes.
    """

    def __init__(self, pairs, scale: int, patch_size: int, seed: int, device="cpu", names=None,
                 degradation: str = "bicubic"):
        from srlib.registry import DEGRADATIONS

        if degradation not in DEGRADATIONS.names(scale=True):
            raise ValueError(f"unknown degradation {degradation!r} for training at a scale; choose from "
                             f"{', '.join(DEGRADATIONS.names(scale=True))}")
        self.scale, self.patch_size, self.degradation = scale, patch_size, degradation
        for index, (lowres, _) in enumerate(pairs):
            if min(lowres.shape[1:]) < patch_size:
                name = names[index] if names else f"image {index}"
                raise ValueError(f"{name}: {lowres.shape[1]}x{lowres.shape[2]} low-resolution pixels is smaller "
                                 f"than the patch size {patch_size}")
        self.pairs = [(lowres.to(device), highres.to(device)) for lowres, highres in pairs]
        areas = torch.tensor([float(lowres.shape[1] * lowres.shape[2]) for lowres, _ in pairs])
        self.weights = areas / areas.sum()
        self.generator = torch.Generator().manual_seed(seed)

    def batch(self, batch_size: int, rank: int = 0, world_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """``(lowres, highres)``: NCHW, ``patch_size`` and ``scale * patch_size`` square.

        With ``world_size`` processes, every process draws the whole plan of ``batch_size`` crops
        (so their generators stay in step) and returns only crops ``rank * share`` to
        ``(rank + 1) * share - 1``, ``share = batch_size / world_size``: the processes' crops
        together are exactly one process's batch.
        """
        if batch_size % world_size:
            raise ValueError(f"a batch of {batch_size} crops does not split evenly over {world_size} processes")
        share = batch_size // world_size
        mine = range(rank * share, (rank + 1) * share)
        chosen = torch.multinomial(self.weights, batch_size, replacement=True, generator=self.generator)
        lowres_crops, highres_crops = [], []
        size, scale = self.patch_size, self.scale
        for position, index in enumerate(chosen.tolist()):
            lowres, highres = self.pairs[index]
            top = int(torch.randint(lowres.shape[1] - size + 1, (1,), generator=self.generator))
            left = int(torch.randint(lowres.shape[2] - size + 1, (1,), generator=self.generator))
            flip, turns = torch.randint(2, (1,), generator=self.generator), torch.randint(4, (1,), generator=self.generator)
            damage_seed = (None if self.degradation == "bicubic"
                           else int(torch.randint(2**31 - 1, (1,), generator=self.generator)))
            if position not in mine:
                continue  # another process's crop: drawn, so the generators agree, but not cut out here
            high = highres[:, top * scale:(top + size) * scale, left * scale:(left + size) * scale]
            if damage_seed is None:
                low = lowres[:, top:top + size, left:left + size]
            else:
                low = self._degrade(high, damage_seed)
            if int(flip):
                low, high = low.flip(-1), high.flip(-1)
            low, high = low.rot90(int(turns), (1, 2)), high.rot90(int(turns), (1, 2))
            lowres_crops.append(low)
            highres_crops.append(high)
        return torch.stack(lowres_crops), torch.stack(highres_crops)

    def _degrade(self, highres: torch.Tensor, seed: int) -> torch.Tensor:
        """The crop's low-resolution patch by ``self.degradation`` (CHW in, CHW out, same device)."""
        from srlib.degrade import degrade

        image = highres.permute(1, 2, 0).cpu().numpy()
        lowres = degrade(image, self.degradation, scale=self.scale, seed=seed)
        return torch.from_numpy(lowres.transpose(2, 0, 1).copy()).to(highres.device)


def _replicated(model: torch.nn.Module, device: torch.device, world_size: int) -> torch.nn.Module:
    """``model`` wrapped in DistributedDataParallel when there are several processes (itself otherwise)."""
    if world_size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _mean_over_processes(value: torch.Tensor, world_size: int) -> float:
    """The mean of a scalar tensor over the processes (itself for one process)."""
    if world_size > 1:
        import torch.distributed as dist

        value = value.detach().clone()
        dist.all_reduce(value)
        value /= world_size
    return float(value)


def learning_rate_at(config: SRTrainConfig, step: int, total_steps: int) -> float:
    """Cosine decay from ``learning_rate`` to ``final_learning_rate`` over ``total_steps``."""
    progress = min(step / max(total_steps, 1), 1.0)
    return config.final_learning_rate + 0.5 * (config.learning_rate - config.final_learning_rate) * (
        1 + math.cos(math.pi * progress))


def _step(model, optimizer, lowres, highres, precision: str) -> float:
    """One L1 step at ``precision`` (``"fp32"`` or ``"bf16"``, already resolved)."""
    layout = precisions.memory_format(precision)
    with precisions.autocast(precision, lowres.device):
        loss = F.l1_loss(model(lowres.contiguous(memory_format=layout)).float(), highres)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def time_steps(config: SRTrainConfig, sampler: CropSampler, device, repeats: int = 20, rank: int = 0,
               world_size: int = 1) -> float:
    """Median seconds per training step, measured on a throwaway copy of the model (with several
    processes, each times its share in DDP and the slowest process's median is returned to all)."""
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    precision = precisions.prepare_training(model, config.precision, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    network = _replicated(model, device, world_size)
    state = sampler.generator.get_state()
    times = []
    for _ in range(repeats + 3):
        start = time.perf_counter()
        lowres, highres = sampler.batch(config.batch_size, rank, world_size)
        float(_step(network, optimizer, lowres.to(device), highres.to(device), precision))
        times.append(time.perf_counter() - start)
    sampler.generator.set_state(state)
    median = torch.tensor(float(np.median(times[3:])), device=device)  # NCCL reduces GPU tensors only
    if world_size > 1:
        import torch.distributed as dist

        dist.all_reduce(median, op=dist.ReduceOp.MAX)
    return float(median)


def train(config: SRTrainConfig, images: dict, output, device=None, resume: bool = True,
          stop_after: int | None = None, progress: bool = True, pairs=None,
          replace_other: bool = False, report: bool = False) -> tuple[EDSR, dict]:
    """Train (or resume) an EDSR on ``images`` ({name: HWC [0, 1]}); returns ``(model, record)``.

    ``output`` is a folder for ``checkpoint.pt``. With ``resume`` and a checkpoint of the same
    config there, training continues from it; a checkpoint of another config is refused (pass a
    new folder or ``resume=False``), or with ``replace_other`` replaced by a fresh run that says so
    (tutorial 6, whose reader may change its parameters between runs). ``stop_after`` ends the call after that many steps in total
    (what an interruption does; used by the tests). ``pairs``: :func:`make_pairs` of ``images``
    when already computed. The record holds the config, the history
    (step, loss) every 50 steps, the training seconds and the machine. ``report`` prints a line
    at each checkpoint (for logs, where ``progress``'s bar is off).
    """
    from tqdm import tqdm  # plain text: a notebook keeps the bar's final state

    from srlib.config import machine_description

    rank, world_size = process_group()
    if config.batch_size % world_size:
        raise ValueError(f"batch_size {config.batch_size} does not split evenly over {world_size} processes: "
                         "the batch is the global one, each process trains on batch_size / N crops")
    device = torch.device(device) if device else default_device()
    output = Path(output)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
    checkpoint_path = output / "checkpoint.pt"
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    precision = precisions.prepare_training(model, config.precision, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    sampler = CropSampler(pairs or make_pairs(images, config.scale), config.scale, config.patch_size, config.seed,
                          device=device, names=list(images), degradation=config.degradation)
    record = {"config": asdict(config), "history": [], "step": 0, "seconds": 0.0,
              "parameters": count_parameters(model), "machine": machine_description(), "images": list(images),
              "precision": precision}
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        if state["record"]["config"] != record["config"]:
            if not replace_other:
                raise ValueError(f"{checkpoint_path}: a checkpoint of another configuration; use another output "
                                 "folder or resume=False")
            if rank == 0:
                print(f"{checkpoint_path}: written with other settings; starting afresh (it will be replaced)")
        else:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            sampler.generator.set_state(state["generator"])
            record = state["record"]
            if rank == 0:
                print(f"{shown_path(checkpoint_path)}: resuming after step {record['step']} "
                      f"({record['seconds']:.0f} s of training)")
    record["processes"] = world_size  # of the latest call; the config (and so the crops) do not depend on it
    network = _replicated(model, device, world_size)  # after loading: every replica starts from rank 0's weights
    last = config.steps if stop_after is None else min(stop_after, config.steps)
    bar = tqdm(total=config.steps, initial=record["step"], desc=f"EDSR x{config.scale}",
               disable=not progress or rank != 0, mininterval=1.0)
    start, running = time.perf_counter() - record["seconds"], []
    model.train()

    def save():
        record["seconds"] = time.perf_counter() - start
        if rank != 0:
            return
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": sampler.generator.get_state(), "record": record}
        atomic_write(checkpoint_path, lambda temporary: torch.save(state, temporary))

    while record["step"] < last:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(config, record["step"], config.steps)
        lowres, highres = sampler.batch(config.batch_size, rank, world_size)
        running.append(_step(network, optimizer, lowres, highres, precision))
        record["step"] += 1
        bar.update(1)
        if record["step"] % 50 == 0 or record["step"] == config.steps:
            loss = _mean_over_processes(torch.stack(running).mean(), world_size)
            running = []
            record["history"].append([record["step"], loss])
            bar.set_postfix(l1=f"{loss:.4f}")
        if record["step"] % config.checkpoint_every == 0 or record["step"] == last:
            save()
            if report and rank == 0:  # a line per checkpoint where no progress bar is shown (a log file)
                latest = f"latest L1 {record['history'][-1][1]:.4f}, " if record["history"] else ""
                print(f"step {record['step']:,} of {config.steps:,}: {latest}{record['seconds']:.0f} s, "
                      "checkpoint saved", flush=True)
    bar.close()
    record["seconds"] = time.perf_counter() - start
    model.to(memory_format=torch.contiguous_format)
    model.eval()
    return model, record


def main(argv=None) -> int:
    from srlib.samples import load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: python -m srlib.train_sr --scale 4 --steps 20000 "
                                            "--output models/train/edsr_x4")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 1000)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="choose the number of steps to fill this many seconds (from a timing)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="crops per step in all (default 16); under torchrun each of the N processes takes "
                             "batch-size / N of them, so the run (and its checkpoint) does not depend on N")
    parser.add_argument("--patch-size", type=int, default=48)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--precision", default="auto", choices=precisions.PRECISIONS,
                        help="auto (default): bfloat16 autocast + channels-last where the CPU or GPU has native "
                             "bfloat16, else float32")
    parser.add_argument("--data", nargs="+", default=["samples"],
                        help="folders of training photos; 'samples' is the sample photos' train split (default)")
    parser.add_argument("--init", default=None,
                        help="start from these weights (weights.pt of a run at another scale, a .safetensors file "
                             "or a zoo name such as edsr-x4: every tensor of matching shape is copied, as EDSR "
                             "initialises x4 from x2 and RealESRNet starts from a PSNR-trained model)")
    parser.add_argument("--degradation", default="bicubic",
                        help="how crops are reduced: bicubic (default, the classic task), or a random degradation "
                             "of srlib.degrade made afresh for each crop (ladder-mix, second-order, mixed-order: "
                             "camera-like photos)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True,
                        help="folder for checkpoint.pt, weights.pt (the model alone) and record.json")
    parser.add_argument("--evaluate", action="store_true", help="then print PSNR/SSIM on the validation photos")
    args = parser.parse_args(argv)
    from srlib.samples import load_folder

    images = {}
    for folder in args.data:
        images.update(load_split("train") if folder == "samples" else load_folder(folder))
    config = SRTrainConfig(scale=args.scale, features=args.features, blocks=args.blocks, patch_size=args.patch_size,
                           batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
                           precision=args.precision, degradation=args.degradation,
                           data=["srlib samples: train split" if folder == "samples" else folder for folder in args.data],
                           init=args.init)
    device = start_processes()
    rank, world_size = process_group()
    torch.backends.cudnn.benchmark = device.type == "cuda"
    pairs = make_pairs(images, config.scale)
    if args.seconds:
        sampler = CropSampler(pairs, config.scale, config.patch_size, config.seed, device,
                              degradation=config.degradation)
        per_step = time_steps(config, sampler, device, rank=rank, world_size=world_size)
        config.steps = max(1, int(args.seconds / per_step))
        if rank == 0:
            print(f"{per_step * 1000:.1f} ms per step on {device}"
                  f"{f' ({world_size} processes)' if world_size > 1 else ''}: {config.steps} steps for "
                  f"{args.seconds:.0f} s")
    elif args.steps:
        config.steps = args.steps
    config.checkpoint_every = max(100, config.steps // 10)
    if rank == 0 and world_size > 1:
        print(f"{world_size} processes ({'NCCL' if device.type == 'cuda' else 'gloo'}), "
              f"{config.batch_size // world_size} crops each per step", flush=True)
    model, record = train(config, images, args.output, device=device, progress=sys.stderr.isatty(), pairs=pairs,
                          report=not sys.stderr.isatty())
    if rank == 0:
        atomic_write(Path(args.output) / "weights.pt", lambda temporary: torch.save(model.state_dict(), temporary))
        atomic_write(Path(args.output) / "record.json",
                     lambda temporary: Path(temporary).write_text(json.dumps(record, indent=2) + "\n"))
        print(f"trained {record['step']} steps in {record['seconds']:.0f} s; checkpoint in {args.output}")
        if args.evaluate:
            print(validation_table(model, config.scale).to_markdown())
    stop_processes()
    return 0


def validation_table(model, scale: int, images=None, precision: str = "auto"):
    """Bicubic and ``model`` on the validation photos (or ``images``): a ResultsTable
    (:func:`srlib.zoo.evaluate_model` with the bicubic degradation, at ``precision``)."""
    from srlib.samples import load_split
    from srlib.zoo import evaluate_model

    metadata = {"name": f"EDSR x{scale}", "scale": scale, "input": "lowres", "degradation": {"name": "bicubic"}}
    return evaluate_model(model, load_split("valid") if images is None else images, metadata, precision=precision)


if __name__ == "__main__":
    raise SystemExit(main())
