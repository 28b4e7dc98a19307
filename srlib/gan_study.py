"""Tutorial 4: a GAN that fine-tunes tutorial 2's U-Net against a critic, fast.ai's "NoGAN" way.

NoGAN (fast.ai's lesson 7 and DeOldify): (1) pretrain the generator with a pixel loss
(tutorial 2's U-Net and weights); (2) run it over training crops and keep its predictions;
(3) pretrain a critic (fastai's ``gan_critic``: spectral norm, self-attention, dropout) to tell
those predictions from the originals; (4) train both together with
``GANLearner.from_learners``: the generator's loss is ``adversarial + 50 * L1``, the critic's
binary cross-entropy, fastai's ``AdaptiveGANSwitcher`` hands the turn to the generator once the
critic's loss drops below 0.65, and Adam runs with beta1 = 0 (momentum hurts when the target moves).

``notebooks/04_gan.ipynb`` calls these steps one at a time; ``python -m srlib.gan_study --mode
full`` runs them all and writes ``results/gan_study_<mode>.json`` and
``models/gan_generator_<mode>.safetensors``. Imports torch and fastai.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import Adam
from fastai.vision.gan import AdaptiveGANSwitcher, AdaptiveLoss, GANLearner, GANTrainer, accuracy_thresh_expand, \
    gan_critic
from torch import nn

from srlib import unet_study
from srlib.checkpoints import load_weights, save_weights
from srlib.config import PROJECT_ROOT, machine_description, run_mode, set_seed
from srlib.metrics import psnr
from srlib.perceptual import vgg_distance
from srlib.samples import load_split
from srlib.train_torch import predict_images
from srlib.unet_study import UNetConfig


@dataclass
class GANConfig:
    """The GAN stages' settings; the data and the generator are tutorial 2's (``unet``)."""

    unet: UNetConfig = field(default_factory=UNetConfig)
    critic_features: int = 64  # gan_critic's nf (lesson 7: 128; 45 M parameters, too slow for a CPU)
    critic_batches: int = 100  # generator batches whose predictions and originals pretrain the critic
    critic_batch_size: int = 16
    critic_epochs: int = 12
    #: Adam with beta1 = 0.5 and a constant 2e-4 (DCGAN's settings): with fit_one_cycle's momentum
    #: 0.95 and 1e-3 the critic stayed at chance for all 640 steps tried; with these it stays at
    #: chance for about 450 steps, then learns (80 % held-out accuracy after 770 in fast mode).
    critic_learning_rate: float = 2e-4
    critic_beta1: float = 0.5
    gan_epochs: int = 6  # each epoch is unet.steps_per_epoch steps (generator or critic turns)
    gan_learning_rate: float = 1e-4
    pixel_weight: float = 50.0  # lesson 7's weights_gen = (1, 50): adversarial 1, pixel 50
    critic_threshold: float = 0.65  # AdaptiveGANSwitcher: the critic trains until its loss is below this
    seed: int = 42

    @classmethod
    def for_mode(cls, mode: str) -> "GANConfig":
        """``fast``: a 32-feature critic pretrained 770 steps on 64-pixel crops, then two 50-step
        GAN epochs (about 2 minutes of training on a CPU); ``full``: a 64-feature critic
        pretrained 960 steps on 96-pixel crops, then 6 GAN epochs of 100 steps."""
        unet = UNetConfig.for_mode(mode)
        if mode == "fast":
            return cls(unet=unet, critic_features=32, critic_batches=40, critic_epochs=24, gan_epochs=2)
        return cls(unet=unet)


def load_generator(config: GANConfig, dls, mode: str, progress: bool = True):
    """Tutorial 2's pixel-loss U-Net as a fastai Learner (its weights; trained first if missing).

    Returns ``(learn, metadata)``. The learner's loss becomes L1, the pixel term of the GAN.
    """
    path = unet_study.ensure_pixel_weights(config.unet, dls, mode, progress)
    learn = unet_study.pixel_learner(config.unet, dls)
    metadata = load_weights(learn.model, path)
    learn.loss_func = nn.L1Loss()
    return learn, metadata


def generated_crops(generator: nn.Module, dls, batches: int) -> tuple[torch.Tensor, torch.Tensor]:
    """NoGAN step 2: the generator's predictions on ``batches`` training batches, and the originals.

    Returns ``(images, labels)``: NCHW in [0, 1] and 1 for an original, 0 for a prediction,
    interleaved (kept in memory; lesson 7 wrote them to an ``image_gen`` folder).
    """
    generator.eval()
    images, labels = [], []
    with torch.no_grad():
        for index, (lowres, highres) in enumerate(dls.train):
            if index == batches:
                break
            images += [generator(lowres).clamp(0, 1).cpu(), highres.cpu()]
            labels += [torch.zeros(len(lowres)), torch.ones(len(highres))]
    generator.train()
    return torch.cat(images), torch.cat(labels)


def critic_learner(config: GANConfig, images: torch.Tensor, labels: torch.Tensor, device=None) -> Learner:
    """NoGAN step 3: fastai's ``gan_critic`` and ``AdaptiveLoss(BCEWithLogitsLoss)`` on the crops
    (a fifth held out for the accuracy), Adam with beta1 = ``critic_beta1``, seeded. Train it with
    ``learn.fit(config.critic_epochs, config.critic_learning_rate)``."""
    set_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(images), generator=generator)
    cut = len(images) // 5
    pairs = [(images[i], labels[i]) for i in order.tolist()]
    dls = DataLoaders.from_dsets(pairs[cut:], pairs[:cut], bs=config.critic_batch_size, shuffle=True,
                                 device=device or torch.device("cpu"))
    return Learner(dls, gan_critic(n_channels=3, nf=config.critic_features),
                   loss_func=AdaptiveLoss(nn.BCEWithLogitsLoss()), metrics=accuracy_thresh_expand, wd=1e-3,
                   opt_func=partial(Adam, mom=config.critic_beta1, sqr_mom=0.99, eps=1e-8), path=PROJECT_ROOT)


class PlayerLosses(Callback):
    """Records every training step of the GAN: which player moved and its loss.

    ``history`` is a list of ``(step, "generator" | "critic", loss)``; ``validation`` a list of
    ``{"epoch", "psnr", "vgg"}`` of the generator on whole validation photos after each epoch.
    """

    run_after = GANTrainer

    def __init__(self, valid_inputs: dict | None = None, valid_targets: dict | None = None):
        self.valid_inputs, self.valid_targets = valid_inputs, valid_targets
        self.history, self.validation = [], []

    def before_batch(self):
        if self.training:
            self.player = "generator" if self.gan_trainer.gen_mode else "critic"

    def after_batch(self):
        if self.training:
            self.history.append((len(self.history), self.player, float(self.learn.loss.detach())))

    def after_epoch(self):
        if self.valid_inputs:
            self.validation.append({"epoch": self.epoch + 1, **quality(self.learn.model.generator, self.valid_inputs,
                                                                       self.valid_targets)})


def quality(generator: nn.Module, inputs: dict, targets: dict) -> dict:
    """Mean PSNR on RGB (not Y: a quick check during training) and VGG distance of the generator
    on whole photos, 4-pixel border cropped."""
    predictions = predict_images(generator, inputs)
    return {"psnr": float(np.mean([psnr(targets[n], p, crop_border=4) for n, p in predictions.items()])),
            "vgg": float(np.mean([vgg_distance(targets[n], p, crop_border=4) for n, p in predictions.items()]))}


def gan_learner(config: GANConfig, generator_learn: Learner, critic_learn: Learner, callbacks=()) -> GANLearner:
    """NoGAN step 4: ``GANLearner.from_learners`` with lesson 7's settings (see the module docstring)."""
    return GANLearner.from_learners(
        generator_learn, critic_learn, weights_gen=(1.0, config.pixel_weight), show_img=False,
        switcher=AdaptiveGANSwitcher(critic_thresh=config.critic_threshold), opt_func=partial(Adam, mom=0.0),
        wd=1e-3, cbs=list(callbacks), path=PROJECT_ROOT)


def weights_path(mode: str) -> Path:
    return unet_study.MODELS_DIR / f"gan_generator_{mode}.safetensors"


def save_generator(generator: nn.Module, mode: str, config: GANConfig, table, seconds: float) -> Path:
    metadata = {"architecture": "fastai DynamicUnet, MobileNetV2 encoder (srlib.models_torch.unet_learner)",
                "loss": f"GAN: adversarial (fastai gan_critic, {config.critic_features} features) + "
                        f"{config.pixel_weight:g} * L1, from the pixel-loss U-Net",
                "scale": config.unet.scale, "degradation": config.unet.degradation,
                "input": "degraded image bicubic-upsampled to the output size, RGB in [0, 1]",
                "data": "srlib.samples train split", "config": asdict(config), "mode": mode,
                "training_seconds": seconds, "machine": machine_description(),
                "validation": table.mean() if table is not None else None}
    return save_weights(generator, weights_path(mode), metadata)


def run_study(config: GANConfig, mode: str, progress: bool = False) -> dict:
    """All four NoGAN steps and the comparison; returns a JSON-ready dictionary."""
    dls, inputs, targets = unet_study.make_data(config.unet, load_split("train"), load_split("valid"))
    generator_learn, _ = load_generator(config, dls, mode, progress)
    pixel_predictions = predict_images(generator_learn.model, inputs)
    started = time.perf_counter()
    images, labels = generated_crops(generator_learn.model, dls, config.critic_batches)
    critic = critic_learner(config, images, labels)
    with unet_study._bar(critic, progress):
        critic.fit(config.critic_epochs, config.critic_learning_rate)
    critic_accuracy = float(critic.validate()[1])
    critic_seconds = time.perf_counter() - started
    recorder = PlayerLosses(inputs, targets)
    learn = gan_learner(config, generator_learn, critic, [recorder])
    started = time.perf_counter()
    with unet_study._bar(learn, progress):
        learn.fit(config.gan_epochs, config.gan_learning_rate)
    gan_seconds = time.perf_counter() - started
    methods = {"input (bicubic-upsampled)": inputs, "U-Net, pixel loss": pixel_predictions}
    perceptual_path = unet_study.weights_path("perceptual", mode)
    if perceptual_path.exists():
        perceptual = unet_study.pixel_learner(config.unet, dls).model
        load_weights(perceptual, perceptual_path)
        methods["U-Net, perceptual loss"] = predict_images(perceptual, inputs)
    methods["GAN generator"] = predict_images(learn.model.generator, inputs)
    table = unet_study.score(targets, methods)
    save_generator(learn.model.generator, mode, config, table, critic_seconds + gan_seconds)
    return {"config": asdict(config), "mode": mode, "rows": table.rows, "markdown": table.to_markdown(baseline=None),
            "critic_accuracy": critic_accuracy, "history": recorder.history, "validation": recorder.validation,
            "timings": {"critic": critic_seconds, "gan": gan_seconds},
            "parameters": {"generator": sum(p.numel() for p in learn.model.generator.parameters()),
                           "critic": sum(p.numel() for p in learn.model.critic.parameters())},
            "machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
            "software": f"torch {torch.__version__}, fastai {__import__('fastai').__version__}, "
                        f"Python {platform.python_version()}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run tutorial 4 (NoGAN: critic, then generator and critic).",
                                     epilog="example: SRLIB_MODE=full python -m srlib.gan_study")
    parser.add_argument("--mode", default=None, choices=["fast", "full"], help="default: srlib's run mode")
    parser.add_argument("--output", default=None, help="JSON file (default results/gan_study_<mode>.json)")
    args = parser.parse_args(argv)
    mode = args.mode or run_mode()
    result = run_study(GANConfig.for_mode(mode), mode)
    result["command"] = "python -m srlib.gan_study " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    output = Path(args.output or PROJECT_ROOT / "results" / f"gan_study_{mode}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    print(f"\n{mode} run on {result['machine']}: critic {result['timings']['critic']:.0f} s "
          f"(accuracy {result['critic_accuracy']:.3f}), GAN {result['timings']['gan']:.0f} s; written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
