# %% [markdown]
# # 1. A convolutional auto-encoder in Keras, and which loss makes sharper images
#
# **Super-resolution** (SR) recovers a high-resolution image from a low-resolution one. This
# tutorial trains the small convolutional *auto-encoder* of the original collection
# (ilopezfr/image-superres) to undo a x2 downscale, and then asks the question that collection
# announced but never answered: **does the loss function matter?** The same network is trained
# from the same random seed, on the same batches, with seven losses (MSE, L1, SSIM, PSNR, HFEN,
# MSE + HFEN, MS-SSIM + L1), and every result is scored against plain bicubic upscaling on
# photographs the networks never saw.
#
# **Run time.** Fast mode (the default on a CPU, and what the tests run): about 3 minutes on a
# 2-core laptop CPU, with a narrower network and 200 training steps per loss (in bfloat16 where
# the CPU computes it natively: `srlib.train_keras.dtype_policy`). Full mode (the
# default when a GPU is visible, or `SRLIB_MODE=full`): the original 1.1 M-parameter network,
# 2,500 steps per loss; it took 7.6 minutes on one H200 GPU. The full run's table is shown at the
# end, read from `results/full/autoencoder_study.json`.
#
# **The outputs shown** come from `make notebooks` (fast mode) on a 2-core x86-64 CPU with native
# bfloat16 (AVX-512-BF16), 2026-11-26; the full-run results are read from `results/full/`.

# %% [markdown]
# ## Setup
#
# Everything this notebook uses that another notebook also needs lives in `srlib`: data,
# degradations, the model builder, the losses, metrics and plots. Keras runs on TensorFlow here;
# to use PyTorch or JAX instead, start Jupyter with `KERAS_BACKEND=torch` (or `jax`) in the
# environment, or set `os.environ["KERAS_BACKEND"]` before the first `import keras`. The losses are
# written with `keras.ops`, so they work on every backend.

# %%
import os
import json

import numpy as np

import srlib
from srlib import autoencoder_study, config, degrade, metrics, plotting, samples, summary
from srlib.autoencoder_study import LOSS_LABELS, StudyConfig

import keras

print(f"srlib {srlib.__version__}, Keras {keras.__version__} on the {keras.backend.backend()} backend")

# %% [markdown]
# ## Parameters
#
# One cell decides the run. `MODE` comes from `srlib.config.run_mode()` (fast on a CPU, full on a
# GPU, or whatever `SRLIB_MODE` says); change the study's settings on `CONFIG`.

# %% tags=["parameters"]
MODE = config.run_mode()                 # "fast" or "full"
CONFIG = StudyConfig.for_mode(MODE)      # network widths, crop size, steps, learning rate, seed
CONFIG.degradation = "bicubic"           # "bicubic" (the classic benchmark) or "downup" (the original's recipe)
LOSSES = autoencoder_study.STUDY_LOSSES  # the losses to compare
FULL_RESULTS = config.PROJECT_ROOT / "results" / "full" / "autoencoder_study.json"

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Why interpolation blurs
#
# Downscaling by two keeps one value for every 2x2 block of pixels: detail finer than the new
# pixel grid is gone. Interpolation (bilinear, bicubic) can only draw smooth curves through the
# pixels that remain, so edges come back soft and fine texture does not come back at all.
# A network can do better because it has *seen* photographs: it learns what sharp edges and
# textures usually look like when their blurred version looks like this. That knowledge is in
# its weights, learned from pairs of (degraded, original) images.
#
# ## Data
#
# No SR benchmark can be downloaded offline, so we use colour photographs that installed Python
# packages carry (`srlib.samples`): nine for training and five, never trained on, for validation.
# Pairs are made by `srlib.degrade`:
#
# - **`bicubic`**: the classic benchmark degradation, MATLAB's antialiased bicubic `imresize` by
#   1/2. The auto-encoder maps an image to one of the same size, so its input is the low-resolution
#   image upscaled back with bicubic: the network learns what bicubic misses.
# - **`downup`**: the original tutorial's recipe, bilinear down by 2 and up again.

# %%
train_images = samples.load_split("train")
valid_images = samples.load_split("valid")
print("train:", {name: image.shape[:2] for name, image in train_images.items()})
print("valid:", {name: image.shape[:2] for name, image in valid_images.items()})

# %%
photo = valid_images["monarch"]
highres = photo[150:310, 250:410]
lowres = degrade.bicubic(highres, 2)
plotting.show_images({
    "original (160 px)": highres,
    "bicubic x1/2 (80 px)": lowres,
    "...back up with bicubic": degrade.upscale_bicubic(lowres, 2),
    "downup: the original's recipe": degrade.downup(highres, 2),
}, size=2.6);

# %% [markdown]
# Training sees random 2-D crops of the training photos, flipped and rotated
# (`srlib.patches.PairedPatches`); validation scores whole photographs.

# %%
train_pairs, valid_inputs, valid_targets = autoencoder_study.make_data(CONFIG, train_images, valid_images)
lowres_batch, highres_batch = train_pairs.batch(range(4))
print("one batch: lowres", lowres_batch.shape, "highres", highres_batch.shape)

# %% [markdown]
# ## Model: the original auto-encoder, rebuilt
#
# An *auto-encoder* squeezes its input through a bottleneck and rebuilds it. Here the encoder is
# two 3x3 convolutions, a max-pool, two more convolutions, another max-pool and one more
# convolution; the decoder mirrors it with upsampling. The *skip additions* (the encoder's
# feature maps added to the decoder's at the same resolution) let fine detail bypass the
# bottleneck. `srlib.models_keras.build_autoencoder` builds it; with the original widths it has
# exactly the original's 1,110,403 parameters:

# %%
# NBVAL_CHECK_OUTPUT
original = srlib.models_keras.build_autoencoder(filters=(64, 128, 256), residual=False)
print(f"{original.count_params():,} parameters")

# %% [markdown]
# Two changes from the original. It built a second model out of the first one's layers, so the
# "two" models it compared trained the same weights; the builder makes new layers each call.
# And we train it **residually** (`residual=True`): the input is added to the output, so the
# network only has to learn the detail bicubic misses instead of re-learning the whole image. A
# plain auto-encoder spends its first thousand steps learning to copy its input; in fast mode it
# would never get past that. In fast mode the widths are halved (`CONFIG.filters`), so each loss
# trains in about 15 seconds:

# %%
# NBVAL_CHECK_OUTPUT
model = srlib.models_keras.build_autoencoder(CONFIG.filters, residual=CONFIG.residual)
print(f"this run: filters {CONFIG.filters}, residual={CONFIG.residual}, {model.count_params():,} parameters")

# %% [markdown]
# ## The losses
#
# Each loss compares the network's output with the original, pixel by pixel or through a filter
# (`srlib.losses_keras`; the same losses exist for PyTorch in `srlib.losses_torch`, tested to give
# the same values):
#
# | loss | what it measures |
# |---|---|
# | MSE | mean squared error: what PSNR scores, so the "obvious" choice |
# | L1 | mean absolute error: punishes small errors more and large ones less than MSE |
# | SSIM loss | 1 - SSIM: local agreement of brightness, contrast and structure (Wang et al., 2004) |
# | PSNR loss | -PSNR per image: MSE on a log scale, so well-restored images keep a gradient |
# | HFEN | squared error after a Laplacian-of-Gaussian filter: only edges and fine detail count |
# | MSE + 10 HFEN | the original tutorial's mix |
# | MS-SSIM + L1 | Zhao et al. (2017): 0.84 (1 - MS-SSIM) + 0.16 L1 |
#
# ## Train: one model per loss
#
# `srlib.autoencoder_study.train_with_loss` seeds everything with `CONFIG.seed`, builds the model
# and trains it with Adam (learning rate `CONFIG.learning_rate`, cosine decay); all seven runs
# start from the same weights and see the same batches. Then it predicts every validation photo.

# %%
histories, predictions, inference = {}, {}, {}
for name in LOSSES:
    model, histories[name] = autoencoder_study.train_with_loss(name, CONFIG, train_pairs)
    predictions[name], inference[name] = summary.timed_predictions(  # seconds per output megapixel
        lambda image: srlib.train_keras.predict_image(model, image), valid_inputs)
print(f"trained {len(LOSSES)} models in {sum(h['seconds'] for h in histories.values()):.0f} s")

# %% [markdown]
# Every curve is divided by its first value, so losses in different units share the axes:

# %%
plotting.plot_histories({LOSS_LABELS[name]: history for name, history in histories.items()},
                        title=f"training loss ({MODE} run)", path=config.figure_path("autoencoder_fast_curves.png"));

# %% [markdown]
# ## Evaluate against bicubic
#
# PSNR and SSIM on the luma (Y) channel with `scale` pixels of border cropped, as SR papers
# report them, and HFEN (the relative Laplacian-of-Gaussian error; lower is better), averaged over
# the five validation photos (`srlib.metrics`, `srlib.evaluation.evaluate`). "input" is the
# network's input itself; for the bicubic degradation it *is* bicubic.

# %%
table = autoencoder_study.score_study(valid_targets, valid_inputs, predictions, CONFIG)
print(table.to_markdown())

# %% [markdown]
# `srlib.summary.record` adds these rows to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
baseline = "bicubic" if CONFIG.degradation == "bicubic" else "input"
summary.record("autoencoder", f"{CONFIG.degradation} x{CONFIG.scale}", valid_targets,
               {baseline: valid_inputs} | {f"auto-encoder, {LOSS_LABELS[n]}": p for n, p in predictions.items()},
               {f"auto-encoder, {LOSS_LABELS[n]}": {"parameters": model.count_params(),
                                                    "training_seconds": histories[n]["seconds"],
                                                    "inference_seconds_per_megapixel": inference[n]} for n in LOSSES}
               | {baseline: {"inference_seconds_per_megapixel": summary.bicubic_seconds_per_megapixel(valid_targets, CONFIG.scale)}},
               crop_border=CONFIG.scale, notebook="01_autoencoder_keras")

# %% [markdown]
# Numbers hide what the eye sees. Zoomed crops of two validation photos (pixels enlarged
# without smoothing):

# %%
boxes = {"monarch": (170, 260, 72), "kodim23": (185, 175, 72)}
rows = {name: {"original": valid_targets[name], "bicubic": valid_inputs[name],
               **{LOSS_LABELS[loss]: predictions[loss][name] for loss in LOSSES}} for name in boxes}
plotting.compare_crops(rows, boxes, size=1.7, path=config.figure_path("autoencoder_fast_crops.png"));

# %% [markdown]
# ## The full run
#
# The fast run above is a demonstration: 200 steps of a narrow network. The question of which
# loss is best needs the real thing: the original 1.1 M-parameter network, 2,500 steps of
# 96-pixel crops per loss, made with
# `KERAS_BACKEND=torch python -m srlib.autoencoder_study --mode full`
# (`srlib.autoencoder_study.run_study` runs exactly the steps of this notebook, one after the other).

# %%
full = json.loads(FULL_RESULTS.read_text())
print(f"{full['mode']} run, {full['date']}: {full['seconds'] / 60:.1f} min on {full['machine']} "
      f"(Keras backend {full['keras_backend']}), {full['parameters']:,} parameters, "
      f"{full['config']['num_steps']} steps per loss")
print(full["markdown"])

# %%
full_table = srlib.evaluation.ResultsTable(rows=full["rows"])
full_means = full_table.mean()
plotting.bar_chart({label: values["psnr"] for label, values in full_means.items() if label not in ("bicubic", "input")},
                   "PSNR (dB), Y channel", baseline=full_means["bicubic"]["psnr"],
                   title="full run: validation PSNR by training loss", path=config.figure_path("autoencoder_full_psnr.png"));
plotting.plot_histories({LOSS_LABELS[name]: history for name, history in full["histories"].items()},
                        key="loss", xlabel="epoch (50 steps)", title="full run: training loss");

# %% [markdown]
# ## What the numbers say
#
# From the full run (the table above; the fast run's ranking can differ, since 200 steps decide
# little):
#
# - **Every loss but HFEN beats bicubic by about 2 dB or more** with a 1.1 M-parameter network
#   and eight minutes of GPU time: +1.9 to +2.7 dB PSNR, SSIM up from 0.938 to 0.955-0.960, HFEN
#   more than halved.
# - **The loss that wins on PSNR is not MSE.** L1 and the PSNR loss tie for the best PSNR
#   (36.70 dB, +2.70 dB), 0.7 dB ahead of MSE (36.02 dB), even though PSNR is a function of MSE.
#   MSE's gradient shrinks with the error, so once most pixels are nearly right it stops pushing;
#   L1's gradient does not shrink, and the PSNR loss divides by the error, which keeps the push
#   alive. This matches Zhao et al. (2017), who found L1 better than L2 even on L2's own metric.
# - **The SSIM loss wins on SSIM** (0.9599) but not on PSNR (+2.28 dB): each loss is best at
#   what it measures.
# - **HFEN alone is a poor loss** (+0.60 dB). Its Laplacian-of-Gaussian filter is blind to flat
#   areas and overall brightness, so nothing stops colours from drifting; in the mix with MSE
#   (the original tutorial's choice) it gives a good HFEN (0.099) but less PSNR than L1.
# - **MS-SSIM + L1**, Zhao et al.'s recommendation, lands mid-table here (+1.94 dB), with our
#   3-scale MS-SSIM on 96-pixel crops.
#
# In short: for this network and data, train with **L1** (or the PSNR loss) when the metric is
# PSNR, with the SSIM loss when it is SSIM; none of them makes textures that were lost reappear,
# which is what the perceptual and adversarial losses of tutorials 3 and 4 are for.
#
# ## Conclusion
#
# A residual auto-encoder of 1.1 M parameters improves on bicubic by up to 2.7 dB at x2. Among
# sensible losses the choice moves PSNR by 0.75 dB, and a poor one (HFEN alone) costs 2 dB.
# Trained here for 200 steps per loss in fast mode; the full-run numbers used 2,500. Next,
# `02_unet_pixel_loss.ipynb` swaps the auto-encoder for a U-Net with a pretrained encoder.
