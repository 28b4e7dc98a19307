"""Tutorial 5: a conditional VAE that shows super-resolution is ill-posed.

The notebook ``05_vae.ipynb`` calls these steps one at a time; ``python -m srlib.vae_study
--mode full`` runs them at once and writes ``results/vae_study_<mode>.json``. Imports torch.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from srlib import precision as precisions
from srlib.config import PROJECT_ROOT, machine_description, run_mode, set_seed
from srlib.data_torch import to_image, to_tensor
from srlib.evaluation import ResultsTable, evaluate
from srlib.patches import PairedPatches, degrade_pair
from srlib.samples import load_split
from srlib.vae import ConditionalVAE, KLAnnealing, vae_loss


@dataclass
class VAEConfig:
    """Everything that decides tutorial 5's numbers."""

    degradation: str = "bicubic"
    scale: int = 4  # at x4 many more high-resolution images fit one input than at x2
    patch_size: int = 64
    batch_size: int = 16
    num_steps: int = 2000
    learning_rate: float = 1e-3
    channels: int = 32
    latent_channels: int = 4
    kl_weight: float = 0.02  # final weight of the KL term (see srlib.vae: the trade-off it controls)
    kl_warmup_steps: int = 700
    num_samples: int = 8
    precision: str = "auto"  # bfloat16 autocast + channels-last where native (srlib.precision)
    seed: int = 42

    @classmethod
    def for_mode(cls, mode: str) -> "VAEConfig":
        """``fast``: 500 steps (about a minute on a CPU for both models, in bfloat16); ``full``: 2,000."""
        if mode == "fast":
            return cls(num_steps=500, kl_warmup_steps=200)
        if mode == "full":
            return cls()
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


def make_data(config: VAEConfig, train_images: dict, valid_images: dict):
    """Training patches and whole validation photos, cropped to multiples of 4 x scale."""
    pairs = PairedPatches(train_images, config.degradation, scale=config.scale, patch_size=config.patch_size,
                          length=config.batch_size * 50, upsample_input=True, seed=config.seed)
    multiple = 4 * config.scale
    whole = {}
    for index, (name, image) in enumerate(valid_images.items()):
        image = image[: image.shape[0] // multiple * multiple, : image.shape[1] // multiple * multiple]
        whole[name] = degrade_pair(image, config.degradation, config.scale, upsample_input=True,
                                   seed=[config.seed, index], name=name)
    return pairs, {n: p[0] for n, p in whole.items()}, {n: p[1] for n, p in whole.items()}


def train(config: VAEConfig, pairs: PairedPatches, kind: str = "vae", progress: bool = True):
    """Train a :class:`ConditionalVAE` (``kind="vae"``) or the same decoder without a latent,
    with the MSE loss (``kind="mse"``, ``z`` fixed at 0): the deterministic model to compare with.

    Returns ``(model, history)``; history holds per-step loss, reconstruction and KL.
    """
    if kind not in ("vae", "mse"):
        raise ValueError(f"kind must be 'vae' or 'mse', got {kind!r}")
    set_seed(config.seed)
    model = ConditionalVAE(config.channels, config.latent_channels)
    resolved = precisions.prepare_training(model, config.precision, "cpu")
    layout = precisions.memory_format(resolved)
    optimiser = torch.optim.Adam(model.parameters(), config.learning_rate)
    schedule = KLAnnealing(config.kl_weight, config.kl_warmup_steps)
    history = {"loss": [], "reconstruction": [], "kl": []}
    batches_per_pass = len(pairs) // config.batch_size
    started = time.perf_counter()
    bar = tqdm(range(config.num_steps), desc=f"{kind:>3}", disable=not progress, mininterval=1.0)
    for step in bar:
        if step % batches_per_pass == 0:
            pairs.set_epoch(step // batches_per_pass)
            order = np.random.default_rng([config.seed, step]).permutation(len(pairs))
        indices = order[(step % batches_per_pass) * config.batch_size:][: config.batch_size]
        lowres, highres = (to_tensor(array).contiguous(memory_format=layout) for array in pairs.batch(indices))
        with precisions.autocast(resolved):  # the network in bfloat16 where native; the loss in float32
            if kind == "vae":
                prediction, mu, logvar = model(lowres, highres)
            else:
                prediction = model.decode(lowres)  # z = 0: a deterministic network
        if kind == "vae":
            loss, terms = vae_loss(prediction.float(), highres, mu.float(), logvar.float(), schedule(step))
        else:
            loss = ((prediction.float() - highres) ** 2).flatten(1).sum(dim=1).mean()
            terms = {"reconstruction": loss.item(), "kl": 0.0}
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history["loss"].append(loss.item())
        history["reconstruction"].append(terms["reconstruction"])
        history["kl"].append(terms["kl"])
        bar.set_postfix_str(f"loss {loss.item():.4g}", refresh=False)
    history["seconds"] = time.perf_counter() - started
    history["precision"] = resolved
    model.to(memory_format=torch.contiguous_format)
    return model.eval(), history


def predict(model: ConditionalVAE, inputs: dict, kind: str, num_samples: int = 8, seed: int = 0) -> dict:
    """``{name: array}``: for ``kind="mse"`` one prediction (HWC); for ``"vae"`` the samples
    from the prior stacked (S, H, W, C)."""
    outputs = {}
    generator = torch.Generator().manual_seed(seed)
    for name, image in inputs.items():
        lowres = to_tensor(image)[None]
        if kind == "mse":
            with torch.no_grad():
                outputs[name] = to_image(model.decode(lowres)[0])
        else:
            samples = model.sample(lowres, num_samples=num_samples, generator=generator)[:, 0]
            outputs[name] = to_image(samples)
    return outputs


def score(targets: dict, inputs: dict, mse: dict, samples: dict, config: VAEConfig) -> ResultsTable:
    """Bicubic, the MSE model, the mean of the VAE's samples, and each sample scored alone
    (``VAE, one sample``: the mean over samples of their scores)."""
    table = evaluate(targets, {"bicubic": inputs, "MSE model": mse,
                               "VAE, mean of samples": {n: s.mean(axis=0) for n, s in samples.items()}},
                     crop_border=config.scale)
    single = ResultsTable()
    for index in range(config.num_samples):
        single.rows += evaluate(targets, {"VAE, one sample": {n: s[index] for n, s in samples.items()}},
                                crop_border=config.scale).rows
    rows_by_image = {}
    for row in single.rows:
        rows_by_image.setdefault(row["image"], []).append(row)
    for image, rows in rows_by_image.items():
        table.rows.append({"method": "VAE, one sample (average)", "image": image,
                           **{k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "hfen")}})
    return table


def run_study(config: VAEConfig, progress: bool = False, folder=None) -> dict:
    pairs, inputs, targets = make_data(config, load_split("train", folder), load_split("valid", folder))
    mse_model, mse_history = train(config, pairs, "mse", progress)
    vae_model, vae_history = train(config, pairs, "vae", progress)
    mse = predict(mse_model, inputs, "mse")
    samples = predict(vae_model, inputs, "vae", config.num_samples, config.seed)
    table = score(targets, inputs, mse, samples, config)
    return {"config": asdict(config), "rows": table.rows, "markdown": table.to_markdown(),
            "seconds": {"mse": mse_history["seconds"], "vae": vae_history["seconds"]},
            "machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
            "parameters": sum(p.numel() for p in vae_model.parameters())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run tutorial 5's conditional VAE study.",
                                     epilog="example: SRLIB_MODE=full python -m srlib.vae_study")
    parser.add_argument("--mode", default=None, choices=["fast", "full"], help="default: srlib's run mode")
    parser.add_argument("--output", default=None, help="JSON file (default results/vae_study_<mode>.json)")
    args = parser.parse_args(argv)
    mode = args.mode or run_mode()
    result = {**run_study(VAEConfig.for_mode(mode)), "mode": mode,
              "command": "python -m srlib.vae_study --mode " + mode}
    output = Path(args.output or PROJECT_ROOT / "results" / f"vae_study_{mode}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    print(f"\n{mode} run on {result['machine']}: {sum(result['seconds'].values()):.0f} s of training; written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
