# %% [markdown]
# # 3. The same U-Net with a perceptual loss
#
# Tutorial 2's U-Net learned to remove JPEG blocks and text with a per-pixel loss, but its output
# is smooth where the original had texture. This tutorial fine-tunes it with the *feature loss*
# of Johnson et al. (2016), as fast.ai's lesson 7 did, and measures the trade: pixel-exactness
# (PSNR, SSIM) against how the images *look* to a network that knows photographs (the VGG-16
# feature distance).
#
# **Run time.** Fast mode (default on a CPU; what the tests run): about 3 minutes on a 2-core CPU
# when tutorial 2 has run (it starts from its weights), about 5 without. Full mode: 200 steps on
# 96-pixel crops; results from `python -m srlib.unet_study --mode full` at the end.
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
from srlib import checkpoints, config, degrade, losses_torch, plotting, samples, summary, unet_study
from srlib.unet_study import UNetConfig

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()               # "fast" or "full": see srlib.config
CONFIG = UNetConfig.for_mode(MODE)     # the same settings as tutorial 2, plus CONFIG.gram_weight
FULL_RESULTS = config.PROJECT_ROOT / "results" / "full" / "unet_study.json"

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Why per-pixel losses blur
#
# Super-resolution and restoration are *ill-posed*: many different sharp images shrink to the
# same small one. Faced with that uncertainty, the prediction that minimises the mean squared
# error is the **average** of all plausible answers, and an average of many sharp images with
# their edges and fur in slightly different places is a blurry image. The pixel loss is doing its
# job; the job is the problem.
#
# ## The feature (perceptual) loss
#
# Johnson et al. compare images not pixel by pixel but through a network pretrained on ImageNet:
# two images are close if VGG-16's activations for them are close. Those activations respond to
# edges, textures and object parts, and are tolerant of a texture being shifted a pixel, so the
# network is rewarded for *a* plausible texture rather than the average of all of them.
# `srlib.losses_torch.FeatureLoss` is lesson 7's recipe:
#
# - an L1 **pixel** term, to keep colours and layout;
# - L1 between VGG-16 activations at `relu3_3`, `relu4_3` and `relu5_3` (the outputs before the
#   last three max-pools), weighted 5, 15 and 2: the **feature** terms;
# - L1 between the **Gram matrices** of those activations (which channels fire together, the
#   "style" statistics of Gatys et al.), weighted `gram_weight * w^2`.
#
# The VGG-16 weights are ImageNet's, read offline (`srlib.pretrained`); each layer's activations
# are scaled so that its L1 equals the pixel L1 on crappified photos, because raw activations of
# this VGG differ by orders of magnitude between layers. Lesson 7's Gram weight, 5,000, then makes
# the Gram terms more than ten times everything else together; we use 500 (`CONFIG.gram_weight`).
# Here are the terms on one batch of crappified crops against their originals:

# %%
train_images = samples.load_split("train")
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = unet_study.make_data(CONFIG, train_images, valid_images)
lowres_batch, highres_batch = dls.valid.one_batch()
for gram_weight in (5e3, CONFIG.gram_weight):
    loss = losses_torch.FeatureLoss(gram_weight=gram_weight)
    with torch.no_grad():
        total = loss(lowres_batch, highres_batch).item()
    print(f"gram_weight {gram_weight:>6g}: total {total:7.3f} = " + ", ".join(f"{k} {v:.3f}" for k, v in loss.terms.items()))

# %% [markdown]
# ## Start from tutorial 2's weights
#
# Fine-tuning the pixel-loss U-Net rather than starting from scratch means the feature loss only
# has to add texture; from scratch it would also have to learn colours and shapes, with a loss
# that constrains them loosely. If tutorial 2 has not been run in this mode,
# `srlib.unet_study.ensure_pixel_weights` runs its training (`train_pixel`) here first.

# %%
pixel_weights = unet_study.ensure_pixel_weights(CONFIG, dls, MODE)
pixel_model = unet_study.pixel_learner(CONFIG, dls).model
metadata = checkpoints.load_weights(pixel_model, pixel_weights)
print(f"loaded {pixel_weights.name}: trained {metadata['training_seconds']:.0f} s on {metadata['machine']}")

# %% [markdown]
# ## Train with the feature loss
#
# `srlib.unet_study.perceptual_learner` puts the feature loss on the same U-Net and reports each
# of its seven terms as a fastai metric, so we can watch what the network trades.

# %%
learn = unet_study.perceptual_learner(CONFIG, dls, start_from=pixel_weights)
timing = unet_study.train_perceptual(learn, CONFIG)
print(f"{timing['steps']} steps in {timing['seconds']:.0f} s")

# %% [markdown]
# ## Pixel loss against perceptual loss
#
# Same photographs, same metrics as tutorial 2, plus the VGG-16 feature distance
# (`srlib.perceptual.vgg_distance`, lower is better):

# %%
pixel_predictions = srlib.train_torch.predict_images(pixel_model, valid_inputs)
perceptual_predictions, inference = summary.timed_predictions(
    lambda image: srlib.train_torch.predict_image(learn.model, image), valid_inputs)
table = unet_study.score(valid_targets, {"input (bicubic-upsampled)": valid_inputs,
                                         "U-Net, pixel loss": pixel_predictions,
                                         "U-Net, perceptual loss": perceptual_predictions})
print(table.to_markdown(baseline=None))
unet_study.save_stage(learn, "perceptual", MODE, CONFIG, table, timing)

# %% [markdown]
# `srlib.summary.record` adds these rows to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
summary.record("unet_perceptual", f"{CONFIG.degradation} (x2 + JPEG)", valid_targets, {"U-Net, perceptual loss": perceptual_predictions},
               {"U-Net, perceptual loss": {"parameters": sum(p.numel() for p in learn.model.parameters()),
                                           "training_seconds": metadata["training_seconds"] + timing["seconds"],
                                           "inference_seconds_per_megapixel": inference}},
               crop_border=4, notebook="03_unet_perceptual_loss")

# %%
boxes = {"kodim23": (66, 60, 64), "coffee": (56, 94, 64), "flower": (56, 94, 64)}
rows = {name: {"input": valid_inputs[name], "pixel loss": pixel_predictions[name],
               "perceptual loss": perceptual_predictions[name], "original": valid_targets[name]} for name in boxes}
plotting.compare_crops(rows, boxes, size=2.6, path=config.figure_path("unet_perceptual_crops.png"));

# %% [markdown]
# ## A photo larger than anything it trained on
#
# The original collection's closing example upscaled a cat. The U-Net is fully convolutional, so
# a whole photograph goes through it in one piece, at a size it never saw in training. Here
# Chelsea the cat (a validation photo) is enlarged twice with bicubic interpolation to 600x902
# and then handed to both U-Nets (`srlib.train_torch.predict_image` pads to a multiple of 32).

# %%
cat = degrade.upscale_bicubic(valid_images["chelsea"], 2)
cat_pixel = srlib.train_torch.predict_image(pixel_model, cat)
cat_perceptual = srlib.train_torch.predict_image(learn.model, cat)
print("input", cat.shape, "-> output", cat_perceptual.shape)
plotting.compare_crops({"chelsea x2": {"bicubic x2": cat, "pixel-loss U-Net": cat_pixel,
                                       "perceptual-loss U-Net": cat_perceptual}},
                       {"chelsea x2": (160, 300, 240)}, size=4.0, path=config.figure_path("unet_cat.png"));

# %% [markdown]
# ## The full run

# %%
if FULL_RESULTS.exists():
    full = json.loads(FULL_RESULTS.read_text())
    print(f"{full['mode']} run, {full['date']}, {full['machine']}: pixel stage "
          f"{full['timings']['pixel']['seconds'] / 60:.0f} min, perceptual stage "
          f"{full['timings']['perceptual']['seconds'] / 60:.0f} min")
    print(full["markdown"])
else:
    print(f"{FULL_RESULTS} is missing: run `python -m srlib.unet_study --mode full`")

# %% [markdown]
# ## Conclusion
#
# The full run (200 fine-tuning steps after tutorial 2's 400, on a 2-core CPU) shows the trade
# the feature loss makes, in numbers:
#
# - **PSNR and SSIM prefer the pixel loss**: 28.14 dB and 0.815 for the pixel-loss U-Net,
#   27.69 dB and 0.808 after perceptual fine-tuning. The feature loss is free to put a
#   texture a pixel away from where it was, and PSNR punishes that.
# - **VGG-16 prefers the perceptual loss**: its feature distance falls from 0.554 (pixel loss)
#   to 0.531, against 0.561 for the input: the images *look* more like the originals to a network
#   that knows photographs, which is what the loss optimises and what people tend to see.
#
# No number settles which is "better": it depends on whether you need faithful pixels
# (measurement, medical images) or a convincing picture (photos for people). Trained here for
# 200 steps of 64-pixel crops in fast mode; the full-run numbers used 200 of 96 pixels. Tutorial 4 pushes further towards
# realism with a critic network that learns what "looks real" means.
