# %% [markdown]
# # 2. Restoring photos with a U-Net in fastai: the pixel loss
#
# After fast.ai's course-v3 lesson 7: take photographs, "crappify" them (shrink, JPEG-compress
# hard, write a number on them), and train a U-Net to undo the damage. This tutorial uses a plain
# per-pixel loss (mean squared error); tutorial 3 trains the same network with a perceptual loss
# and compares the two.
#
# **Run time.** Fast mode (default on a CPU; what the tests run): about 3 minutes on a 2-core CPU,
# 400 training steps on 64-pixel crops, in bfloat16 where the CPU computes it natively
# (`srlib.callbacks_fastai.BFloat16Training`). Full mode (`SRLIB_MODE=full`, default on a GPU): 400
# steps on 96-pixel crops; its results, made by `python -m srlib.unet_study --mode full`, are
# shown at the end.
#
# **The outputs shown** come from `make notebooks` (fast mode) on a 2-core x86-64 CPU with native
# bfloat16 (AVX-512-BF16), 2026-11-26; the full-run results are read from `results/full/`.

# %% [markdown]
# ## Setup

# %%
import json

import numpy as np
import torch

import srlib
from srlib import config, degrade, plotting, samples, summary, unet_study
from srlib.unet_study import UNetConfig

import fastai

print(f"srlib {srlib.__version__}, fastai {fastai.__version__}, torch {torch.__version__}, "
      f"device: {'cuda' if torch.cuda.is_available() else 'cpu'}")

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()               # "fast" or "full": see srlib.config
CONFIG = UNetConfig.for_mode(MODE)     # crops, batches, epochs, learning rate, seed
CONFIG.degradation = "crappify"        # "crappify" (lesson 7) or "bicubic" with CONFIG.scale = 2 or 4
FULL_RESULTS = config.PROJECT_ROOT / "results" / "full" / "unet_study.json"

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## The U-Net
#
# A U-Net (Ronneberger et al., 2015) is an *encoder* that shrinks the image step by step into
# ever more abstract feature maps, followed by a *decoder* that grows it back to full size. What
# makes it suit image-to-image tasks are the **skip connections**: at every resolution the
# decoder also receives the encoder's feature maps of that size, so the fine detail that the
# bottleneck cannot carry goes around it. The encoder can be a network pretrained on ImageNet,
# which already knows edges, textures and objects; only the decoder starts from scratch.
#
# Here the encoder is MobileNetV2 with ImageNet weights read offline from an installed package
# (`srlib.pretrained_torch.mobilenet_v2_encoder`), and fastai's `unet_learner` builds the decoder
# with lesson 7's options: pixel-shuffle upsampling with *blur* (against checkerboard
# artefacts) and *weight normalisation*. With torchvision's resnet34 weights on your disk,
# `fastai.vision.all.unet_learner(dls, resnet34, n_out=3)` is lesson 7's exact model.
#
# ## Data: crappified photographs
#
# `srlib.degrade.crappify` follows lesson 7: shorter side to 96 pixels, JPEG at a random quality
# between 10 and 70, and that quality written on the image. Lesson 7 trained on pet photos
# resized to 128 and then 256 pixels; we first resize our photos to a 192-pixel shorter side
# (`CONFIG.highres_size`), so crappifying halves them and damages them, rather than shrinking
# them five times. The U-Net takes the damaged image resized back up (bicubic) and must return
# the original: remove the blocks, the ringing and the text, and restore detail.

# %%
train_images = samples.load_split("train")
valid_images = samples.load_split("valid")
photo = unet_study.shrink({"chelsea": valid_images["chelsea"]}, CONFIG.highres_size)["chelsea"]
small, quality = degrade.crappify(photo, seed=3, return_quality=True)
plotting.show_images({f"original ({photo.shape[1]}x{photo.shape[0]})": photo,
                      f"crappified (JPEG quality {quality}, {small.shape[1]}x{small.shape[0]})": small,
                      "classic bicubic x1/2": degrade.bicubic(photo, 2)}, size=3.2);

# %% [markdown]
# `srlib.unet_study.make_data` turns the training photos into fastai `DataLoaders` of random
# crops with flips and 90-degree rotations (`srlib.patches.PairedPatches`, seeded), and keeps the
# whole validation photos for scoring.

# %%
dls, valid_inputs, valid_targets = unet_study.make_data(CONFIG, train_images, valid_images)
lowres_batch, highres_batch = dls.train.one_batch()
print("a training batch:", tuple(lowres_batch.shape), "->", tuple(highres_batch.shape))
plotting.show_images({f"input {i}": srlib.data_torch.to_image(lowres_batch[i]) for i in range(4)}
                     | {f"target {i}": srlib.data_torch.to_image(highres_batch[i]) for i in range(4)},
                     columns=4, size=1.6);

# %% [markdown]
# ## Model
#
# `srlib.unet_study.pixel_learner` calls `srlib.models_torch.unet_learner` with the MSE loss. One
# change from lesson 7: the model is *residual*, the input plus the U-Net's output, so it starts
# from "return the input unchanged" and only has to learn corrections.

# %%
# NBVAL_CHECK_OUTPUT
learn = unet_study.pixel_learner(CONFIG, dls)
print(f"{sum(p.numel() for p in learn.model.parameters()):,} parameters, "
      f"{sum(p.numel() for p in learn.model.unet[0].parameters()):,} of them in the pretrained encoder")

# %% [markdown]
# ## Train the fastai way
#
# First the learning-rate finder: train briefly while raising the learning rate, and look where
# the loss falls fastest (fastai restores the weights afterwards).

# %%
suggestion = learn.lr_find(num_it=20 if MODE == "fast" else 100)
print(suggestion)

# %% [markdown]
# Then lesson 7's schedule (`srlib.unet_study.train_pixel`): `fit_one_cycle` with the pretrained
# encoder frozen, so the new decoder learns first; then everything unfrozen, with
# *discriminative learning rates*, the encoder's 100 times smaller than the decoder's, since its
# ImageNet features need only nudging.

# %%
timing = unet_study.train_pixel(learn, CONFIG)
print(f"{timing['steps']} steps in {timing['seconds']:.0f} s")

# %%
learn.recorder.plot_loss();

# %% [markdown]
# ## Evaluate against the input
#
# The input itself is the baseline: the crappified photo brought back to full size with bicubic
# interpolation. We report PSNR, SSIM and HFEN (Y channel, 4-pixel border cropped) and a
# perceptual distance, `srlib.perceptual.vgg_distance` (how differently VGG-16 sees the two
# images; lower is better), averaged over the five validation photos.

# %%
predictions, inference = summary.timed_predictions(lambda image: srlib.train_torch.predict_image(learn.model, image),
                                                   valid_inputs)
table = unet_study.score(valid_targets, {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": predictions})
print(table.to_markdown(baseline=None))
unet_study.save_stage(learn, "pixel", MODE, CONFIG, table, timing)
print("saved", unet_study.weights_path("pixel", MODE).relative_to(config.PROJECT_ROOT), "(tutorial 3 starts from it)")

# %% [markdown]
# `srlib.summary.record` adds these rows to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
summary.record("unet_pixel", f"{CONFIG.degradation} (x2 + JPEG)", valid_targets,
               {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": predictions},
               {"U-Net, pixel loss": {"parameters": sum(p.numel() for p in learn.model.parameters()),
                                      "training_seconds": timing["seconds"], "inference_seconds_per_megapixel": inference},
                "input (bicubic-upsampled)": {"inference_seconds_per_megapixel":
                                              summary.bicubic_seconds_per_megapixel(valid_targets, 2)}},
               crop_border=4, notebook="02_unet_pixel_loss")

# %% [markdown]
# What did it learn to remove? Look at the written numbers, the JPEG blocks and the colour
# bleeding, on photos it never saw:

# %%
boxes = {"coffee": (40, 90, 80), "flower": (56, 94, 64), "monarch": (60, 90, 64)}
rows = {name: {"input": valid_inputs[name], "U-Net, pixel loss": predictions[name], "original": valid_targets[name]}
        for name in boxes}
plotting.compare_crops(rows, boxes, size=3.0, path=config.figure_path("unet_pixel_crops.png"));

# %% [markdown]
# ## The full run

# %%
if FULL_RESULTS.exists():
    full = json.loads(FULL_RESULTS.read_text())
    print(f"{full['mode']} run, {full['date']}, {full['machine']}: pixel stage "
          f"{full['timings']['pixel']['steps']} steps in {full['timings']['pixel']['seconds'] / 60:.0f} min")
    print(full["markdown"])
else:
    print(f"{FULL_RESULTS} is missing: run `python -m srlib.unet_study --mode full`")

# %% [markdown]
# ## Conclusion
#
# In the full run (400 steps on a 2-core CPU, under 3 minutes of training) the pixel-loss U-Net
# gains 0.84 dB PSNR over its input (28.14 against 27.30 dB), raises SSIM from 0.811 to 0.815
# and lowers the HFEN from 0.643 to 0.584. In the crops it starts to take out the JPEG blocks and
# the written number; the fast run above (400 steps of smaller crops) goes part of the way. What it does not
# do is invent texture: fur and wing scales stay soft, because for a pixel loss the safest
# answer to "which of the many possible textures was here?" is their blurry average. Trained
# here for 400 steps of 64-pixel crops in fast mode; the full-run numbers used 400 steps of 96-pixel crops.
# Tutorial 3 fine-tunes this model with a loss that rewards plausible texture instead.
