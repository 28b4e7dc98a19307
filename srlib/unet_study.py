"""Tutorials 2 and 3: a fastai U-Net restoring "crappified" photos, with a pixel loss, then with
the VGG-16 perceptual loss.

The notebooks ``02_unet_pixel_loss.ipynb`` and ``03_unet_perceptual_loss.ipynb`` call these
steps one at a time; ``python -m srlib.unet_study --mode full`` runs both stages at once (how
the full run was made) and writes ``results/unet_study_<mode>.json`` and the weights in
``models/``. Imports torch and fastai.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import fastai.callback.progress  # noqa: F401  (Learner.no_bar)
import fastai.callback.schedule  # noqa: F401  (Learner.fit_one_cycle, lr_find)
import torch
from torch import nn

from srlib import losses_torch
from srlib.checkpoints import load_metadata, load_weights, save_weights
from srlib.config import PROJECT_ROOT, machine_description, run_mode, set_seed
from srlib.data_torch import dataloaders
from srlib.evaluation import ResultsTable, evaluate
from srlib.models_torch import unet_learner
from srlib.patches import PairedPatches, degrade_pair
from srlib.perceptual import vgg_distance
from srlib.resize import imresize
from srlib.samples import load_split
from srlib.train_torch import predict_images

MODELS_DIR = PROJECT_ROOT / "models"


@dataclass
class UNetConfig:
    """Everything that decides tutorials 2 and 3's numbers."""

    degradation: str = "crappify"
    scale: int = 1  # crappify resizes to a 96-pixel shorter side; inputs are brought back to full size
    #: Photos are first resized (MATLAB bicubic, antialiased) to this shorter side, as lesson 7
    #: trained on pets resized to 128 and then 256 pixels: crappify's 96 pixels are then a x2
    #: reduction plus JPEG damage, not x5 (None keeps the photos' own size).
    highres_size: int | None = 192
    patch_size: int = 96
    batch_size: int = 8
    steps_per_epoch: int = 100
    frozen_epochs: int = 1
    unfrozen_epochs: int = 3
    perceptual_epochs: int = 2
    learning_rate: float = 1e-3
    #: The feature loss's Gram weight (lesson 7 and FeatureLoss's default: 5e3). On this VGG's
    #: calibrated layers, 5e3 makes the Gram terms 15 times the pixel and feature terms together
    #: on crappified crops (tutorial 3 prints them); 500 brings them to the same size.
    gram_weight: float = 500.0
    self_attention: bool = False
    precision: str = "auto"  # bfloat16 + channels-last where native (srlib.callbacks_fastai.BFloat16Training)
    seed: int = 42

    @classmethod
    def for_mode(cls, mode: str) -> "UNetConfig":
        """``fast``: 64-pixel crops, batches of 8, 400 pixel-loss and 200 perceptual steps (minutes
        on a CPU in bfloat16); ``full``: the same steps on 96-pixel crops (about a quarter of an
        hour on a 2-core CPU in float32; a GPU user can raise the epochs)."""
        if mode == "fast":
            return cls(patch_size=64, batch_size=8, steps_per_epoch=50, frozen_epochs=2, unfrozen_epochs=6,
                       perceptual_epochs=4)
        if mode == "full":
            return cls()
        raise ValueError(f"mode must be 'fast' or 'full', got {mode!r}")


def shrink(images: dict, shorter_side: int) -> dict:
    """Each ``{name: image}`` resized so its shorter side is ``shorter_side`` (never enlarged)."""
    resized = {}
    for name, image in images.items():
        ratio = shorter_side / min(image.shape[:2])
        resized[name] = imresize(image, size=(round(image.shape[0] * ratio), round(image.shape[1] * ratio))) \
            if ratio < 1 else image
    return resized


def make_data(config: UNetConfig, train_images: dict, valid_images: dict, device=None):
    """fastai DataLoaders of training/validation crops, and whole validation photos.

    Photos are first shrunk to ``config.highres_size`` (:func:`shrink`). Returns
    ``(dls, valid_inputs, valid_targets)``: inputs are the degraded photos
    bicubic-upsampled back to the original size (what the U-Net takes and the "input" baseline).
    """
    def pairs(images, length, seed):
        return PairedPatches(images, config.degradation, scale=config.scale, patch_size=config.patch_size,
                             length=length, upsample_input=True, seed=seed)

    if config.highres_size:
        train_images, valid_images = (shrink(images, config.highres_size) for images in (train_images, valid_images))
    dls = dataloaders(pairs(train_images, config.steps_per_epoch * config.batch_size, config.seed),
                      pairs(valid_images, 2 * config.batch_size, config.seed + 1),
                      batch_size=config.batch_size, device=device, seed=config.seed)
    whole = {name: degrade_pair(image, config.degradation, config.scale, upsample_input=True,
                                seed=[config.seed, index], name=name)
             for index, (name, image) in enumerate(valid_images.items())}
    return dls, {n: p[0] for n, p in whole.items()}, {n: p[1] for n, p in whole.items()}


def pixel_learner(config: UNetConfig, dls, encoder_weights: str | None = "offline"):
    """The U-Net (MobileNetV2 encoder, frozen) with the MSE loss, seeded; trains in bfloat16 where
    native (``config.precision``)."""
    from srlib.callbacks_fastai import BFloat16Training

    set_seed(config.seed)
    learn = unet_learner(dls, nn.MSELoss(), encoder_weights=encoder_weights, self_attention=config.self_attention,
                         path=PROJECT_ROOT)
    learn.add_cb(BFloat16Training(config.precision))
    return learn


def train_pixel(learn, config: UNetConfig, progress: bool = True) -> dict:
    """Lesson 7's schedule: one-cycle with the encoder frozen, then unfrozen with discriminative
    learning rates (the encoder's 100 times smaller than the decoder's). Returns timings."""
    started = time.perf_counter()
    with _bar(learn, progress):
        learn.freeze()
        learn.fit_one_cycle(config.frozen_epochs, config.learning_rate, pct_start=0.8)
        learn.unfreeze()
        learn.fit_one_cycle(config.unfrozen_epochs, slice(config.learning_rate / 100, config.learning_rate))
    return {"seconds": time.perf_counter() - started,
            "steps": (config.frozen_epochs + config.unfrozen_epochs) * config.steps_per_epoch}


def ensure_pixel_weights(config: UNetConfig, dls, mode: str, progress: bool = True) -> Path:
    """Tutorial 2's weights for ``mode``: their path, after training and saving them first when
    they are missing or were made with another config (tutorials 3 and 4 start from them)."""
    path = weights_path("pixel", mode)
    wanted = json.loads(json.dumps(asdict(config)))
    if not (path.exists() and load_metadata(path).get("config") == wanted):
        if progress:
            print("no matching weights from tutorial 2: training the pixel-loss U-Net first")
        learn = pixel_learner(config, dls)
        save_stage(learn, "pixel", mode, config, None, train_pixel(learn, config, progress))
    return path


def perceptual_learner(config: UNetConfig, dls, start_from: Path | None = None, feature_loss=None):
    """The same U-Net with ``srlib.losses_torch.FeatureLoss`` (each term a fastai metric).

    ``start_from``: pixel-loss weights to fine-tune (the default in tutorial 3: the feature
    loss then only has to add texture, instead of also learning colours and shapes).
    """
    loss = feature_loss or losses_torch.FeatureLoss(gram_weight=config.gram_weight)
    learn = pixel_learner(config, dls)
    learn.loss_func = loss
    learn.metrics = losses_torch.loss_term_metrics(loss)
    if start_from is not None:
        load_weights(learn.model, start_from)
    return learn


def train_perceptual(learn, config: UNetConfig, progress: bool = True) -> dict:
    """All layers trainable, one-cycle with discriminative learning rates."""
    started = time.perf_counter()
    with _bar(learn, progress):
        learn.unfreeze()
        learn.fit_one_cycle(config.perceptual_epochs, slice(config.learning_rate / 100, config.learning_rate))
    return {"seconds": time.perf_counter() - started, "steps": config.perceptual_epochs * config.steps_per_epoch}


class _bar:
    """fastai's progress bars when ``progress``; silence otherwise."""

    def __init__(self, learn, progress):
        self.contexts = [] if progress else [learn.no_bar(), learn.no_logging()]

    def __enter__(self):
        for context in self.contexts:
            context.__enter__()

    def __exit__(self, *exc):
        for context in reversed(self.contexts):
            context.__exit__(*exc)


def score(targets: dict, methods: dict) -> ResultsTable:
    """PSNR/SSIM/HFEN on the Y channel and the VGG distance on RGB (4-pixel border cropped)."""
    return evaluate(targets, methods, crop_border=4, extra_metrics={"vgg": vgg_distance})


def weights_path(stage: str, mode: str) -> Path:
    return MODELS_DIR / f"unet_{stage}_{mode}.safetensors"


def save_stage(learn, stage: str, mode: str, config: UNetConfig, table: ResultsTable | None, timing: dict) -> Path:
    """Save a trained U-Net and its metadata (architecture, data, metrics, time, machine)."""
    metadata = {"architecture": "fastai DynamicUnet, MobileNetV2 encoder (srlib.models_torch.unet_learner)",
                "loss": "MSE" if stage == "pixel" else "srlib.losses_torch.FeatureLoss",
                "scale": config.scale, "degradation": config.degradation,
                "input": "degraded image bicubic-upsampled to the output size, RGB in [0, 1]",
                "data": "srlib.samples train split", "config": asdict(config), "mode": mode,
                "training_seconds": timing["seconds"], "machine": machine_description(),
                "validation": table.mean() if table is not None else None}
    return save_weights(learn.model, weights_path(stage, mode), metadata)


def run_study(config: UNetConfig, mode: str, progress: bool = False, folder=None) -> dict:
    """Both stages end to end; returns a JSON-ready dictionary (tables, timings, machine)."""
    train_images, valid_images = load_split("train", folder), load_split("valid", folder)
    dls, inputs, targets = make_data(config, train_images, valid_images)
    learn = pixel_learner(config, dls)
    pixel_timing = train_pixel(learn, config, progress)
    pixel_predictions = predict_images(learn.model, inputs)
    save_stage(learn, "pixel", mode, config, score(targets, {"U-Net, pixel loss": pixel_predictions}), pixel_timing)
    learn = perceptual_learner(config, dls, start_from=weights_path("pixel", mode))
    perceptual_timing = train_perceptual(learn, config, progress)
    perceptual_predictions = predict_images(learn.model, inputs)
    table = score(targets, {"input (bicubic-upsampled)": inputs, "U-Net, pixel loss": pixel_predictions,
                            "U-Net, perceptual loss": perceptual_predictions})
    save_stage(learn, "perceptual", mode, config, table, perceptual_timing)
    return {"config": asdict(config), "mode": mode, "rows": table.rows, "markdown": table.to_markdown(baseline=None),
            "timings": {"pixel": pixel_timing, "perceptual": perceptual_timing},
            "parameters": sum(p.numel() for p in learn.model.parameters()), "machine": machine_description(),
            "date": time.strftime("%Y-%m-%d"), "software": f"torch {torch.__version__}, fastai "
            f"{__import__('fastai').__version__}, Python {platform.python_version()}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run tutorials 2 and 3 (U-Net, pixel then perceptual loss).",
                                     epilog="example: SRLIB_MODE=full python -m srlib.unet_study")
    parser.add_argument("--mode", default=None, choices=["fast", "full"], help="default: srlib's run mode")
    parser.add_argument("--output", default=None, help="JSON file (default results/unet_study_<mode>.json)")
    args = parser.parse_args(argv)
    mode = args.mode or run_mode()
    result = run_study(UNetConfig.for_mode(mode), mode, progress=False)
    result["command"] = "python -m srlib.unet_study " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    output = Path(args.output or PROJECT_ROOT / "results" / f"unet_study_{mode}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    print(f"\n{mode} run on {result['machine']}: pixel {result['timings']['pixel']['seconds']:.0f} s, "
          f"perceptual {result['timings']['perceptual']['seconds']:.0f} s; written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
