"""Short training probes for issue 33, tutorial 5: which conditional-VAE recipe gives samples that
differ visibly where the input leaves the answer open, with their mean close to the MSE model?

    python benchmarks/vae_probes.py --list
    python benchmarks/vae_probes.py                               # every probe of GRID
    python benchmarks/vae_probes.py --probes mse normal-kl0.02 --steps 500

Each probe trains tutorial 5's network (:class:`srlib.torch.vae.ConditionalVAE`, 32 channels, a
latent of 4 channels at a quarter of the resolution) on tutorial 5's data (the zoo's pool, random
64-pixel crops, bicubic x4 brought back to full size, batches of 16, Adam at 1e-3, seed 42) for
``--steps`` steps with the KL weight rising over the first quarter, then scores it on the five
validation photos (cropped to a multiple of 16, PSNR on Y with a 4-pixel border) with
``--samples`` samples per photo. Two things vary:

- the **KL weight** (``kl_weight``): with the reconstruction summed over pixels, a weight ``b``
  is the evidence lower bound of a Gaussian decoder of variance ``b / 2``; detail fainter than
  that standard deviation is cheaper to leave out than to write into ``z``;
- ``downsamples``: the latent at a quarter of the resolution (2, tutorial 5's) or at half (1);
- the **prior**: ``normal``, N(0, I) as in tutorial 5 today; ``learned``, a conditional prior
  ``p(z | lowres)`` (Sohn et al. 2015's CVAE; ``srlib.torch.vae.ConditionalVAE(prior="learned")``), a small network of the input whose last layer
  starts at zero (so it starts as N(0, I)), the KL taken between two Gaussians. A sample is then
  drawn from the prior of *this* input, and the prior can leave room where the input is ambiguous
  and none where it is not.

What each probe reports: PSNR of the mean of the samples, of one sample (averaged), and of the
decoder at the prior's mean; the **spread** (per-pixel standard deviation across the samples, in
grey levels of 255), over the whole photo and in its textured quarter (the pixels where the
original differs most from its Gaussian blur, sigma 2): what a reader sees as samples differing;
the high-frequency energy ratio of one sample (:func:`srlib.metrics.high_frequency_ratio`); and a
figure of four samples of the monarch. ``mse`` is the deterministic reference: the same decoder
with ``z`` fixed at zero.

Writes ``<output>.json`` (one row per probe: its settings, scores, seconds; the run's mode,
machine, date and command), ``<output>.md`` and ``<output>/<probe>.png``. A probe whose row is
already there with the same settings is skipped.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from timing import write_results

#: Tutorial 5's data and optimiser (its CONFIG, full mode's pool).
DATA = dict(pool=("samples", "wallpapers"), degradation="bicubic", scale=4, patch_size=64, batch_size=16,
            learning_rate=1e-3, channels=32, latent_channels=4, seed=42)
CROP_BORDER = 4
#: The monarch's crop in tutorial 5's figures: top, left, size.
BOX = ("monarch", 120, 200, 120)
GRID = {
    "mse": dict(kind="mse"),
    "normal-kl0.02": dict(kind="vae", prior="normal", kl_weight=0.02),
    "normal-kl0.005": dict(kind="vae", prior="normal", kl_weight=0.005),
    "normal-kl0.002": dict(kind="vae", prior="normal", kl_weight=0.002),
    "learned-kl0.02": dict(kind="vae", prior="learned", kl_weight=0.02),
    "learned-kl0.005": dict(kind="vae", prior="learned", kl_weight=0.005),
    "learned-kl0.002": dict(kind="vae", prior="learned", kl_weight=0.002),
    # a latent at half the resolution (one halving): finer detail for z to choose
    "normal-kl0.005-half": dict(kind="vae", prior="normal", kl_weight=0.005, downsamples=1),
    "learned-kl0.005-half": dict(kind="vae", prior="learned", kl_weight=0.005, downsamples=1),
}
DEFAULTS = dict(kind="vae", prior="normal", kl_weight=0.02, downsamples=2)


def build(settings: dict):
    """The probe's network: tutorial 5's ConditionalVAE, with the probe's prior and latent resolution."""
    from srlib import config
    from srlib.torch.vae import ConditionalVAE

    config.set_seed(DATA["seed"])
    return ConditionalVAE(DATA["channels"], DATA["latent_channels"], settings["downsamples"],
                          prior=settings.get("prior", "normal"))


def train_probe(settings: dict, pairs, progress: bool):
    """Train the probe's network; returns (model, history, seconds, precision)."""
    import torch
    from tqdm import tqdm

    from srlib.torch import precision as precisions, to_tensor
    from srlib.torch.vae import KLAnnealing, kl_divergence, reconstruction_error

    model = build(settings)
    resolved = precisions.prepare_training(model, settings["precision"], "cpu")
    layout = precisions.memory_format(resolved)
    optimiser = torch.optim.Adam(model.parameters(), DATA["learning_rate"])
    schedule = KLAnnealing(settings.get("kl_weight", 0.0), settings["steps"] // 4)
    batch_size, history = DATA["batch_size"], []
    batches_per_pass = len(pairs) // batch_size
    torch.manual_seed(DATA["seed"])
    started = time.perf_counter()
    model.train()
    for step in tqdm(range(settings["steps"]), desc=settings["name"], disable=not progress, mininterval=2.0):
        if step % batches_per_pass == 0:
            pairs.set_epoch(step // batches_per_pass)
            order = np.random.default_rng([DATA["seed"], step]).permutation(len(pairs))
        indices = order[(step % batches_per_pass) * batch_size:][:batch_size]
        lowres, highres = (to_tensor(array).contiguous(memory_format=layout) for array in pairs.batch(indices))
        with precisions.autocast(resolved):
            if settings["kind"] == "mse":
                prediction = model.decode(lowres)
            else:
                prediction, mu, logvar = model(lowres, highres)
                prior = model.prior_statistics(lowres) if settings["prior"] == "learned" else (None, None)
        reconstruction = reconstruction_error(prediction.float(), highres)
        if settings["kind"] == "mse":
            kl = torch.tensor(0.0)
        else:
            kl = kl_divergence(mu.float(), logvar.float(), *(None if p is None else p.float() for p in prior))
        loss = reconstruction + schedule(step) * kl
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.append({"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()})
    seconds = time.perf_counter() - started
    model.to(memory_format=torch.contiguous_format).eval()
    return model, history, seconds, resolved


def textured_mask(original: np.ndarray) -> np.ndarray:
    """The quarter of the pixels where the original differs most from its Gaussian blur (sigma 2)."""
    from scipy.ndimage import gaussian_filter

    luma = original.mean(axis=2)
    detail = np.abs(luma - gaussian_filter(luma, 2.0, mode="reflect"))
    return detail >= np.quantile(detail, 0.75)


def score(model, settings: dict, inputs: dict, targets: dict, num_samples: int) -> tuple[dict, dict]:
    """(scores, {photo: (samples (S, H, W, 3), prior-mean prediction)})."""
    import torch

    from srlib import metrics
    from srlib.torch import to_image, to_tensor

    generator = torch.Generator().manual_seed(DATA["seed"])
    rows, outputs = [], {}
    for photo, image in inputs.items():
        lowres, target = to_tensor(image)[None], targets[photo]
        with torch.no_grad():
            if settings["kind"] == "mse":
                zero = to_image(model.decode(lowres)[0])
                stack = zero[None]
            else:
                stack = to_image(model.sample(lowres, num_samples=num_samples, generator=generator)[:, 0])
                zero = to_image(model.decode(lowres)[0])  # at the prior's mean
        outputs[photo] = (stack, zero)
        b = CROP_BORDER
        spread = stack.std(axis=0).mean(axis=2)[b:-b, b:-b] * 255
        mask = textured_mask(target)[b:-b, b:-b]
        rows.append({
            "psnr_mean": metrics.psnr(target, stack.mean(axis=0), crop_border=b, y_channel=True),
            "psnr_sample": float(np.mean([metrics.psnr(target, s, crop_border=b, y_channel=True) for s in stack])),
            "psnr_prior_mean": metrics.psnr(target, zero, crop_border=b, y_channel=True),
            "psnr_bicubic": metrics.psnr(target, image, crop_border=b, y_channel=True),
            "spread": float(spread.mean()), "spread_textured": float(spread[mask].mean()),
            "high_frequency_ratio": float(np.mean([metrics.high_frequency_ratio(target, s, crop_border=b)
                                                   for s in stack[:4]])),
        })
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}, outputs


def draw(path: Path, outputs: dict, targets: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    photo, top, left, size = BOX
    stack, zero = outputs[photo]
    panels = [(f"sample {i + 1}", stack[i]) for i in range(min(4, len(stack)))]
    panels += [("mean of samples", stack.mean(axis=0)), ("original", targets[photo])]
    figure, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.5), layout="constrained")
    for axis, (name, image) in zip(np.atleast_1d(axes), panels):
        axis.imshow(np.clip(image[top:top + size, left:left + size], 0, 1), interpolation="nearest")
        axis.set_title(name, fontsize=9)
        axis.set_axis_off()
    figure.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def probe_settings(name: str, steps: int, precision: str) -> dict:
    settings = {**DEFAULTS, **GRID[name], "name": name, "steps": steps, "precision": precision, "data": DATA}
    if settings["kind"] == "mse":
        settings.pop("prior")
        settings.pop("kl_weight")
    return settings


def markdown(result: dict) -> str:
    lines = [f"VAE probes (issue 33, tutorial 5), {result['machine']}, {result['date']}, {result['mode']} mode "
             f"(`{result['command']}`).", "",
             f"Five validation photos, bicubic x4; PSNR on Y with a {CROP_BORDER}-pixel border; {result['samples']} "
             "samples per photo. Spread: the per-pixel standard deviation across the samples in grey levels "
             "(of 255), over the photo and over its textured quarter. HF ratio: one sample's energy at 0.25-0.5 "
             "cycles per pixel over the original's.", "",
             "| probe | prior | KL weight | latent | steps | PSNR mean of samples | PSNR one sample | PSNR prior mean | "
             "spread | spread, textured | HF ratio | s/step |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    bicubic = next(iter(result["probes"].values()))["psnr_bicubic"] if result["probes"] else None
    if bicubic is not None:
        lines.append(f"| bicubic | - | - | - | - | {bicubic:.2f} | - | - | - | - | - | - |")
    for name, row in result["probes"].items():
        s = row["settings"]
        lines.append(f"| {name} | {s.get('prior', '-')} | {s.get('kl_weight', '-')} | 1/{2 ** s['downsamples']} | "
                     f"{s['steps']} | "
                     f"{row['psnr_mean']:.2f} | {row['psnr_sample']:.2f} | {row['psnr_prior_mean']:.2f} | "
                     f"{row['spread']:.2f} | {row['spread_textured']:.2f} | {row['high_frequency_ratio']:.3f} | "
                     f"{row['seconds_per_step']:.3f} |")
    return "\n".join(lines)


def run_probes(names, steps: int, output, num_samples: int, precision: str, progress: bool, command: str) -> dict:
    from srlib import config, patches, samples

    output = Path(output)
    path = output.with_suffix(".json")
    result = json.loads(path.read_text()) if path.exists() else {}
    result.setdefault("probes", {})
    result.update(mode=config.run_mode(), machine=config.machine_description(), date=time.strftime("%Y-%m-%d"),
                  command=command, samples=num_samples, crop_border=CROP_BORDER)
    pairs = valid_inputs = valid_targets = None
    for name in names:
        settings = probe_settings(name, steps, precision)
        if result["probes"].get(name, {}).get("settings") == settings:
            print(f"{name}: in {path} with these settings, skipped", flush=True)
            continue
        if pairs is None:
            pairs = patches.PairedPatches(samples.load_pool(DATA["pool"]), DATA["degradation"], scale=DATA["scale"],
                                          patch_size=DATA["patch_size"], length=DATA["batch_size"] * 50,
                                          upsample_input=True, seed=DATA["seed"])
            valid_inputs, valid_targets = patches.degrade_photos(samples.load_split("valid"), DATA["degradation"],
                                                                 DATA["scale"], seed=DATA["seed"],
                                                                 multiple=4 * DATA["scale"])
        model, history, seconds, resolved = train_probe(settings, pairs, progress)
        scores, outputs = score(model, settings, valid_inputs, valid_targets, num_samples)
        figure = output / f"{name}.png"
        draw(figure, outputs, valid_targets, name)
        result["probes"][name] = {"settings": settings, **scores, "seconds": seconds,
                                  "seconds_per_step": seconds / steps, "precision": resolved,
                                  "final_kl": float(np.mean([h["kl"] for h in history[-50:]])),
                                  "final_reconstruction": float(np.mean([h["reconstruction"] for h in history[-50:]])),
                                  "figure": str(figure)}
        write_results(output, result, markdown(result))
        row = result["probes"][name]
        print(f"{name}: mean {row['psnr_mean']:.2f} dB, one sample {row['psnr_sample']:.2f}, spread "
              f"{row['spread']:.2f} (textured {row['spread_textured']:.2f}), HF {row['high_frequency_ratio']:.3f} "
              f"({seconds:.0f} s)", flush=True)
    write_results(output, result, markdown(result))
    return result


def main(argv=None) -> int:
    from srlib import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", nargs="+", default=None, help="names of GRID (default: all)")
    parser.add_argument("--list", action="store_true", help="print the probes, run nothing")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=16, help="samples per validation photo")
    parser.add_argument("--output", default="results/probes/vae_probes")
    parser.add_argument("--precision", default="auto", choices=config.PRECISIONS)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, probe in GRID.items():
            print(f"{name:20}", ", ".join(f"{k}={v}" for k, v in {**DEFAULTS, **probe}.items()))
        return 0
    names = args.probes or list(GRID)
    unknown = [name for name in names if name not in GRID]
    if unknown:
        parser.error(f"unknown probe(s) {', '.join(unknown)}; --list shows them")
    if args.steps < 4:
        parser.error(f"--steps must be at least 4, got {args.steps}")
    import torch  # noqa: F401  (before configure_threads, so that it sizes PyTorch's pools)

    config.configure_threads()
    command = ("python benchmarks/vae_probes.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip()
    run_probes(names, args.steps, args.output, args.samples, args.precision, not args.no_progress, command)
    print(Path(args.output).with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
