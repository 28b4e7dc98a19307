# %% [markdown]
# # 4. A GAN: the U-Net against a critic
#
# Tutorial 3 replaced "match the pixels" with "match what VGG-16 sees". A **generative adversarial
# network** (GAN; Goodfellow et al., 2014) goes one step further: instead of a fixed measure of
# "looks like a photo", it *learns* one. Two networks play a zero-sum game:
#
# - the **generator** (our U-Net) turns a damaged image into a restored one;
# - the **critic** (or discriminator) sees restored images and real photographs and learns to tell
#   them apart.
#
# The generator is rewarded for fooling the critic, the critic for not being fooled; as one gets
# better the other must too. SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al., 2018) used this for
# super-resolution and produced sharp, textured images that people prefer, with *lower* PSNR than
# a network trained on pixels alone: a critic rewards plausible detail, and plausible detail is
# rarely the exact detail that was lost (Blau and Michaeli, 2018, prove that the two goals
# conflict: the perception-distortion trade-off).
#
# GANs are also notoriously unstable: two networks chasing each other may oscillate or collapse.
# fast.ai's answer, which this tutorial follows, is **NoGAN**: pretrain both players separately,
# then let them play only briefly.
#
# **Run time.** Fast mode (default on a CPU; what the tests run): about 3 minutes on a 2-core
# CPU when tutorial 2 has run (its generator is reused), about 3.5 without. Full mode: results from
# `python -m srlib.gan_study --mode full` at the end.
#
# **The outputs shown** come from `make notebooks` (fast mode) on a 2-core x86-64 CPU with native
# bfloat16 (AVX-512-BF16), 2026-11-26; the full-run results are read from `results/full/`.

# %% [markdown]
# ## Setup

# %%
import json
import time

import numpy as np
import torch

import srlib
from srlib import config, gan_study, plotting, samples, summary, unet_study
from srlib.gan_study import GANConfig

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()              # "fast" or "full": see srlib.config
CONFIG = GANConfig.for_mode(MODE)     # CONFIG.unet: tutorial 2's data and generator settings
FULL_RESULTS = config.PROJECT_ROOT / "results" / "full" / "gan_study.json"

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Data
#
# The same crappified photos as tutorials 2 and 3 (`srlib.unet_study.make_data`): training crops
# for both players, and the five whole validation photos for scoring.

# %%
train_images = samples.load_split("train")
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = unet_study.make_data(CONFIG.unet, train_images, valid_images)

# %% [markdown]
# ## Step 1: a pretrained generator
#
# A GAN that starts from a random generator spends most of its time learning what a pixel loss
# teaches in minutes, while the critic wins easily and its gradients say little. NoGAN starts
# from tutorial 2's U-Net, trained with the pixel loss (its weights are loaded; trained here
# first if tutorial 2 has not run in this mode). For the game its pixel loss becomes L1.

# %%
generator_learn, metadata = gan_study.load_generator(CONFIG, dls, MODE)
pixel_predictions = srlib.train_torch.predict_images(generator_learn.model, valid_inputs)  # before the game
print(f"generator: {sum(p.numel() for p in generator_learn.model.parameters()):,} parameters, "
      f"pretrained {metadata['training_seconds']:.0f} s on {metadata['machine']}")

# %% [markdown]
# ## Step 2: its predictions
#
# The critic's first lesson: the generator's restorations (label 0) against the originals (label
# 1), on training crops. Lesson 7 wrote them to an `image_gen` folder; we keep them in memory.

# %%
images, labels = gan_study.generated_crops(generator_learn.model, dls, CONFIG.critic_batches)
print(f"{len(images)} crops: {int(labels.sum())} originals, {int((1 - labels).sum())} restorations")
plotting.show_images({f"{'original' if labels[i] else 'restored'} {i}": images[i].permute(1, 2, 0).numpy()
                      for i in range(4)}, columns=4, size=2.2);

# %% [markdown]
# ## Step 3: pretrain the critic
#
# fastai's `gan_critic`: strided convolutions with **spectral normalisation** (which bounds how
# fast the critic's output can change, the main stabiliser of modern GANs), a self-attention
# layer, and dropout; its output is a map of real/fake logits, one per image region, scored with
# binary cross-entropy (`AdaptiveLoss` repeats each image's label over its map). Accuracy on a
# held-out fifth of the crops says how well it already tells them apart.
#
# The optimiser matters here. Restored and original crops differ only in fine texture, and with
# fastai's default `fit_one_cycle` (momentum 0.95, learning rate 1e-3) the critic stayed at chance
# (loss 0.693, accuracy about 50 %) for all 640 steps of our trials. With DCGAN's settings, Adam
# with beta1 = 0.5 and a constant 2e-4, it still sits at chance for about 450 steps (15 epochs
# here), then finds the difference: watch the accuracy column take off.

# %%
critic = gan_study.critic_learner(CONFIG, images, labels)
print(f"critic: {sum(p.numel() for p in critic.model.parameters()):,} parameters")
started = time.perf_counter()
critic.fit(CONFIG.critic_epochs, CONFIG.critic_learning_rate)
critic_seconds = time.perf_counter() - started

# %% [markdown]
# ## Step 4: the game
#
# `GANLearner.from_learners` joins the two learners:
#
# - the generator's loss is `adversarial + 50 * L1`: binary cross-entropy of the critic's verdict
#   against "real", plus the pixel term that keeps colours and shapes in place (lesson 7's
#   `weights_gen = (1, 50)`);
# - the critic's loss is its binary cross-entropy on real photos and on fresh restorations;
# - `AdaptiveGANSwitcher(critic_thresh=0.65)` lets the critic train until its loss falls below
#   0.65, then gives the generator a turn;
# - Adam with **beta1 = 0**: no momentum, because each player's target moves with the other player.
#
# `srlib.gan_study.PlayerLosses` records every turn, and the generator's validation PSNR and VGG
# distance after each epoch.

# %%
recorder = gan_study.PlayerLosses(valid_inputs, valid_targets)
learn = gan_study.gan_learner(CONFIG, generator_learn, critic, [recorder])
started = time.perf_counter()
learn.fit(CONFIG.gan_epochs, CONFIG.gan_learning_rate)
gan_seconds = time.perf_counter() - started

# %%
plotting.plot_gan_history(recorder.history, recorder.validation, path=config.figure_path(f"gan_{MODE}_history.png"));
turns = [player for _, player, _ in recorder.history]
print(f"{turns.count('generator')} generator turns, {turns.count('critic')} critic turns")

# %% [markdown]
# **Reading the curves, and when to stop.** A GAN's losses do not fall together as a single
# network's does: when the generator improves, the critic's loss *rises*, and the other way round.
# A critic loss heading to zero means the critic has won (the generator gets no useful gradient:
# stop, or lower the critic's learning rate); a generator whose adversarial loss falls while the
# pixel term and the validation PSNR collapse is inventing texture that is not there. Neither
# curve says when the *images* are best. The practical rule (fast.ai trained its colouriser this
# way) is to watch the generator's outputs and a validation measure, and stop at the last epoch
# before artefacts appear: here the right panel, PSNR and VGG distance per epoch.

# %% [markdown]
# ## Compare with the pixel and perceptual U-Nets
#
# Same validation photos and metrics as tutorials 2 and 3. The perceptual U-Net is tutorial 3's
# saved model (skipped if tutorial 3 has not been run in this mode).

# %%
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": pixel_predictions}
perceptual_path = unet_study.weights_path("perceptual", MODE)
if perceptual_path.exists():
    perceptual = unet_study.pixel_learner(CONFIG.unet, dls).model
    srlib.checkpoints.load_weights(perceptual, perceptual_path)
    methods["U-Net, perceptual loss"] = srlib.train_torch.predict_images(perceptual, valid_inputs)
methods["GAN generator"], inference = summary.timed_predictions(
    lambda image: srlib.train_torch.predict_image(learn.model.generator, image), valid_inputs)
table = unet_study.score(valid_targets, methods)
print(table.to_markdown(baseline=None))
gan_study.save_generator(learn.model.generator, MODE, CONFIG, table, critic_seconds + gan_seconds)

# %% [markdown]
# `srlib.summary.record` adds these rows to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
summary.record("gan", f"{CONFIG.unet.degradation} (x2 + JPEG)", valid_targets, {"GAN generator": methods["GAN generator"]},
               {"GAN generator": {"parameters": sum(p.numel() for p in learn.model.generator.parameters()),
                                  "training_seconds": metadata["training_seconds"] + critic_seconds + gan_seconds,
                                  "inference_seconds_per_megapixel": inference}},
               crop_border=4, notebook="04_gan")

# %%
boxes = {"kodim23": (66, 60, 64), "coffee": (56, 94, 64), "monarch": (70, 120, 64)}
rows = {name: {label: images_[name] for label, images_ in methods.items()} | {"original": valid_targets[name]}
        for name in boxes}
plotting.compare_crops(rows, boxes, size=2.2, path=config.figure_path("gan_crops.png"));

# %% [markdown]
# ## The full run

# %%
if FULL_RESULTS.exists():
    full = json.loads(FULL_RESULTS.read_text())
    print(f"{full['mode']} run, {full['date']}, {full['machine']}: critic {full['timings']['critic'] / 60:.1f} min "
          f"(held-out accuracy {full['critic_accuracy']:.3f}), GAN {full['timings']['gan'] / 60:.1f} min")
    print(full["markdown"])
    plotting.plot_gan_history(full["history"], full["validation"], path=config.figure_path("gan_full_history.png"));
else:
    print(f"{FULL_RESULTS} is missing: run `python -m srlib.gan_study --mode full`")

# %% [markdown]
# ## Conclusion
#
# The full run (a 64-feature critic pretrained 960 steps to 87 % held-out accuracy, then 600
# steps of the game on 96-pixel crops; 20 minutes on a 2-core CPU) did **not** beat the pixel
# U-Net it started from, on any measure:
#
# - PSNR 27.02 dB and SSIM 0.786 for the GAN generator, against 28.14 dB and 0.815 before the
#   game and 27.30 dB for the input itself;
# - VGG distance 0.614, worse than the input (0.561), the pixel U-Net (0.554) and the perceptual
#   U-Net (0.531): the game moved the images away from the originals as VGG-16 sees them too.
#
# The curves say why. The critic took 378 of the 600 turns: its loss hovered around the 0.65
# threshold, so it kept the upper hand, while the generator's loss fell only from 4.4 to 3.8. The
# generator's validation numbers moved up and down from epoch to epoch (RGB PSNR between 23.4 and
# 24.1 dB, VGG distance between 0.60 and 0.67) with no trend: the best VGG distance came after
# the first epoch, the best PSNR after the third. Stopping early would have been the right call,
# and the chart is how you would see it.
#
# This is the honest state of a GAN trained for minutes on nine photographs. Lesson 7 pretrained
# its critic and played the game for many epochs over thousands of pet photos on a GPU, and SRGAN
# and ESRGAN train for days on DIV2K. With a budget like ours, the perceptual loss of tutorial 3
# buys more realism for less PSNR; the GAN's promise needs data and time, and its instability is
# the price of a loss that is itself learned.
