# %% [markdown]
# # 5. A conditional VAE: many answers to one question
#
# Every other tutorial here gives *one* high-resolution image for a low-resolution input. But a x4
# downscale throws away 15 of every 16 pixels: many different sharp images shrink to the same small
# one. This tutorial builds a *conditional variational auto-encoder* that models that uncertainty,
# draws **several different plausible high-resolution images for one input**, shows where they
# disagree, and checks that their mean behaves like the single prediction of an MSE-trained network.
#
# **This notebook is the whole program.** The model, its loss and its training loop are written in
# the cells below. Fast mode (the default on a CPU) takes a few minutes, with 500 steps per model
# on the 9 sample photos. The full run (`SRLIB_MODE=full python -m course.notebooks 05_vae`) trains
# 8,000 steps per model on the whole training pool: a quarter of an hour to an hour on a laptop
# CPU, depending on whether it computes bfloat16 (a 16-bit floating-point format, half the memory
# of float32) natively (the training loop runs on the CPU, GPU or not). The library's *zoo* (its
# trained models, ready to use with `srlib.zoo.load_model` or `srlib upscale`) ships a full run of
# this notebook's VAE as `vae-x4`.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import json
import time
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import srlib
import course
from srlib import config, evaluation, metrics, patches, plotting, samples
from srlib.torch import checkpoints, precision, to_tensor, vae

print(f"srlib {srlib.__version__}, torch {torch.__version__}")

# %% [markdown]
# ## Parameters
#
# Everything that decides this tutorial's numbers. Fast and full mode differ in the photos (`pool`,
# see `srlib.samples.load_pool`), the number of training steps, the length of the KL warm-up and the
# number of samples drawn per photo.

# %% tags=["parameters"]
MODE = config.run_mode()                 # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), num_steps=4, kl_warmup_steps=2, num_samples=4),
           "fast": dict(pool=("samples",), num_steps=500, kl_warmup_steps=200, num_samples=8),
           "full": dict(pool=("samples", "wallpapers"), num_steps=8000, kl_warmup_steps=2000, num_samples=32)}
CONFIG = SimpleNamespace(
    degradation="bicubic", scale=4,      # at x4 many more sharp images fit one input than at x2
    patch_size=64, batch_size=16, learning_rate=1e-3,
    channels=32, latent_channels=4,      # the network's width; z has 4 channels at 1/4 of the resolution
    kl_weight=0.005,                     # the final weight of the KL term: the trade-off explained below
    precision="auto",                    # bfloat16 + channels-last where native (srlib.torch.precision)
    seed=42, **BUDGETS[MODE])

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Data
#
# Random 64-pixel crops of the training pool's photos and their x4 bicubic reductions, brought back to
# full size with bicubic (`srlib.patches.PairedPatches`), so that the low-resolution input and its
# original have the same shape, as printed below. The pool is the 9 sample photos in fast mode; the
# full run adds the photos of `srlib data` (desktop wallpapers and photographs from Debian
# packages, see `srlib.samples.load_pool`). For scoring, the five validation photos, cropped to a
# multiple of 16 pixels: the x4 reduction and the encoder's two halvings each need a multiple of 4,
# and 16 leaves a margin.

# %%
train_images = samples.load_pool(CONFIG.pool)
valid_images = samples.load_split("valid")
train_pairs = patches.PairedPatches(train_images, CONFIG.degradation, scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                                    length=CONFIG.batch_size * 50, upsample_input=True, seed=CONFIG.seed)
valid_inputs, valid_targets = patches.degrade_photos(valid_images, CONFIG.degradation, CONFIG.scale,
                                                     seed=CONFIG.seed, multiple=4 * CONFIG.scale)
lowres_batch, highres_batch = (to_tensor(array) for array in train_pairs.batch(range(4)))
print("a batch:", tuple(lowres_batch.shape), "->", tuple(highres_batch.shape))

# %% [markdown]
# ## The model, from scratch
#
# A conditional VAE has four parts:
#
# - an **encoder** `q(z | highres, lowres)`: during training it sees the answer and writes what
#   the low-resolution input does not tell into a small latent map `z` (4 channels at a quarter of
#   the resolution). It returns a mean `mu` and a log-variance `logvar` for every latent element
#   (the logarithm of the variance, which the network may output as any real number, while a
#   variance must be positive);
# - a **decoder** `p(highres | z, lowres)`: it adds detail to the bicubic-upsampled input, the
#   detail chosen by `z`. The input goes through two convolutions of its own (`condition`), `z` is
#   enlarged to full size by repeating each latent value over a 4 x 4 block (nearest neighbour),
#   and the two are stacked as the decoder's input;
# - a **prior** `p(z | lowres)`: what `z` may be for this input before the answer is known, a
#   Gaussian whose mean and log-variance a small network computes from the input alone (the
#   *prior network* of Sohn et al. 2015's conditional VAE). At test time, with no answer to
#   encode, `z` is drawn from it. Its last layer starts at zero, so it starts as the standard
#   normal N(0, I) that a plain VAE uses for every input; it can then learn to leave room for
#   different answers where the input is ambiguous (texture, edges) and none where it is not
#   (a smooth sky). With `prior="normal"` the class is that plain VAE, and `z` = 0 is the prior's
#   mean (the comparison model trained below uses it that way);
# - the **reparameterisation trick**: `z = mu + exp(0.5 * logvar) * eps` with `eps` drawn from
#   N(0, I). Sampling itself has no gradient; written this way, the randomness is an input and
#   the gradient flows through `mu` and `logvar` to the encoder.
#
# Why a learned prior rather than N(0, I)? Short probes of both decided it, 4,000 steps each on
# this tutorial's data (`benchmarks/vae_probes.py`; the cell below reads its results file). For
# each prior and KL weight: the PSNR (peak signal-to-noise ratio against the original, in
# decibels; higher is closer; tutorial 7 explains it) of the mean of 16 samples and of one sample,
# and the **spread in the textured quarter**, the standard deviation across samples in
# grey levels (of 255) over the quarter of each photo's pixels with the most local detail, which
# is how much the samples differ where there is texture to differ in.

# %%
probes = json.loads((course.PROJECT_ROOT / "results" / "probes" / "vae_probes.json").read_text())["probes"]
print(f"{'probe':22} {'prior':>7} {'KL weight':>9} {'latent':>6} {'mean (dB)':>9} {'one (dB)':>8} "
      f"{'spread, textured':>16}")
for probe, row in probes.items():
    kind = row["settings"]
    prior = "-" if kind["kind"] == "mse" else kind["prior"]
    weight = "-" if kind["kind"] == "mse" else f"{kind['kl_weight']:g}"
    latent = "-" if kind["kind"] == "mse" else f"1/{2 ** kind['downsamples']}"
    print(f"{probe:22} {prior:>7} {weight:>9} {latent:>6} {row['psnr_mean']:9.2f} {row['psnr_sample']:8.2f} "
          f"{row['spread_textured']:16.2f}")

# %% [markdown]
# Read the table by KL weight. With N(0, I), lowering the weight from 0.02 to 0.005 buys spread
# (0.002 adds none) but the mean of the samples falls away from the MSE model (`mse`, first row,
# the same network trained without a latent): at 0.005 it is most of a decibel short.
# The learned prior spreads about as much in the textured quarter at 0.02 and 0.005, and more at
# 0.002, with its mean much closer to the MSE model's at every weight. Of its weights, 0.02 keeps
# the mean closest but spreads the least; 0.002 spreads the most but its mean is furthest. We take
# 0.005: as much spread as N(0, I) gives at that weight, with a mean two tenths of a decibel from
# the MSE model. A latent at half the resolution (`-half`, one halving instead of two) did worse:
# less spread with N(0, I), the same with the learned prior, and a mean further from the MSE model
# with both.

# %%
def conv_block(in_channels, out_channels, stride=1):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.LeakyReLU(0.2))


class ConditionalVAE(nn.Module):
    def __init__(self, channels=32, latent_channels=4, prior="learned"):
        super().__init__()
        self.prior_kind = prior
        self.latent_channels = latent_channels
        # encoder: (highres, lowres) stacked -> two stride-2 halvings -> mu and logvar
        self.encoder = nn.Sequential(conv_block(6, channels), conv_block(channels, 2 * channels, stride=2),
                                     conv_block(2 * channels, 4 * channels, stride=2),
                                     nn.Conv2d(4 * channels, 2 * latent_channels, 3, padding=1))
        # features of the input alone, which the decoder sees beside z
        self.condition = nn.Sequential(conv_block(3, channels), conv_block(channels, channels))
        self.decoder = nn.Sequential(conv_block(channels + latent_channels, channels), conv_block(channels, channels),
                                     conv_block(channels, channels), nn.Conv2d(channels, 3, 3, padding=1))
        if prior == "learned":  # the prior network: the input alone -> mu and logvar of p(z | lowres)
            self.prior = nn.Sequential(conv_block(3, channels), conv_block(channels, 2 * channels, stride=2),
                                       conv_block(2 * channels, 4 * channels, stride=2),
                                       nn.Conv2d(4 * channels, 2 * latent_channels, 3, padding=1))
            nn.init.zeros_(self.prior[-1].weight)  # the last layer starts at zero: p(z | lowres) starts as N(0, I)
            nn.init.zeros_(self.prior[-1].bias)

    def prior_statistics(self, lowres):
        if self.prior_kind == "normal":
            zeros = torch.zeros(len(lowres), self.latent_channels, lowres.shape[2] // 4, lowres.shape[3] // 4)
            return zeros, zeros
        mu, logvar = self.prior(lowres).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)

    def encode(self, lowres, highres):
        mu, logvar = self.encoder(torch.cat([highres, lowres], dim=1)).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 10.0)  # keeps exp(logvar) finite in the first steps

    def decode(self, lowres, z=None):
        if z is None:  # the prior's mean: one deterministic answer
            z = self.prior_statistics(lowres)[0]
        z = F.interpolate(z, size=lowres.shape[-2:], mode="nearest")
        return lowres + self.decoder(torch.cat([self.condition(lowres), z], dim=1))  # input + detail

    def forward(self, lowres, highres):
        mu, logvar = self.encode(lowres, highres)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # the reparameterisation trick
        return self.decode(lowres, z), mu, logvar

# %% [markdown]
# ## The loss
#
# A VAE maximises the *evidence lower bound* (ELBO), a lower bound on the log-likelihood of the
# training images; its loss is the negative ELBO, two terms: a **reconstruction** term, the squared
# error summed over the pixels of each image (a Gaussian likelihood up to constants), plus
# `kl_weight` times the **KL divergence** (Kullback-Leibler: how far one probability distribution
# is from another, zero when they are the same) between the encoder's distribution `q(z | ...)` =
# N(mu, exp(logvar)) (the *posterior*: what the encoder believes about `z` once it has seen the
# answer) and the prior `p(z | lowres)` = N(mu_p, exp(logvar_p)). For two Gaussians the KL has a
# closed form, per latent value `0.5 (logvar_p - logvar + (exp(logvar) + (mu - mu_p)²) /
# exp(logvar_p) - 1)`, summed in the code below (with `mu_p = logvar_p = 0` it is the familiar
# `0.5 (mu² + exp(logvar) - 1 - logvar)` against N(0, I)); it is measured in *nats*
# (natural-log units of information). The gradient of the KL moves both distributions: the
# encoder towards the prior, and the prior towards what the encoder finds for such inputs. The KL term is what makes sampling work: at test time there is no answer to
# encode, so `z` is drawn from the prior, and the decoder has only seen latents like those if `q`
# was kept close to the prior. **The KL weight is the trade-off**: small, and `z` carries a lot
# (sharp reconstructions in training, but prior samples unlike anything the decoder saw); large,
# and `z` carries little (samples all alike and blurry: the model falls back to the average).
# Read as a likelihood, a weight `w` on the KL is the exact negative ELBO of a Gaussian decoder
# with noise variance `w / 2`: a Gaussian's negative log-likelihood is the squared error divided
# by twice its variance, so dividing the whole loss by `w` gives squared error / w + KL. So
# `kl_weight = 0.005` says the pixels (in [0, 1]) are uncertain by a standard deviation of 0.05,
# about 13 grey levels, so detail fainter than that costs more to write into
# `z` than it saves. The probes tried 0.02, 0.005 and 0.002; 0.005 keeps the mean of the samples
# within a few tenths of a decibel of the MSE model while its samples differ visibly.

# %%
def vae_loss(prediction, highres, mu, logvar, prior_mu, prior_logvar, kl_weight):
    reconstruction = ((prediction - highres) ** 2).flatten(1).sum(dim=1).mean()
    kl = 0.5 * (prior_logvar - logvar + (logvar.exp() + (mu - prior_mu) ** 2) / prior_logvar.exp() - 1.0)
    kl = kl.flatten(1).sum(dim=1).mean()
    return reconstruction + kl_weight * kl, reconstruction, kl

# %% [markdown]
# `srlib.torch.vae` holds the same model and loss (same layers, same parameter names), for the zoo
# and for your own experiments. The model's size, and the loss of its random start on one batch,
# with the weight the KL has at step 0 of training (see the warm-up below: zero, so the loss is the
# reconstruction alone). The reconstruction sums the squared error over a crop's 64 x 64 x 3
# values: 39 is a mean squared error of about 0.003 per value, an error of about 14 grey levels
# (10 would be about 7):

# %%
config.set_seed(CONFIG.seed)
start = ConditionalVAE(CONFIG.channels, CONFIG.latent_channels)
torch.manual_seed(0)
prediction, mu, logvar = start(lowres_batch, highres_batch)
loss, reconstruction, kl = vae_loss(prediction, highres_batch, mu, logvar, *start.prior_statistics(lowres_batch),
                                    kl_weight=0.0)
print(f"{sum(p.numel() for p in start.parameters()):,} parameters; at the start: loss {loss.item():.2f} "
      f"(reconstruction {reconstruction.item():.2f}, KL {kl.item():.2f})")

# %% [markdown]
# ## The training loop, from scratch
#
# Plain PyTorch: each step takes a batch of crops, runs the model, computes the loss, and lets Adam
# move the weights. Two details:
#
# - **KL annealing**: the KL weight rises linearly from 0 to `kl_weight` over the first
#   `kl_warmup_steps` (the library's `vae.KLAnnealing`; the loop below writes it inline), so the encoder learns to put information into `z` before
#   the KL term starts to squeeze it (with the full weight from step 0, `z` tends to be ignored for
#   good, the posterior staying equal to the prior: "posterior collapse");
# - **precision**: the network runs in bfloat16 with channels-last memory where the CPU computes it
#   natively (`srlib.torch.precision`), the loss always in float32; elsewhere everything is float32.
#
# To compare, the same network with the plain N(0, I) prior is trained with `z` fixed at zero, its
# mean, and a plain squared-error loss (`kind="mse"`): a deterministic decoder with the same
# capacity (its encoder is never used, and it has no prior network).

# %%
def train(model, pairs, num_steps, kind="vae"):
    resolved = precision.prepare_training(model, CONFIG.precision, "cpu")  # "bf16" or "fp32"
    layout = precision.memory_format(resolved)
    optimiser = torch.optim.Adam(model.parameters(), CONFIG.learning_rate)
    history = {"loss": [], "reconstruction": [], "kl": []}
    batches_per_pass = len(pairs) // CONFIG.batch_size
    model.train()
    for step in range(num_steps):
        if step % batches_per_pass == 0:  # a new pass: new crops, new order
            pairs.set_epoch(step // batches_per_pass)
            order = np.random.default_rng([CONFIG.seed, step]).permutation(len(pairs))
        indices = order[(step % batches_per_pass) * CONFIG.batch_size:][: CONFIG.batch_size]
        lowres, highres = (to_tensor(array).contiguous(memory_format=layout) for array in pairs.batch(indices))
        kl_weight = CONFIG.kl_weight * min(1.0, step / CONFIG.kl_warmup_steps)
        with precision.autocast(resolved):
            if kind == "vae":
                prediction, mu, logvar = model(lowres, highres)
                prior_mu, prior_logvar = model.prior_statistics(lowres)
            else:
                prediction = model.decode(lowres)
        if kind == "vae":
            loss, reconstruction, kl = vae_loss(prediction.float(), highres, mu.float(), logvar.float(),
                                                prior_mu.float(), prior_logvar.float(), kl_weight)
        else:
            loss = reconstruction = ((prediction.float() - highres) ** 2).flatten(1).sum(dim=1).mean()
            kl = torch.tensor(0.0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        for key, value in (("loss", loss), ("reconstruction", reconstruction), ("kl", kl)):
            history[key].append(value.item())
    model.to(memory_format=torch.contiguous_format).eval()
    return history

# %% [markdown]
# `srlib.torch.vae.train` is the same loop with a progress bar, timings and checkpoints. Five steps of
# each, from the same weights, give the same losses (on other batches than the one above, hence
# other values than its 39.31):

# %%
steps = {}
model = ConditionalVAE(CONFIG.channels, CONFIG.latent_channels)
model.load_state_dict(start.state_dict())
torch.manual_seed(1)
steps["ours"] = train(model, train_pairs, 5)["loss"]
model = vae.ConditionalVAE(CONFIG.channels, CONFIG.latent_channels, prior="learned")
model.load_state_dict(start.state_dict())
torch.manual_seed(1)
steps["srlib.torch.vae.train"] = vae.train(model, train_pairs, 5, CONFIG.batch_size, CONFIG.learning_rate, CONFIG.kl_weight,
                                     CONFIG.kl_warmup_steps, precision=CONFIG.precision, seed=CONFIG.seed,
                                     progress=False)["loss"]
for name, values in steps.items():
    print(f"{name:>22}:", " ".join(f"{value:9.3f}" for value in values))
assert np.allclose(steps["ours"], steps["srlib.torch.vae.train"], rtol=1e-5)

# %% [markdown]
# ## Train both models
#
# From here on the notebook uses `srlib.torch.vae.ConditionalVAE` and `srlib.torch.vae.train`, which saves the
# whole training state every 500 steps, so an interrupted run resumes there. Both models start from
# the same seed and see the same batches.

# %%
histories, models = {}, {}
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"05_vae_{MODE}"
for kind in ("mse", "vae"):
    config.set_seed(CONFIG.seed)
    models[kind] = vae.ConditionalVAE(CONFIG.channels, CONFIG.latent_channels, prior="learned" if kind == "vae" else "normal")
    histories[kind] = vae.train(models[kind], train_pairs, CONFIG.num_steps, CONFIG.batch_size,
                                CONFIG.learning_rate, CONFIG.kl_weight, CONFIG.kl_warmup_steps, kind=kind,
                                precision=CONFIG.precision, seed=CONFIG.seed,
                                checkpoint=checkpoint_dir / f"{kind}.pt", settings=vars(CONFIG))
print(f"{CONFIG.num_steps} steps per model in {histories['mse']['precision']}")

# %% [markdown]
# The two terms live on different scales (the KL counts nats over the whole latent map), so they get
# a panel each: left, the VAE's reconstruction error beside the MSE model's loss (the same measure:
# squared error summed over a crop's pixels, on a log scale); right, the KL and the weight it is
# given. Curves are running means over a fiftieth of the run (160 steps here).

# %%
window = max(1, CONFIG.num_steps // 50)
smooth = lambda values: np.convolve(values, np.ones(window) / window, mode="valid")  # noqa: E731
steps_axis = np.arange(window, CONFIG.num_steps + 1)
figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
left.plot(steps_axis, smooth(histories["mse"]["loss"]), label="MSE model: loss")
left.plot(steps_axis, smooth(histories["vae"]["reconstruction"]), label="VAE: reconstruction (z from the encoder)")
left.set_yscale("log")
left.set_ylabel("squared error per crop")
right.plot(steps_axis, smooth(histories["vae"]["kl"]), color="C2", label="VAE: KL (unweighted)")
right.set_ylabel("KL (nats per crop)")
weight_axis = right.twinx()
weight_axis.plot(np.arange(1, CONFIG.num_steps + 1),
                 [vae.KLAnnealing(CONFIG.kl_weight, CONFIG.kl_warmup_steps)(step) for step in range(1, CONFIG.num_steps + 1)],
                 "k--", label="KL weight (right axis)")
weight_axis.set_ylabel("KL weight")
for axis in (left, right):
    axis.set_xlabel("step")
    axis.grid(alpha=0.3)
left.legend(fontsize=8)
right.legend(handles=right.get_lines() + weight_axis.get_lines(), fontsize=8, loc="center right")
figure.suptitle("training: the KL jumps as the encoder starts to use z, then settles as its weight rises", fontsize=10)
if course.figure_path(f"vae_{MODE}_training.png"):
    figure.savefig(course.figure_path(f"vae_{MODE}_training.png"), dpi=plotting.DPI, bbox_inches="tight")
plt.show()

# %% [markdown]
# **Why the KL jumps, then settles.** While the KL weight is still near zero, `z` is nearly free:
# the encoder writes what it can into it from the first steps (the KL's running mean over the first
# window is already about 405 nats), and once the decoder learns to read it, the KL's running mean
# shoots to about 1,450 nats near step 320. Meanwhile the VAE's reconstruction (which sees the
# encoded answer) drops to about 13 by step 500, against the MSE model's 27.
#
# As the warm-up raises the weight to 0.005 (step 2,000), every nat costs: the KL falls to about
# 510 and settles near 470, while the reconstruction keeps falling, to about 10. Most of what `z`
# carried at the peak was worth little; what remains is detail that pays its way. The numbers of this run:

# %%
kl, vae_reconstruction = np.array(histories["vae"]["kl"]), np.array(histories["vae"]["reconstruction"])
mse_loss = np.array(histories["mse"]["loss"])
kl_smooth, gap = smooth(kl), smooth(mse_loss) - smooth(vae_reconstruction)
peak = int(np.argmax(kl_smooth))  # window i holds steps i + 1 ... i + window
print(f"KL (running mean of {window} steps): {kl_smooth[0]:.1f} over the first window, its peak "
      f"{kl_smooth[peak]:.1f} over steps {peak + 1}-{peak + window}, {kl_smooth[-1]:.1f} at the end")
print(f"MSE model's loss minus the VAE's reconstruction: {gap[0]:+.1f} over the first window, "
      f"{gap[peak]:+.1f} at the KL's peak, {gap[-1]:+.1f} at the end: z carries the detail the input lacks")

# %% [markdown]
# ## Several answers for one input
#
# Four samples from the prior for the same low-resolution monarch, the mean of all of them
# (`CONFIG.num_samples`: 32 in the full run), the MSE model's single answer and the original, on a 120-pixel square of
# the photo (`box` = top, left, size), and below it, enlarged further, the 32-pixel square of that
# photo where the samples disagree most (the highest mean spread across samples). `vae.predict(model, inputs, "vae", n)` decodes `n` latents
# drawn from the prior for each photo; with `"mse"` it makes one prediction, with `z` at the
# prior's mean for a VAE. Below them, what each sample adds to the mean (sample minus mean, magnified four times
# around grey): where the samples make different choices.

# %%
started = time.perf_counter()
mse_predictions = vae.predict(models["mse"], valid_inputs, "mse")
mse_seconds = time.perf_counter() - started
started = time.perf_counter()
vae_samples = vae.predict(models["vae"], valid_inputs, "vae", CONFIG.num_samples, CONFIG.seed)
vae_seconds = time.perf_counter() - started
name, box = "monarch", (120, 200, 120)
stack = vae_samples[name]
mean = stack.mean(axis=0)
images = {f"sample {i + 1}": stack[i] for i in range(4)}
images |= {"mean of samples": mean, "MSE model": mse_predictions[name], "original": valid_targets[name]}
differences = {f"sample {i + 1} - mean": np.clip(0.5 + 4 * (stack[i] - mean), 0, 1) for i in range(4)}
size, stride = 32, 4  # the square with the most spread, searched on a 4-pixel grid
windows = np.lib.stride_tricks.sliding_window_view(stack.std(axis=0).mean(axis=2), (size, size))[::stride, ::stride]
top, left = np.unravel_index(windows.mean(axis=(2, 3)).argmax(), windows.shape[:2])
zoom = (int(top) * stride, int(left) * stride, size)
print(f"the square where the samples disagree most (top, left, size): {zoom}; "
      f"{zoom[0] - box[0]} pixels down and {zoom[1] - box[1]} across from the first row's corner")
plotting.compare_crops({name: images, f"{name}, most spread": images}, {name: box, f"{name}, most spread": zoom},
                       size=2.2, path=course.figure_path("vae_samples.png"));
plotting.compare_crops({name: differences}, {name: box}, size=2.2, path=course.figure_path("vae_differences.png"));

# %% [markdown]
# In the full square the samples look alike: sharper than their mean, with more contrast in the
# flowers and the wing, but the same picture. In the square where they disagree most (the second
# row, on the wing's spots) they differ: follow one spot across the four samples and its edge and
# the dark streaks and bright speckles in and around it change from sample to sample, while the
# layout of the spots stays the same (the input fixes that much). The differences are changes of
# brightness in small patches, not new shapes. The mean and the MSE model are the same soft blobs
# without any of it, and no sample draws the original's clean round spots on black: the detail
# they invent is plausible grain, not the photo's. The difference row (the full square) shows
# where they disagree: in the flowers' texture and around the wing's spots, hardly at all on the
# smooth background at the top.
#
# ## Does the spread say where the answer is uncertain?
#
# A model that knows what it does not know lets its samples disagree where the input leaves the
# answer open (edges, texture) and agree where it does not. Then the per-pixel **spread** (standard
# deviation across the samples) predicts the **error** of their mean against the original. Left:
# both maps for the monarch, on one colour scale. Right: a calibration curve over all five photos,
# the pixels sorted into ten groups by spread, each group's mean error against its mean spread. If
# the error were Gaussian with that spread as its standard deviation, its mean absolute value would
# be `sqrt(2 / pi) = 0.80` times the spread (the dashed line); a flat curve would mean the spread
# says nothing about the error. Pearson's correlation measures how well a straight line fits
# spread against error, Spearman's how well their rankings agree. `scale` pixels of border are left
# out, as in the scores below (there the bicubic input has no neighbours to draw on), and both maps
# share one colour scale that ends at the 99th percentile, so that a few extreme pixels do not
# wash it out.

# %%
border = CONFIG.scale
spreads, errors = [], []
for photo, samples_ in vae_samples.items():
    spread_map = samples_.std(axis=0).mean(axis=2)[border:-border, border:-border]
    error_map = np.abs(samples_.mean(axis=0) - valid_targets[photo]).mean(axis=2)[border:-border, border:-border]
    spreads.append(spread_map.ravel())
    errors.append(error_map.ravel())
    if photo == name:
        maps = {"spread across samples": spread_map, "error of their mean": error_map}
spreads, errors = np.concatenate(spreads), np.concatenate(errors)
groups = np.minimum((np.argsort(np.argsort(spreads)) * 10) // len(spreads), 9)  # deciles of spread
curve = np.array([(spreads[groups == g].mean(), errors[groups == g].mean()) for g in range(10)])
ranks = lambda values: np.argsort(np.argsort(values))  # noqa: E731
calibration = {"pearson": float(np.corrcoef(spreads, errors)[0, 1]),
               "spearman": float(np.corrcoef(ranks(spreads), ranks(errors))[0, 1]),
               "error_ratio_top_bottom_decile": float(curve[9, 1] / curve[0, 1])}

figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
top = np.quantile(np.concatenate([m.ravel() for m in maps.values()]), 0.99)
for axis, (title, values) in zip(axes[:2], maps.items()):
    shown = axis.imshow(values, cmap="magma", vmin=0, vmax=top)
    axis.set_title(f"{name}: {title}", fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
figure.colorbar(shown, ax=axes[:2], fraction=0.03, pad=0.02)
axes[2].plot(curve[:, 0], curve[:, 1], "o-", label="mean error per spread decile")
axes[2].plot(curve[:, 0], 0.8 * curve[:, 0], "k--", label="Gaussian errors of that spread")
axes[2].set_xlabel("spread across samples (std, RGB in [0, 1])")
axes[2].set_ylabel("error of the mean (mean absolute)")
axes[2].legend(fontsize=8)
axes[2].grid(alpha=0.3)
if course.figure_path("vae_spread.png"):
    figure.savefig(course.figure_path("vae_spread.png"), dpi=plotting.DPI, bbox_inches="tight")
plt.show()
print(f"spread vs error over {len(spreads):,} pixels: Pearson {calibration['pearson']:.2f}, Spearman "
      f"{calibration['spearman']:.2f}; the decile with the most spread has {calibration['error_ratio_top_bottom_decile']:.1f}x "
      "the error of the decile with the least")

# %% [markdown]
# **The spread says where, not how much.** The curve rises through every decile (Spearman 0.56; the
# tenth of the pixels with the most spread has 11.4 times the error of the tenth with the least),
# and on the monarch both maps light up along the veins and spots. But the curve lies above the
# dashed line everywhere, and the error map is the brighter one: the samples are *overconfident*,
# disagreeing less than their mean is wrong. In the top decile the error is about 0.059 at a spread
# of 0.054, 1.4 times the Gaussian line; in the lowest decile nearly three times. Errors that every
# sample shares, detail none of them can draw, add to the error and not to the spread.
#
# ## A dial: the sampling temperature
#
# Overconfident samples suggest a remedy: draw `z` from a wider Gaussian than the prior, its
# standard deviation times a **temperature** `T` (`vae.predict(..., temperature=T)`; `T = 1` is the
# model's own prior, `T = 0` its mean). Generative models use the same dial the other way round
# (Glow and many VAEs sample at `T` below 1 for cleaner images). For three temperatures: the
# spread in grey levels (of 255), the mean error against the Gaussian line (`error / (0.80 x
# spread)` over all pixels: 1 when the spread is as large as a Gaussian error of that size), and
# the PSNR of the mean and of one sample (Y channel, border cropped). Below, the square where the
# samples disagree most, four samples at each temperature.

# %%
temperatures = (1.0, 1.5, 2.0)
drawn = {1.0: vae_samples} | {t: vae.predict(models["vae"], valid_inputs, "vae", CONFIG.num_samples, CONFIG.seed,
                                             temperature=t) for t in temperatures[1:]}
crop_maps = lambda image: image[border:-border, border:-border]  # noqa: E731
print(f"{'temperature':>11} {'spread (grey levels)':>20} {'error / Gaussian line':>21} {'mean (dB)':>9} {'one (dB)':>8}")
for t, stack_t in drawn.items():
    spread_t = np.concatenate([crop_maps(s.std(axis=0).mean(axis=2)).ravel() for s in stack_t.values()])
    error_t = np.concatenate([crop_maps(np.abs(s.mean(axis=0) - valid_targets[p]).mean(axis=2)).ravel()
                              for p, s in stack_t.items()])
    psnr_mean = np.mean([metrics.psnr(valid_targets[p], s.mean(axis=0), crop_border=border, y_channel=True)
                         for p, s in stack_t.items()])
    psnr_one = np.mean([metrics.psnr(valid_targets[p], s[0], crop_border=border, y_channel=True)
                        for p, s in stack_t.items()])
    print(f"{t:11.1f} {255 * spread_t.mean():20.1f} {error_t.mean() / (0.8 * spread_t.mean()):21.2f} "
          f"{psnr_mean:9.2f} {psnr_one:8.2f}")
rows = {f"T = {t:g}": {f"sample {i + 1}": drawn[t][name][i] for i in range(4)} | {"original": valid_targets[name]}
        for t in temperatures}
plotting.compare_crops(rows, {row: zoom for row in rows}, size=2.2, path=course.figure_path("vae_temperature.png"));

# %% [markdown]
# The dial works, and shows what it costs. At `T = 1` the error is 1.37 times the Gaussian line
# (the overconfidence above); at 1.5 it is 0.68, so the samples now disagree more than their mean
# is wrong, and somewhere between the two (about 1.25, were the ratio to fall evenly) the spread
# would match the error. The spread more than doubles from 1 to 1.5: the decoder amplifies
# larger latents. In the figure the samples at 1.5 and 2 differ at a glance, but they stop looking
# like a photo: the spots break into shards. The mean of the samples loses little (a fifth of a
# decibel at 1.5, about half a decibel at 2), since averaging cancels much of the extra noise, while
# one sample loses two and a half decibels at 1.5 and five at 2. A temperature sets how much the
# samples may differ; only training (the KL weight) sets which differences are plausible. The
# rest of the notebook keeps `T = 1`.
#
# ## Scores
#
# PSNR, SSIM and HFEN (the high-frequency error norm: the error after a Laplacian-of-Gaussian
# filter, lower is better) on the luma (Y) channel, `scale` pixels of border cropped, on the five
# validation photos.
# "VAE, one sample (average)" averages the scores of single samples; "VAE, prior mean" is the
# decoder at the prior's mean latent, one deterministic answer (the zoo's `vae-x4` serves its VAE
# that way).

# %%
prior_mean = vae.predict(models["vae"], valid_inputs, "mse")  # the decoder at the prior's mean latent
table = evaluation.evaluate(valid_targets, {"bicubic": valid_inputs, "MSE model": mse_predictions,
                                            "VAE, mean of samples": {n: s.mean(axis=0) for n, s in vae_samples.items()},
                                            "VAE, prior mean": prior_mean},
                            crop_border=CONFIG.scale)
single = [evaluation.evaluate(valid_targets, {"one sample": {n: s[i] for n, s in vae_samples.items()}},
                              crop_border=CONFIG.scale).rows for i in range(CONFIG.num_samples)]
for index, image in enumerate(valid_targets):
    rows = [sample_rows[index] for sample_rows in single]
    table.rows.append({"method": "VAE, one sample (average)", "image": image,
                       **{key: float(np.mean([row[key] for row in rows])) for key in ("psnr", "ssim", "hfen")}})
print(table.to_markdown())

# %% [markdown]
# The VAE's weights go to `models/vae_<mode>.safetensors` with this run's settings beside them;
# `scripts/build_zoo.py --vae models/vae_full.safetensors` puts the full run's in the zoo as `vae-x4`.

# %%
weights = checkpoints.save_weights(models["vae"], course.MODELS_DIR / f"vae_{MODE}.safetensors", {
    "architecture": {"class": "ConditionalVAE", "arguments": {"channels": CONFIG.channels,
                                                              "latent_channels": CONFIG.latent_channels,
                                                              "prior": models["vae"].prior_kind}},
    "loss": f"VAE: summed squared error + KL (weight {CONFIG.kl_weight:g}, warm-up {CONFIG.kl_warmup_steps} steps)",
    "data": f"srlib.samples.load_pool({CONFIG.pool}), {CONFIG.patch_size}-pixel crops", "config": vars(CONFIG),
    "mode": MODE, "notebook": "05_vae", "training_seconds": histories["vae"]["seconds"],
    "training_steps": CONFIG.num_steps, "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %% [markdown]
# ## Conclusion
#
# This run's numbers, from the table above:

# %%
means = table.mean()
bicubic, mse, mean, one = (means[m] for m in ("bicubic", "MSE model", "VAE, mean of samples", "VAE, one sample (average)"))
print(f"- one sample against bicubic: PSNR {one['psnr']:.2f} against {bicubic['psnr']:.2f} dB, "
      f"SSIM {one['ssim']:.3f} against {bicubic['ssim']:.3f}")
print(f"- the mean of {CONFIG.num_samples} samples: {mean['psnr']:.2f} dB, "
      f"{mean['psnr'] - mse['psnr']:+.2f} dB from the MSE model ({mse['psnr']:.2f} dB)")
print(f"- the MSE model over bicubic: {mse['psnr'] - bicubic['psnr']:+.2f} dB PSNR, "
      f"SSIM {mse['ssim']:.3f}, HFEN {mse['hfen']:.3f} (bicubic {bicubic['hfen']:.3f})")
print(f"- spread against error of the mean, per pixel: Spearman {calibration['spearman']:.2f}; the "
      f"most uncertain tenth of the pixels has {calibration['error_ratio_top_bottom_decile']:.1f}x "
      "the error of the least uncertain tenth")

# %% [markdown]
# - **A single sample scores worse than bicubic** on PSNR and SSIM (the first line printed above).
#   It commits to one set of details, and wherever they differ from the real ones it is punished
#   twice, for the missing detail and for the invented one. Were the samples as uncertain as the
#   truth, a sample and the original would be two independent draws around the mean; the
#   difference of two independent draws has twice the variance of one, so one sample would have
#   twice the mean's squared error and score 10 log10(2), about three decibels, below
#   it; here it is about one and a half decibels below (the first two lines above), the
#   overconfidence seen above.
# - **The mean of the samples comes back to the MSE model's answer** (over a decibel above bicubic,
#   the table above): averaging plausible answers gives back the blurry average that the MSE loss
#   aims for. It ends about a tenth of a decibel from the MSE model, which is trained for that
#   average directly (the second line above), and so does the decoder at the prior's mean (`VAE,
#   prior mean`). The learned prior is what lets the samples differ and their mean stay this close:
#   in the probes at this weight and half the steps, the mean fell short by eight tenths of a
#   decibel with N(0, I) and by two tenths with the learned prior.
# - **The MSE model wins every pixel metric** (the third line above: over a decibel ahead of
#   bicubic, and a clearly lower HFEN): PSNR, SSIM and HFEN reward the average, not any single
#   plausible image, which is why tutorials 3 and 4 need losses and judges other than the pixels.
# - **The spread is a map, not an error bar**: it ranks pixels by how wrong the mean is (the last
#   line above), but under-predicts the error everywhere.
#
# The KL weight (`CONFIG.kl_weight`) sets how much the samples may differ: it is the knob for this
# trade (see "The loss").

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`) (the
# mean's inference time counts all its samples); in a short run, the zoo's `vae-x4` (a full run of
# this notebook, served at its prior's mean) scored beside this run's VAE at its prior's mean.

# %%
megapixels = sum(image.shape[0] * image.shape[1] for image in valid_targets.values()) / 1e6
parameters = {kind: sum(p.numel() for p in model.parameters()) for kind, model in models.items()}
course.finish("05_vae", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(),
    "training_seconds": {kind: h["seconds"] for kind, h in histories.items()}, "precision": histories["vae"]["precision"],
    "parameters": parameters["vae"], "calibration": calibration, "calibration_curve": curve.tolist(),
    "histories": {kind: {key: h[key] for key in ("loss", "reconstruction", "kl")} for kind, h in histories.items()}},
    summary=course.Summary(
        "vae", f"bicubic x{CONFIG.scale}", valid_targets,
        {"bicubic": valid_inputs, "MSE model": mse_predictions,
         "VAE, mean of samples": {n: s.mean(axis=0) for n, s in vae_samples.items()}}, crop_border=CONFIG.scale,
        inference={"MSE model": mse_seconds / megapixels, "VAE, mean of samples": vae_seconds / megapixels},
        parameters={"MSE model": parameters["mse"], "VAE, mean of samples": parameters["vae"]},
        training_seconds={"MSE model": histories["mse"]["seconds"], "VAE, mean of samples": histories["vae"]["seconds"]},
        baseline="bicubic", bicubic_scale=CONFIG.scale),
    zoo=course.ZooModel("vae-x4", valid_inputs, valid_targets, {"bicubic": valid_inputs, "VAE, prior mean": prior_mean},
                        f"trained {CONFIG.num_steps} steps here ({MODE} mode, {histories['vae']['seconds'] / 60:.1f} min)",
                        dict(crop_border=CONFIG.scale)),
    checkpoints=checkpoint_dir)
