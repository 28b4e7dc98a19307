# %% [markdown]
# # 8. Diffusion super-resolution on a laptop: residual shifting, few steps, one step
#
# Diffusion models lead image super-resolution today, but the classic recipe is out of a laptop's
# reach: SR3 (Saharia et al. 2021) starts from pure noise and needs hundreds to thousands of
# denoising steps through a network of about 100 M parameters. **ResShift** (Yue et al. 2023) makes
# it small: its chain starts from the *low-resolution image plus noise*, not from noise alone, so a
# handful of steps suffices, and its training target is the plain regression of tutorial 6. This
# tutorial writes the forward process, the denoiser, the training loop and the sampler in its
# cells, trains a 0.1-0.3 M-parameter model, and then asks what a reader of tutorial 7 will ask:
# where on the perception-distortion plane does it land, what do the number of steps and the noise
# level `kappa` change, how faithful is it to its input, and what does a sample cost? A **straight
# path** (rectified flow) between the same two ends is the comparison a reader of the flow-matching
# papers will ask for. Last, a **one-step student** is distilled from the many-step sampler (SinSR's
# idea, Wang et al. 2024).
#
# **This notebook is the whole program.** Fast mode (the default on a CPU) trains a few hundred
# steps on the 9 sample photos in a few minutes; the full run (`SRLIB_MODE=full python -m
# course.notebooks 08_diffusion_sr`) trains longer, wider models on the whole training pool.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import math
import time
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

import srlib
import course
from srlib import config, evaluation, metrics, patches, plotting, samples, zoo
from srlib.torch import checkpoints, diffusion, perceptual, to_tensor

print(f"srlib {srlib.__version__}, torch {torch.__version__}")

# %% [markdown]
# ## Parameters
#
# Fast and full mode differ in the photos, the network's width and the number of training steps:
# `num_steps` for each of the three denoisers (the main one at noise level `kappa` = 1, a second one
# with less noise, and the straight-path one), `student_steps` for the one-step student.

# %% tags=["parameters"]
MODE = config.run_mode()                 # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), features=16, blocks=2, num_steps=4, student_steps=2, teacher_steps=4,
                        num_samples=3, valid_size=128),
           "fast": dict(pool=("samples",), features=32, blocks=4, num_steps=300, student_steps=100, teacher_steps=8,
                        num_samples=8, valid_size=None),
           "full": dict(pool=("samples", "wallpapers", "photos"), features=48, blocks=5, num_steps=4000,
                        student_steps=400, teacher_steps=15, num_samples=16, valid_size=None)}
CONFIG = SimpleNamespace(
    scale=4, patch_size=64, batch_size=16, learning_rate=5e-4,
    gradient_clip=1.0,                   # the largest gradient norm a step may use: no loss spikes
    student_learning_rate=2e-4,          # the student starts from the teacher: smaller moves
    train_steps=15,                      # T, the length of the chain the denoiser is trained on
    kappa=1.0, second_kappa=0.5,         # the noise level (images in [0, 1]), and a quieter one to compare
    seed=42, **BUDGETS[MODE])

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Data
#
# Random 64-pixel crops of the training pool and their x4 bicubic reductions (16 pixels a side),
# and for scoring the five validation photos, cropped to a multiple of 4 (in test mode, to their
# central `valid_size` pixels).

# %%
train_images = samples.load_pool(CONFIG.pool)
valid_images = samples.load_split("valid")
boxes = {"monarch": (170, 260, 72), "kodim23": (185, 175, 72)}   # the zoomed crops shown below: top, left, size
if CONFIG.valid_size:
    size = CONFIG.valid_size
    valid_images = {name: plotting.crop(image, ((image.shape[0] - size) // 2, (image.shape[1] - size) // 2, size))
                    for name, image in valid_images.items()}
    boxes = dict.fromkeys(boxes, (size // 4, size // 4, size // 2))
train_pairs = patches.PairedPatches(train_images, "bicubic", scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                                    length=CONFIG.batch_size * 50, upsample_input=False, seed=CONFIG.seed)
valid_inputs, valid_targets = patches.degrade_photos(valid_images, "bicubic", CONFIG.scale, upsample_input=False,
                                                     seed=CONFIG.seed, multiple=CONFIG.scale)
lowres_batch, highres_batch = (to_tensor(array) for array in train_pairs.batch(range(4)))
print("a batch:", tuple(lowres_batch.shape), "->", tuple(highres_batch.shape))

# %% [markdown]
# ## The forward process: shifting the residual
#
# Write `x0` for the high-resolution image and `y0` for the low-resolution one enlarged by bicubic
# to the same size; their difference `e0 = y0 - x0` is the *residual*, the detail the reduction
# destroyed. ResShift's forward process moves `x0` towards `y0` in `T` steps while adding noise:
#
# $$x_t = x_0 + \eta_t\,e_0 + \kappa\sqrt{\eta_t}\,\varepsilon, \qquad \varepsilon \sim \mathcal N(0, I),$$
#
# with a *shifting schedule* `eta_1 < ... < eta_T` that rises from nearly 0 to nearly 1. So `x_T` is
# `y0` with noise of standard deviation `kappa` on top. At `kappa` = 1 that noise hides the picture,
# but its *mean* is the blurry answer, not SR3's grey, and the network is shown `y0` itself beside
# `x_t` at every step: the chain only has to put the residual back, which is why a few steps can
# do. ResShift's schedule (its eq. 10) is
#
# $$\sqrt{\eta_t} = \sqrt{\eta_1}\; b_0^{\,(T-1)\left(\frac{t-1}{T-1}\right)^{p}},$$
#
# from `eta_1 = min((0.04 / kappa)**2, 0.001)` (so small that `x_1` is nearly `x0`) to `eta_T` =
# 0.999, `b0` being the base that gets it there. With `p` = 0.3 the exponent rises steeply at
# first: the noise level `sqrt(eta_t)` jumps from 0.03 to 0.15 at the second step and then grows
# nearly linearly, while `eta_t` itself, the share of the residual added, rises slowly at first and
# faster near the end (the printed values). For any `kappa` up to about 1.26, `eta_1` is 0.001, so
# the two denoisers below share this schedule and `kappa` only scales the noise:

# %%
def shifting_schedule(steps, kappa, power=0.3, eta_last=0.999):
    eta_first = min((0.04 / kappa) ** 2, 0.001)      # x_1 is nearly x0
    b0 = math.exp(math.log(eta_last / eta_first) / (2 * (steps - 1)))
    beta = (torch.arange(steps, dtype=torch.float64) / (steps - 1)) ** power * (steps - 1)
    return (math.sqrt(eta_first) * b0 ** beta) ** 2


def forward_sample(highres, upsampled, eta, kappa, noise):
    eta = eta.view(-1, 1, 1, 1).float()
    return highres + eta * (upsampled - highres) + kappa * eta.sqrt() * noise


etas = shifting_schedule(CONFIG.train_steps, CONFIG.kappa)
assert torch.allclose(etas, diffusion.residual_shift_schedule(CONFIG.train_steps, CONFIG.kappa))
print("eta_t:", " ".join(f"{value:.3f}" for value in etas.tolist()))

# %% [markdown]
# `srlib.torch.diffusion` holds the same schedule (the assertion above checks it) and everything below,
# because the zoo and the command line sample with it too. One crop along the chain: left the
# original, then `x_t` at four timesteps, then `y0`. The noise grows with `eta_t`; at `kappa` = 1
# it hides the picture from about a third of the chain on, so in the sampler's first steps the
# network has little more to go on than its `y0` input.

# %%
upsampled_batch = diffusion.upsample(lowres_batch, CONFIG.scale)
noise = torch.randn(highres_batch[:1].shape, generator=torch.Generator().manual_seed(CONFIG.seed))
shown_steps = [1, CONFIG.train_steps // 3, 2 * CONFIG.train_steps // 3, CONFIG.train_steps]
chain = {"x0 (original)": highres_batch[0]}
for step in shown_steps:
    chain[f"x_{step} (eta {etas[step - 1]:.2f})"] = forward_sample(highres_batch[:1], upsampled_batch[:1],
                                                                  etas[step - 1:step], CONFIG.kappa, noise)[0]
chain["y0 (bicubic)"] = upsampled_batch[0]
plotting.show_images({name: image.clamp(0, 1).permute(1, 2, 0).numpy() for name, image in chain.items()},
                     columns=len(chain), size=1.9, path=course.figure_path("diffusion_forward.png"));

# %% [markdown]
# ## The denoiser
#
# The network sees `x_t`, `y0` and the timestep `t` and predicts `x0` directly (ResShift's choice;
# DDPM predicts the noise instead). To be cheap on a CPU it works at the *low* resolution:
# `pixel_unshuffle` folds each 4x4 block of the stacked `(x_t, y0)` into 96 channels, a few residual
# blocks process that 16-times-smaller grid, and `pixel_shuffle` unfolds the result, which is added
# to `y0` (the network predicts the residual, as EDSR's long skip does). The timestep enters every
# block through a sinusoidal embedding (DDPM's) that scales and shifts the features (FiLM).

# %%
class TimeEmbedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, timestep):
        half = self.dim // 2
        frequencies = torch.exp(-math.log(1000.0) * torch.arange(half) / half)
        angles = timestep.float()[:, None] * frequencies[None]
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=1))


class TimedBlock(nn.Module):
    def __init__(self, features, time_dim):
        super().__init__()
        self.first = nn.Conv2d(features, features, 3, padding=1)
        self.second = nn.Conv2d(features, features, 3, padding=1)
        self.film = nn.Linear(time_dim, 2 * features)

    def forward(self, x, time):
        scale, shift = self.film(time)[:, :, None, None].chunk(2, dim=1)
        hidden = F.silu(self.first(x)) * (1 + scale) + shift      # the timestep modulates the features
        return x + self.second(F.silu(hidden))


class Denoiser(nn.Module):
    def __init__(self, scale=4, features=64, blocks=6, time_dim=64):
        super().__init__()
        self.scale = scale
        self.time = TimeEmbedding(time_dim)
        self.head = nn.Conv2d(6 * scale ** 2, features, 3, padding=1)
        self.body = nn.ModuleList(TimedBlock(features, time_dim) for _ in range(blocks))
        self.tail = nn.Conv2d(features, 3 * scale ** 2, 3, padding=1)

    def forward(self, x_t, upsampled, timestep):
        features = self.head(F.pixel_unshuffle(torch.cat([x_t, upsampled], dim=1), self.scale))
        time = self.time(timestep)
        for block in self.body:
            features = block(features, time)
        return upsampled + F.pixel_shuffle(self.tail(F.silu(features)), self.scale)


config.set_seed(CONFIG.seed)
ours = Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features)
library = diffusion.Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features)
library.load_state_dict(ours.state_dict())
timestep = torch.tensor([1, 5, 10, 15])
assert torch.allclose(ours(upsampled_batch, upsampled_batch, timestep), library(upsampled_batch, upsampled_batch, timestep))
print(f"{sum(p.numel() for p in ours.parameters()):,} parameters, the same outputs as srlib.torch.diffusion.Denoiser")

# %% [markdown]
# ## The loss and the training loop
#
# Training is regression: draw a timestep `t` uniformly, make `x_t` from the crop by the forward
# process, ask the network for `x0`, and penalise the squared error. Nothing here is adversarial (a
# critic, tutorial 4) or variational (a latent code, tutorial 5). A network trained on squared
# error predicts the *average* of the answers that fit its input, blurry where the input is
# ambiguous; the sampler turns that average into a sample by asking again at lower noise, where
# less is ambiguous, so the randomness of the samples comes from the sampler, not from the loss. Each
# step's gradient is clipped to a norm of 1: near `t = T` a batch can be far harder than the last,
# and one huge step can undo thousands. The loop saves its state every 500 steps, so an
# interrupted run resumes there.

# %%
def diffusion_loss(model, lowres, highres, etas, kappa, generator):
    upsampled = diffusion.upsample(lowres, CONFIG.scale)
    timestep = torch.randint(1, len(etas) + 1, (len(highres),), generator=generator)
    noise = torch.randn(highres.shape, generator=generator)
    x_t = forward_sample(highres, upsampled, etas[timestep - 1], kappa, noise)
    return F.mse_loss(model(x_t, upsampled, timestep), highres)


def train(model, num_steps, loss_of_batch, checkpoint, name, learning_rate=CONFIG.learning_rate):
    optimiser = torch.optim.Adam(model.parameters(), learning_rate)
    generator = torch.Generator().manual_seed(CONFIG.seed)
    record = {"losses": [], "seconds": 0.0, "step": 0}
    settings = {**vars(CONFIG), "model": name, "num_steps": num_steps}
    state = checkpoints.load_state(checkpoint, settings)
    if state is not None:  # resume where the last run stopped
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        generator.set_state(state["generator"])
        record = state["record"]
    batches_per_pass = len(train_pairs) // CONFIG.batch_size
    started = time.perf_counter() - record["seconds"]
    model.train()
    for step in tqdm(range(record["step"], num_steps), desc=name, initial=record["step"], total=num_steps,
                     mininterval=2.0):
        if step % batches_per_pass == 0:  # a new pass: new crops, new order
            train_pairs.set_epoch(step // batches_per_pass)
            order = np.random.default_rng([CONFIG.seed, step]).permutation(len(train_pairs))
        indices = order[(step % batches_per_pass) * CONFIG.batch_size:][: CONFIG.batch_size]
        lowres, highres = (to_tensor(array) for array in train_pairs.batch(indices))
        loss = loss_of_batch(model, lowres, highres, generator)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CONFIG.gradient_clip)
        optimiser.step()
        record["losses"].append(loss.item())
        record["step"] = step + 1
        if record["step"] % 500 == 0 and record["step"] < num_steps:
            record["seconds"] = time.perf_counter() - started
            checkpoints.save_state(checkpoint, {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                                "generator": generator.get_state(), "record": record}, settings)
    record["seconds"] = time.perf_counter() - started
    return model.eval(), record

# %% [markdown]
# The main denoiser, `kappa` = 1:

# %%
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"08_diffusion_sr_{MODE}"
config.set_seed(CONFIG.seed)
denoiser = Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features)
denoiser, record = train(denoiser, CONFIG.num_steps,
                         lambda model, lowres, highres, generator: diffusion_loss(model, lowres, highres, etas,
                                                                                  CONFIG.kappa, generator),
                         checkpoint_dir / "denoiser.pt", "denoiser")
print(f"{CONFIG.num_steps} steps in {record['seconds'] / 60:.1f} min")

# %% [markdown]
# The loss falls quickly and then slowly, and stays noisy: each batch draws other timesteps, and
# near `t = T` the input is mostly noise, so predicting `x0` there is hard and the error is large.
# (The curve is a running mean over a fortieth of the run.)

# %%
window = max(1, len(record["losses"]) // 40)
smooth = np.convolve(record["losses"], np.ones(window) / window, mode="valid")
figure, axis = plt.subplots(figsize=(6, 3), layout="constrained")
axis.plot(np.arange(window, len(record["losses"]) + 1), smooth)
axis.set(xlabel="step", ylabel="squared error of x0 (running mean)", yscale="log")
axis.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## The sampler
#
# Reversing the chain needs the distribution of an earlier state given a later one. For the
# process above it is Gaussian in closed form (ResShift, eq. 7): for steps `s < t`, with
# `alpha = eta_t - eta_s`,
#
# $$q(x_s \mid x_t, x_0) = \mathcal N\!\left(\tfrac{\eta_s}{\eta_t}x_t + \tfrac{\alpha}{\eta_t}x_0,\;
# \kappa^2\tfrac{\eta_s}{\eta_t}\alpha\, I\right).$$
#
# The sampler starts from `x_T = y0 + kappa sqrt(eta_T) noise` and, at each step, puts the
# network's `x0` into this formula and draws `x_s`. Nothing in it requires `s = t - 1`: visiting
# fewer timesteps (15, 8, 4, 2 or 1 of them) is the same formula with `s` and `t` further apart,
# and at the last step (`eta_s = 0`) the mean is the prediction and the noise vanishes.

# %%
@torch.no_grad()
def sample(model, lowres, etas, kappa, num_steps, generator):
    upsampled = diffusion.upsample(lowres, CONFIG.scale)
    timesteps = diffusion.sampling_timesteps(len(etas), num_steps)    # e.g. [15, 10, 6, 1]
    x_t = upsampled + kappa * math.sqrt(etas[timesteps[0] - 1]) * torch.randn(upsampled.shape, generator=generator)
    for index, t in enumerate(timesteps):
        eta_t = float(etas[t - 1])
        eta_s = float(etas[timesteps[index + 1] - 1]) if index + 1 < len(timesteps) else 0.0
        predicted = model(x_t, upsampled, torch.full((len(lowres),), t))
        mean = eta_s / eta_t * x_t + (eta_t - eta_s) / eta_t * predicted
        deviation = kappa * math.sqrt(eta_s / eta_t * (eta_t - eta_s))
        x_t = mean + deviation * torch.randn(upsampled.shape, generator=generator) if deviation > 0 else mean
    return x_t


seeded = lambda: torch.Generator().manual_seed(CONFIG.seed)  # noqa: E731
ours_sample = sample(denoiser, lowres_batch, etas, CONFIG.kappa, 4, seeded())
library_sample = diffusion.sample(denoiser, lowres_batch, etas, CONFIG.kappa, 4, generator=seeded())
assert torch.allclose(ours_sample, library_sample, atol=1e-6)
print("4 sampling steps:", diffusion.sampling_timesteps(CONFIG.train_steps, 4), "- the same samples as srlib.torch.diffusion.sample")

# %% [markdown]
# To upscale whole photos the notebook uses `srlib.torch.diffusion.DiffusionUpscaler`, the denoiser and
# these settings in one module (`settings.seed` fixes the noise, so one input gives one output
# until the seed changes). `predict` runs it on each validation photo and clips to [0, 1].

# %%
def predict(upscaler, inputs):
    outputs = {}
    for name, image in inputs.items():
        with torch.no_grad():
            outputs[name] = upscaler(to_tensor(image[None]))[0].clamp(0, 1).permute(1, 2, 0).numpy()
    return outputs


def upscaler_for(model, kappa, num_steps, seed=CONFIG.seed):
    settings = diffusion.SamplerSettings(train_steps=CONFIG.train_steps, kappa=kappa, num_steps=num_steps, seed=seed)
    return diffusion.DiffusionUpscaler(model, settings).eval()


megapixels = sum(image.shape[0] * image.shape[1] for image in valid_targets.values()) / 1e6
started = time.perf_counter()
diffusion_outputs = predict(upscaler_for(denoiser, CONFIG.kappa, CONFIG.train_steps), valid_inputs)
full_chain_seconds = (time.perf_counter() - started) / megapixels
edsr, edsr_metadata = zoo.load_model("edsr-x4")
edsr_outputs = {name: zoo.upscale(edsr, edsr_metadata, image) for name, image in valid_inputs.items()}
bicubic_outputs = {name: diffusion.upsample(to_tensor(image[None]), CONFIG.scale)[0].clamp(0, 1).permute(1, 2, 0).numpy()
                   for name, image in valid_inputs.items()}
print(f"{CONFIG.train_steps} steps: {full_chain_seconds:.1f} s per output megapixel")

# %% [markdown]
# ## Several answers for one input
#
# Four seeds on one validation photo, the mean of `CONFIG.num_samples` of them (16 in the full run), `edsr-x4` (tutorial
# 6's regression network, from the zoo) and the original, with each crop's PSNR against the
# original. Below, each sample minus the mean, magnified four times around grey: where the samples
# make different choices.

# %%
name = "monarch"
draws = np.stack([predict(upscaler_for(denoiser, CONFIG.kappa, CONFIG.train_steps, seed), {name: valid_inputs[name]})[name]
                  for seed in range(CONFIG.num_samples)])
mean = draws.mean(axis=0)
shown = {f"seed {seed}": draws[seed] for seed in range(min(4, CONFIG.num_samples))}
shown |= {f"mean of {CONFIG.num_samples}": mean, "edsr-x4": edsr_outputs[name], "original": valid_targets[name]}
plotting.compare_crops({name: shown}, {name: boxes[name]}, size=2.0, reference="original",
                       path=course.figure_path("diffusion_samples.png"));
differences = {f"seed {seed} - mean": np.clip(0.5 + 4 * (draws[seed] - mean), 0, 1) for seed in range(min(4, CONFIG.num_samples))}
plotting.compare_crops({name: differences}, {name: boxes[name]}, size=2.0);
spread = float(draws.std(axis=0).mean())
print(f"mean spread across {CONFIG.num_samples} samples: {spread:.4f} (RGB in [0, 1])")

# %% [markdown]
# The samples differ in fine grain, not in the picture: the input decides the shapes, and the
# difference maps show blotchy noise spread over the whole crop (the printed spread, a standard
# deviation per pixel, is about a hundredth of the range). Each sample is grainier and further from
# the original than their mean, and the mean is still softer and further than `edsr-x4`: at this
# size and training length, the invented texture is grain, not the original's.
#
# ## The dials: sampling steps and the noise level
#
# Tutorial 7 placed every method on the **perception-distortion plane**: PSNR (distortion, higher
# is better) against a perceptual measure. Here the second axis is the high-frequency ratio of
# tutorial 7 (the power a prediction has in the finest band of the spectrum, relative to the
# original's: 1 is the original's texture, bicubic near 0), beside the MobileNetV2 feature distance
# and the **LR-PSNR**, the output reduced again by bicubic against the input (a faithful model gives
# its input back: PIRM 2018 asked for 45 dB). The MobileNetV2 distance is tutorial 7's feature
# distance (lower is closer to the original). A second denoiser, trained the same way and as long
# with less noise (`kappa` = 0.5), shows the other dial: `kappa` sets how far the chain's start lies
# from `y0` and how much noise each step draws.

# %%
config.set_seed(CONFIG.seed)
second_etas = diffusion.residual_shift_schedule(CONFIG.train_steps, CONFIG.second_kappa)
second, second_record = train(Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features),
                              CONFIG.num_steps,
                              lambda model, lowres, highres, generator: diffusion_loss(
                                  model, lowres, highres, second_etas, CONFIG.second_kappa, generator),
                              checkpoint_dir / "second.pt", f"kappa {CONFIG.second_kappa:g}")

# %% [markdown]
# ## A straight path: rectified flow
#
# Why a schedule at all? Rectified flow (Liu et al. 2022; flow matching, Lipman et al. 2022) joins
# the same two ends by a straight line. Write `z = y0 + kappa * noise` for ResShift's noisy end and
# use a continuous *time* `t` from 0 (the clean image) to 1 (`z`), not the step number; the state
# at time `t` is
#
# $$x_t = (1 - t)\,x_0 + t\,(y_0 + \kappa\varepsilon).$$
#
# Both paths add noise at about the same rate (a third of the way, ResShift's noise is 0.34 `kappa`
# at step 5 of 15, the line's 0.33 `kappa`); what differs is the shift towards `y0`: by step 5
# ResShift has added 12% of the residual (`eta_5` = 0.115), the line a third. On one line, with its
# `x0` and its noise known, the velocity `z - x0` is the same everywhere: `x_t - x0 = t (z - x0)`,
# so the velocity is `(x_t - x0) / t`. The sampler puts the network's `x0` into that and takes
# Euler steps from `t` to `s`: `x_s = x_t - (t - s) (x_t - x0) / t`, which is `(s / t) x_t + (1 - s / t)
# x0`, ResShift's posterior mean with `t` in place of `eta` and no fresh noise; the last step (`s` =
# 0) returns the prediction. The network only predicts an average `x0`, and the lines of different
# images cross, so Euler's steps are an approximation (rectified flow's "reflow" retrains on the
# model's own pairs to straighten them; not done here). The network is the same `Denoiser`, shown
# `t` times 15: its time embedding's frequencies were chosen for steps 1 to 15, and on [0, 1] the
# slow ones would barely change. It is trained with the same loss, the squared error of `x0` at a
# uniform `t` (a velocity loss weighted by `t` squared), for as many steps.

# %%
def flow_path(highres, upsampled, time, kappa, noise):
    time = time.view(-1, 1, 1, 1).float()
    return (1 - time) * highres + time * (upsampled + kappa * noise)


def flow_loss(model, lowres, highres, kappa, generator):
    upsampled = diffusion.upsample(lowres, CONFIG.scale)
    time = 1 - torch.rand(len(highres), generator=generator)        # uniform in (0, 1]
    noise = torch.randn(highres.shape, generator=generator)
    x_t = flow_path(highres, upsampled, time, kappa, noise)
    return F.mse_loss(model(x_t, upsampled, time * CONFIG.train_steps), highres)


@torch.no_grad()
def flow_sample(model, lowres, kappa, num_steps, generator):
    upsampled = diffusion.upsample(lowres, CONFIG.scale)
    x_t = upsampled + kappa * torch.randn(upsampled.shape, generator=generator)
    times = torch.linspace(1, 0, num_steps + 1).tolist()
    for t, s in zip(times[:-1], times[1:]):
        predicted = model(x_t, upsampled, torch.full((len(lowres),), t * CONFIG.train_steps))
        x_t = x_t - (t - s) * (x_t - predicted) / t          # Euler along the line towards x0
    return x_t


config.set_seed(CONFIG.seed)
flow, flow_record = train(Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features),
                          CONFIG.num_steps,
                          lambda model, lowres, highres, generator: flow_loss(model, lowres, highres, CONFIG.kappa,
                                                                              generator),
                          checkpoint_dir / "flow.pt", "rectified flow")


def flow_upscaler(model, num_steps, seed=CONFIG.seed):
    return lambda lowres: flow_sample(model, lowres, CONFIG.kappa, num_steps, torch.Generator().manual_seed(seed))

# %% [markdown]
# Each model below is sampled with 1 to 15 steps and placed on the plane; the time per output
# megapixel is measured on the sampling alone.

# %%
def plane_point(outputs):
    """PSNR (Y), HF ratio, MobileNetV2 distance and LR-PSNR of one method on the validation photos."""
    values = {"psnr": [], "hf_ratio": [], "mobilenet": [], "lr_psnr": []}
    for photo, target in valid_targets.items():
        values["psnr"].append(metrics.psnr(target, outputs[photo], crop_border=CONFIG.scale, y_channel=True))
        values["hf_ratio"].append(metrics.high_frequency_ratio(target, outputs[photo], crop_border=CONFIG.scale))
        values["mobilenet"].append(perceptual.mobilenet_distance(target, outputs[photo], crop_border=CONFIG.scale))
        values["lr_psnr"].append(metrics.lr_psnr(valid_inputs[photo], outputs[photo], CONFIG.scale, crop_border=1))
    return {key: float(np.mean(value)) for key, value in values.items()}


STEP_CHOICES = [1, 2, 4, 8, CONFIG.train_steps]
plural = lambda steps: f"{steps} step{'s' if steps > 1 else ''}"  # noqa: E731
label = lambda kappa, steps: f"kappa {kappa:g}, {plural(steps)}"  # noqa: E731
flow_label = lambda steps: f"flow, {plural(steps)}"  # noqa: E731
points = {"bicubic": plane_point(bicubic_outputs), "edsr-x4": plane_point(edsr_outputs)}
samplers = {label(kappa, steps): upscaler_for(model, kappa, steps)
            for kappa, model in ((CONFIG.kappa, denoiser), (CONFIG.second_kappa, second)) for steps in STEP_CHOICES}
samplers |= {flow_label(steps): flow_upscaler(flow, steps) for steps in STEP_CHOICES}
flow_outputs = {}
for method, sampler in samplers.items():
    if method == label(CONFIG.kappa, CONFIG.train_steps):   # sampled and timed above
        outputs, seconds = diffusion_outputs, full_chain_seconds
    else:
        started = time.perf_counter()
        outputs = predict(sampler, valid_inputs)
        seconds = (time.perf_counter() - started) / megapixels
    if method == flow_label(CONFIG.train_steps):
        flow_outputs = outputs
    points[method] = {**plane_point(outputs), "seconds_per_megapixel": seconds,
                      "steps": int(method.split(", ")[1].split()[0])}
print("| method | PSNR (dB) | HF ratio | MobileNetV2 distance | LR-PSNR (dB) | s per MP |\n|---|---|---|---|---|---|")
for method, point in points.items():
    seconds = f"{point['seconds_per_megapixel']:.1f}" if "seconds_per_megapixel" in point else ""
    print(f"| {method} | {point['psnr']:.2f} | {point['hf_ratio']:.3f} | {point['mobilenet']:.3f} | "
          f"{point['lr_psnr']:.2f} | {seconds} |")

# %% [markdown]
# The plane: each curve is one model sampled with 1 to 15 steps (the labels), beside bicubic
# and `edsr-x4`. Up is more faithful, right is more of the original's fine texture (the dotted
# line at 1 is the original's own).

# %%
figure, axis = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
curves = {f"diffusion, kappa {CONFIG.kappa:g}": lambda steps: label(CONFIG.kappa, steps),
          f"diffusion, kappa {CONFIG.second_kappa:g}": lambda steps: label(CONFIG.second_kappa, steps),
          f"rectified flow, kappa {CONFIG.kappa:g}": flow_label}
for (name, method_of), colour in zip(curves.items(), ("C0", "C1", "C2")):
    curve = [points[method_of(steps)] for steps in STEP_CHOICES]
    axis.plot([p["hf_ratio"] for p in curve], [p["psnr"] for p in curve], "o-", color=colour, label=name)
    for steps, point in zip(STEP_CHOICES, curve):
        axis.annotate(str(steps), (point["hf_ratio"], point["psnr"]), textcoords="offset points", xytext=(4, 4),
                      fontsize=8, color=colour)
for method, marker in (("bicubic", "s"), ("edsr-x4", "D")):
    axis.plot(points[method]["hf_ratio"], points[method]["psnr"], marker, color="k")
    axis.annotate(method, (points[method]["hf_ratio"], points[method]["psnr"]), textcoords="offset points",
                  xytext=(5, -10), fontsize=8)
axis.axvline(1.0, color="grey", linestyle=":", linewidth=1)
axis.set(xlabel="high-frequency ratio (1 = the original's fine texture)", ylabel="PSNR, Y (dB)",
         title="sampling steps (labels), kappa and the path move the model along the plane")
axis.grid(alpha=0.3)
axis.legend(fontsize=8)
if course.figure_path("diffusion_plane.png"):
    figure.savefig(course.figure_path("diffusion_plane.png"), dpi=plotting.DPI, bbox_inches="tight")
plt.show()

# %% [markdown]
# **Reading the plane.** With one step each sampler returns the network's first guess of `x0` from
# the noisiest input: close to the average of the plausible answers, smooth and faithful, and the
# three models agree there to within a tenth of a decibel (30.51 to 30.60 dB). One or two steps give the best PSNR of the
# diffusion points; from two steps on, each further step lets the chain add detail at finer noise
# levels, and the points move right, to more of the fine band, and down, PSNR paying for detail
# that is invented rather than recovered. The curve is a dial: the same weights, a choice made at
# sampling time. But from two steps on the MobileNetV2 distance grows with the steps too (the
# table's fourth column): the extra high frequencies are grain, which a network that knows photos
# does not find closer to the original. ResShift's LR-PSNR jumps from one step to two and then
# falls slowly; the straight path's rises up to eight steps and stays lower; all stay far above
# bicubic's and below `edsr-x4`'s.
#
# `kappa` is the second dial, and it turns the other way from the naive guess that more noise
# means more invention. Trained as long as the first, the quieter denoiser (`kappa` = 0.5) comes
# close to it at one and two steps (within a tenth of a decibel, with a little more fine-band
# power), then ends three times as far to the right: at 15 steps its HF ratio is 0.35 against 0.11. A likely reason, not tested here: with less noise in every step's input
# the network sees more of the picture and commits to sharper detail. Beyond an HF ratio of about
# 0.06 its curve lies above the first (about 30.3 dB at 0.11, against 29.89), so on these two axes
# it is the better trade; its last three points have more fine-band power than even `edsr-x4`,
# the last two at a PSNR below bicubic's (29.66 and 29.35 against 29.72), and all three with a
# worse MobileNetV2 distance: more power in the fine band is not yet the original's texture. The
# straight path (green) loses the most PSNR over the whole range, narrowly ahead of `kappa` = 0.5:
# at two steps it is within a tenth of a decibel of ResShift's, with the best MobileNetV2 distance
# of the diffusion points by a hair (0.448 against 0.451) but a lower LR-PSNR; from four steps on it falls
# fastest, and at 15 steps it has the worst MobileNetV2 distance of all and an LR-PSNR 1.4 dB below
# ResShift's. At this budget the schedule earns its place. Every diffusion point is below
# `edsr-x4` in PSNR, with a worse MobileNetV2 distance and LR-PSNR: this small, briefly trained
# model does not beat the regression network, as tutorial 7 found for the GAN.
#
# ## One step: distilling the chain
#
# A full chain's network calls per image are cheap at this size, but one would be cheaper. SinSR (Wang et
# al. 2024) observes that a *deterministic* version of the sampler is a fixed map from the starting
# noise to an image, and a network can learn to jump there in one call. The deterministic step
# keeps the noise that `x_t` implies instead of drawing new noise (the DDIM idea, Song et al. 2021):
# with `x0` the prediction and `e0 = y0 - x0` its residual,
# `x_s = x0 + eta_s e0 + sqrt(eta_s / eta_t) (x_t - x0 - eta_t e0)`
# (`srlib.torch.diffusion.deterministic_step`). The student starts from the teacher's weights and learns,
# for fresh noise each step, to map `x_T` straight to the teacher's 15-step output.

# %%
def distillation_loss(student, teacher, lowres, generator):
    upsampled = diffusion.upsample(lowres, CONFIG.scale)
    noise = torch.randn(upsampled.shape, generator=generator)
    target = diffusion.sample(teacher, lowres, etas, CONFIG.kappa, CONFIG.teacher_steps, deterministic=True, noise=noise)
    x_last = upsampled + CONFIG.kappa * math.sqrt(float(etas[-1])) * noise
    prediction = student(x_last, upsampled, torch.full((len(lowres),), CONFIG.train_steps))
    return F.mse_loss(prediction, target)


student = Denoiser(CONFIG.scale, CONFIG.features, CONFIG.blocks, time_dim=CONFIG.features)
student.load_state_dict(denoiser.state_dict())
student, student_record = train(student, CONFIG.student_steps,
                                lambda model, lowres, highres, generator: distillation_loss(model, denoiser, lowres,
                                                                                           generator),
                                checkpoint_dir / "student.pt", "one-step student", CONFIG.student_learning_rate)


def deterministic_outputs(model, num_steps):
    settings = diffusion.SamplerSettings(CONFIG.train_steps, CONFIG.kappa, num_steps, CONFIG.seed, deterministic=True)
    return predict(diffusion.DiffusionUpscaler(model, settings).eval(), valid_inputs)


started = time.perf_counter()
student_outputs = deterministic_outputs(student, 1)
student_seconds = (time.perf_counter() - started) / megapixels      # the sampling alone, not the scoring
points["one-step student"] = {**plane_point(student_outputs), "seconds_per_megapixel": student_seconds}
teacher_outputs = deterministic_outputs(denoiser, CONFIG.teacher_steps)
points[f"teacher, deterministic, {CONFIG.teacher_steps} steps"] = plane_point(teacher_outputs)
points["teacher, deterministic, 1 step"] = plane_point(deterministic_outputs(denoiser, 1))
for method in ("teacher, deterministic, 1 step", f"teacher, deterministic, {CONFIG.teacher_steps} steps",
               "one-step student"):
    point = points[method]
    print(f"{method:>32}: PSNR {point['psnr']:.2f} dB, HF ratio {point['hf_ratio']:.3f}, "
          f"MobileNetV2 {point['mobilenet']:.3f}, LR-PSNR {point['lr_psnr']:.2f} dB")
gap = np.mean([metrics.psnr(teacher_outputs[p], student_outputs[p], crop_border=CONFIG.scale) for p in valid_targets])
print(f"student against its teacher's {CONFIG.teacher_steps}-step output: {gap:.2f} dB PSNR; "
      f"{points['one-step student']['seconds_per_megapixel']:.1f} s per megapixel")

# %% [markdown]
# The student's line against its teacher's says how much of the chain one call has learnt: its
# one-step outputs score within a few hundredths of a decibel of the teacher's deterministic chain
# and have the same high-frequency ratio, while the teacher's own first step (the top line) has a
# quarter of that texture; the last line's PSNR of the student *against the teacher's outputs*
# (above 40 dB) says the two images are nearly the same. What it has not learnt is the chain's
# consistency with the input: its LR-PSNR is 2.7 dB lower (53.57 against 56.23), and its PSNR against the
# original is bicubic's. The student costs one network call, as the one-step rows of the table
# above do. The deterministic teacher is also the fair match for the straight path, whose sampler
# draws no fresh noise either: at 15 steps it is ahead of the flow in PSNR, MobileNetV2 distance
# and LR-PSNR (the lines above and the plane's table).
#
# ## What it looks like
#
# Zoomed crops of two validation photos: bicubic, `edsr-x4`, the diffusion sampler with 1 and 15
# steps, the straight path with 15 steps, the one-step student and the original (PSNR against the
# original in each title). One step is smooth, between bicubic and `edsr-x4`; fifteen steps add grain over
# the butterfly's spots and draw the parrot's stripes with noise in them, more so on the straight
# path; the student looks like the fifteen-step chain.

# %%
one_step_outputs = predict(upscaler_for(denoiser, CONFIG.kappa, 1), valid_inputs)
rows = {photo: {"bicubic": bicubic_outputs[photo], "edsr-x4": edsr_outputs[photo],
                "diffusion, 1 step": one_step_outputs[photo], f"diffusion, {CONFIG.train_steps} steps": diffusion_outputs[photo],
                f"flow, {CONFIG.train_steps} steps": flow_outputs[photo], "one-step student": student_outputs[photo],
                "original": valid_targets[photo]}
        for photo in boxes}
plotting.compare_crops(rows, boxes, size=2.0, reference="original",
                       path=course.figure_path(f"diffusion_{MODE}_crops.png"));

# %% [markdown]
# The scores of the same methods (Y channel, 4 pixels of border cropped), against bicubic:

# %%
methods = {"bicubic": bicubic_outputs, "edsr-x4": edsr_outputs, "diffusion, 1 step": one_step_outputs,
           f"diffusion, {CONFIG.train_steps} steps": diffusion_outputs,
           f"rectified flow, {CONFIG.train_steps} steps": flow_outputs, "one-step student": student_outputs}
table = evaluation.evaluate(valid_targets, methods, crop_border=CONFIG.scale)
print(table.to_markdown(baseline="bicubic"))

# %% [markdown]
# The denoiser's weights go to `models/diffusion_<mode>.safetensors` with this run's settings.

# %%
weights = checkpoints.save_weights(denoiser, course.MODELS_DIR / f"diffusion_{MODE}.safetensors", {
    "architecture": {"class": "Denoiser", "arguments": {"scale": CONFIG.scale, "features": CONFIG.features,
                                                        "blocks": CONFIG.blocks, "time_dim": CONFIG.features}},
    "sampler": diffusion.SamplerSettings(CONFIG.train_steps, CONFIG.kappa, CONFIG.train_steps, CONFIG.seed).asdict(),
    "loss": "MSE of x0 at a uniform timestep (ResShift)", "config": vars(CONFIG), "mode": MODE,
    "notebook": "08_diffusion_sr", "training_seconds": record["seconds"], "training_steps": CONFIG.num_steps,
    "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %% [markdown]
# ## Conclusion
#
# This run's numbers, from the tables above:

# %%
means = table.mean()
bicubic, edsr_mean = means["bicubic"], means["edsr-x4"]
full = points[label(CONFIG.kappa, CONFIG.train_steps)]
one = points[label(CONFIG.kappa, 1)]
print(f"- {CONFIG.train_steps} steps: PSNR {full['psnr']:.2f} dB ({full['psnr'] - bicubic['psnr']:+.2f} over bicubic, "
      f"edsr-x4 {edsr_mean['psnr'] - bicubic['psnr']:+.2f}), HF ratio {full['hf_ratio']:.3f} "
      f"(edsr-x4 {points['edsr-x4']['hf_ratio']:.3f}, bicubic {points['bicubic']['hf_ratio']:.3f})")
print(f"- 1 step: PSNR {one['psnr']:.2f} dB, HF ratio {one['hf_ratio']:.3f}; "
      f"{one['seconds_per_megapixel']:.1f} against {full['seconds_per_megapixel']:.1f} s per megapixel")
print(f"- LR-PSNR: {full['lr_psnr']:.2f} dB at {CONFIG.train_steps} steps, {one['lr_psnr']:.2f} at 1, "
      f"edsr-x4 {points['edsr-x4']['lr_psnr']:.2f}")
print(f"- one-step student: PSNR {points['one-step student']['psnr']:.2f} dB, HF ratio "
      f"{points['one-step student']['hf_ratio']:.3f}, {gap:.2f} dB from its teacher's chain")

# %% [markdown]
# - **Residual shifting lets a small network do diffusion SR**: the chain starts at the blurry
#   input, so a network of a few hundred thousand parameters, trained by plain regression, samples
#   a photo in seconds on a laptop CPU (the first two lines above).
# - **Steps are a dial between faithful and textured**: one or two steps give the average and the
#   best PSNR of the diffusion points, more steps give more of the fine band and cost PSNR (the
#   plane); less noise (the smaller `kappa`) turns the same dial further. At this size and training the
#   texture is grain: the MobileNetV2 distance worsens with it, and `edsr-x4` stays ahead in PSNR,
#   MobileNetV2 distance and LR-PSNR.
# - **The schedule matters**: a straight path between the same ends (rectified flow), with the same
#   network, loss and training, gives nearly the same first step and, from two steps on, a lower
#   PSNR and consistency with the input, with a worse MobileNetV2 distance from eight steps on.
# - **Faithfulness can be checked**: the LR-PSNR line says whether the output, reduced again,
#   gives the input back; the diffusion outputs do, closely, though `edsr-x4`'s do more so.
# - **One call can stand for the chain's look, not its faithfulness**: the student reproduces the
#   deterministic sampler's PSNR and texture in one step (the last line above) but gives its input
#   back less exactly, and here it scores below the plain one-step sampler.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every
# tutorial's methods that `make results` writes (`results/summary.md`).

# %%
parameters = sum(p.numel() for p in denoiser.parameters())
course.finish("08_diffusion_sr", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(baseline="bicubic"), "plane": points,
    "spread": spread, "student_gap_db": gap, "etas": etas.tolist(),
    "training_seconds": {"denoiser": record["seconds"], "second": second_record["seconds"],
                         "flow": flow_record["seconds"], "student": student_record["seconds"]},
    "parameters": parameters, "histories": {"denoiser": record["losses"], "second": second_record["losses"],
                                            "flow": flow_record["losses"], "student": student_record["losses"]}},
    summary=course.Summary(
        "diffusion", f"bicubic x{CONFIG.scale}", valid_targets,
        {"bicubic": bicubic_outputs, f"diffusion, {CONFIG.train_steps} steps": diffusion_outputs,
         f"rectified flow, {CONFIG.train_steps} steps": flow_outputs, "one-step student": student_outputs},
        crop_border=CONFIG.scale,
        inference={f"diffusion, {CONFIG.train_steps} steps": full["seconds_per_megapixel"],
                   f"rectified flow, {CONFIG.train_steps} steps": points[flow_label(CONFIG.train_steps)]["seconds_per_megapixel"],
                   "one-step student": student_seconds},
        parameters=dict.fromkeys((f"diffusion, {CONFIG.train_steps} steps", f"rectified flow, {CONFIG.train_steps} steps",
                                  "one-step student"), parameters),
        training_seconds={f"diffusion, {CONFIG.train_steps} steps": record["seconds"],
                          f"rectified flow, {CONFIG.train_steps} steps": flow_record["seconds"],
                          "one-step student": record["seconds"] + student_record["seconds"]},
        baseline="bicubic", bicubic_scale=CONFIG.scale),
    zoo=course.ZooModel("diffusion-x4", valid_inputs, valid_targets,
                        {"bicubic": bicubic_outputs, f"diffusion, {CONFIG.train_steps} steps (this run)": diffusion_outputs},
                        f"trained {CONFIG.num_steps} steps here ({MODE} mode, {record['seconds'] / 60:.1f} min)",
                        dict(crop_border=CONFIG.scale), baseline="bicubic"),
    checkpoints=checkpoint_dir)
