# %% [markdown]
# # 5. A conditional VAE: many answers to one question
#
# Every other tutorial here gives *one* high-resolution image for a low-resolution input. But a
# x4 downscale throws away 15 of every 16 pixels: many different sharp images shrink to the same
# small one. The original collection left its VAE as a TODO; this tutorial builds a *conditional
# variational auto-encoder* that models that uncertainty, draws **several different plausible
# high-resolution images for one input**, shows where they disagree, and checks that their mean
# behaves like the single prediction of an MSE-trained network.
#
# **Run time.** Fast mode (default on a CPU; what the tests run): about 2 minutes on a 2-core
# CPU, 500 steps per model (in bfloat16 where the CPU computes it natively). Full mode: 2,000 steps per model; results from
# `python -m srlib.vae_study --mode full` at the end.
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
from srlib import config, plotting, samples, summary, vae_study
from srlib.vae_study import VAEConfig

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()             # "fast" or "full": see srlib.config
CONFIG = VAEConfig.for_mode(MODE)    # scale, crops, steps, latent size, KL weight, samples, seed
FULL_RESULTS = config.PROJECT_ROOT / "results" / "full" / "vae_study.json"

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## The model
#
# `srlib.vae.ConditionalVAE` has three parts:
#
# - an **encoder** `q(z | highres, lowres)`: during training it sees the answer and writes what
#   the low-resolution input does not tell into a small latent map `z` (4 channels at a quarter of
#   the resolution);
# - a **decoder** `p(highres | z, lowres)`: it adds detail to the bicubic-upsampled input, the
#   detail chosen by `z`;
# - the **reparameterisation trick**: `z = mu + sigma * eps` with `eps` drawn from N(0, I), so
#   the sampling step lets gradients through to the encoder.
#
# The loss is the reconstruction error plus `kl_weight` times the KL divergence between `q` and
# the prior N(0, I). The KL term is what makes sampling work: at test time there is no answer to
# encode, so `z` is drawn from the prior, and the decoder has only seen latents like those if `q`
# was kept close to the prior. **The KL weight is the trade-off**: small, and `z` carries a lot
# (sharp reconstructions in training, but prior samples unlike anything the decoder saw); large,
# and `z` carries little (samples all alike and blurry: the model falls back to the average).
# `srlib.vae.KLAnnealing` raises it from 0 over the first steps so the encoder learns to use `z`
# before it is squeezed.
#
# To compare, the same decoder is trained with `z` fixed at zero and a plain MSE loss: a
# deterministic network with the same capacity.

# %%
train_images = samples.load_split("train")
valid_images = samples.load_split("valid")
pairs, valid_inputs, valid_targets = vae_study.make_data(CONFIG, train_images, valid_images)
print(f"x{CONFIG.scale} bicubic pairs, {CONFIG.patch_size}-pixel crops;",
      f"{sum(p.numel() for p in srlib.vae.ConditionalVAE(CONFIG.channels, CONFIG.latent_channels).parameters()):,} parameters")

# %% [markdown]
# ## Train both models

# %%
mse_model, mse_history = vae_study.train(CONFIG, pairs, "mse")
vae_model, vae_history = vae_study.train(CONFIG, pairs, "vae")
print(f"MSE model {mse_history['seconds']:.0f} s, VAE {vae_history['seconds']:.0f} s")

# %%
plotting.plot_histories({"VAE reconstruction": {"step_loss": vae_history["reconstruction"]},
                         "VAE KL (unweighted)": {"step_loss": np.array(vae_history["kl"]) + 1e-3},
                         "MSE model": {"step_loss": mse_history["loss"]}}, relative=False,
                        title="training: the KL grows as the encoder starts to use z");

# %% [markdown]
# ## Several answers for one input
#
# Four samples from the prior for the same low-resolution monarch, the mean of eight, the MSE
# model's single answer, and the per-pixel standard deviation across the samples (bright where
# the samples disagree: edges and texture, exactly the information the downscale destroyed).

# %%
started = time.perf_counter()
mse_predictions = vae_study.predict(mse_model, valid_inputs, "mse")
mse_seconds = time.perf_counter() - started
started = time.perf_counter()
vae_samples = vae_study.predict(vae_model, valid_inputs, "vae", CONFIG.num_samples, CONFIG.seed)
vae_seconds = time.perf_counter() - started
name, box = "monarch", (120, 200, 120)
stack = vae_samples[name]
spread = stack.std(axis=0).mean(axis=2)
images = {f"sample {i + 1}": stack[i] for i in range(4)}
images |= {"mean of samples": stack.mean(axis=0), "MSE model": mse_predictions[name], "original": valid_targets[name]}
plotting.compare_crops({name: images}, {name: box}, size=2.2, path=config.figure_path("vae_samples.png"));
plotting.show_images({"spread across samples (std)": np.repeat((spread / spread.max())[..., None], 3, axis=2),
                      "bicubic input": valid_inputs[name]}, size=4.0, path=config.figure_path("vae_spread.png"));

# %% [markdown]
# ## Scores
#
# PSNR, SSIM and HFEN (Y channel, `scale` pixels of border cropped) on the five validation
# photos. "VAE, one sample" is the average score of single samples.

# %%
table = vae_study.score(valid_targets, valid_inputs, mse_predictions, vae_samples, CONFIG)
print(table.to_markdown())

# %% [markdown]
# `srlib.summary.record` adds the bicubic, MSE and VAE-mean rows (inference time of the mean: all its samples) to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
megapixels = sum(image.shape[0] * image.shape[1] for image in valid_targets.values()) / 1e6
parameters = {name: sum(p.numel() for p in model.parameters()) for name, model in (("mse", mse_model), ("vae", vae_model))}
summary.record("vae", f"bicubic x{CONFIG.scale}", valid_targets,
               {"bicubic": valid_inputs, "MSE model": mse_predictions,
                "VAE, mean of samples": {n: s.mean(axis=0) for n, s in vae_samples.items()}},
               {"bicubic": {"inference_seconds_per_megapixel": summary.bicubic_seconds_per_megapixel(valid_targets, CONFIG.scale)},
                "MSE model": {"parameters": parameters["mse"], "training_seconds": mse_history["seconds"],
                              "inference_seconds_per_megapixel": mse_seconds / megapixels},
                "VAE, mean of samples": {"parameters": parameters["vae"], "training_seconds": vae_history["seconds"],
                                         "inference_seconds_per_megapixel": vae_seconds / megapixels}},
               crop_border=CONFIG.scale, notebook="05_vae")

# %% [markdown]
# ## The full run

# %%
if FULL_RESULTS.exists():
    full = json.loads(FULL_RESULTS.read_text())
    print(f"{full['mode']} run, {full['date']}, {full['machine']}: "
          f"{full['config']['num_steps']} steps per model, {sum(full['seconds'].values()) / 60:.0f} min of training")
    print(full["markdown"])
else:
    print(f"{FULL_RESULTS} is missing: run `python -m srlib.vae_study --mode full`")

# %% [markdown]
# ## Conclusion
#
# The full run (2,000 steps per model on a 2-core CPU, about 8 minutes for both) at x4:
#
# - **A single sample scores worse than bicubic** on PSNR (29.01 against 29.53 dB) and SSIM
#   (0.782 against 0.853): it commits to one set of details, and wherever those differ from the
#   real ones, both metrics punish it twice over, once for the missing detail and once for the
#   invented one. The spread map shows where the samples disagree: along edges and in texture,
#   where the downscale destroyed the information.
# - **The mean of the samples moves towards the MSE model's answer** (30.13 dB against 30.80 dB,
#   from 29.01 for one sample): averaging plausible answers gives back the blurry average the
#   MSE loss aims for. With only 8 samples and a short run the VAE's mean is still 0.7 dB short
#   of the MSE model, which is trained for that average directly.
# - **The MSE model wins every metric** (+1.26 dB): PSNR, SSIM and HFEN reward the average, not
#   any single plausible image, which is why tutorials 3 and 4 need losses and judges other than
#   the pixels.
#
# The KL weight (`CONFIG.kl_weight`) sets how different the samples may be: raise it and they
# collapse towards one blurry image; lower it and they vary more but drift from what the prior
# can produce. Trained here for 500 steps in fast mode; the full-run numbers used 2,000.
