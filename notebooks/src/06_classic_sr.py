# %% [markdown]
# # 6. Classic super-resolution: from ESPCN to EDSR
#
# Tutorials 1-5 enlarge the photo with bicubic first and ask a network to repair it. The networks
# that made super-resolution a field of its own do the opposite: they **work at low resolution**
# and enlarge only at the very end, with a *sub-pixel convolution* (a convolution that makes
# several values per pixel, then a *pixel shuffle* that moves them into place). This tutorial builds the first
# of them, **ESPCN** (Shi et al., 2016: three convolutions and a pixel shuffle), then
# **EDSR-baseline** (Lim et al., 2017: sixteen residual blocks, no batch normalisation, L1 loss),
# the network behind `edsr-x2` and `edsr-x4` in srlib's *model zoo* (the trained models that ship
# with the library: `srlib models` lists them). Both learn the classic x2 task (MATLAB's bicubic
# reduction) and are scored against bicubic, tutorial 1's auto-encoder and the zoo's fully
# trained EDSRs at x2 and x4, with and without *self-ensemble*. The last sections turn to camera
# photos: a ladder of damage from a clean reduction to heavy blur, noise and JPEG, the zoo's
# `real-x4` trained on it, and a strength control between it and `edsr-x4`.
#
# The pixel shuffle, both networks, the crop sampler, ESPCN's training loop and self-ensemble are
# written in the cells below; the library's copies of them (which the tests check against these)
# then train EDSR (`srlib.train_sr`). Fast mode (the default on a CPU) trains a narrow EDSR for a
# few hundred steps on the 9 sample photos: a few minutes on a CPU. Full mode
# (`SRLIB_MODE=full python -m course.notebooks 06_classic_sr`) trains EDSR-baseline itself (64
# features, 16 blocks) for 4,000 steps of 16 crops on the whole training pool: one to two hours on
# a CPU, minutes on a GPU, where `edsr_steps` can go up to the zoo's 18,171.

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
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

import srlib
import course
from srlib import config, degrade, evaluation, patches, plotting, samples, train_sr, zoo
from srlib.arrays import mod_crop
from srlib.resize import upscale_bicubic
from srlib.torch import checkpoints, default_device, edsr, to_tensor
from srlib.torch.inference import upscale_array

device = default_device()                 # a GPU when there is one
print(f"srlib {srlib.__version__}, torch {torch.__version__}, training on {device}")

# %% [markdown]
# ## Parameters
#
# One cell decides the run. Fast and full mode differ in the photos (`pool`: the 9 sample photos,
# or the whole training pool, `srlib.samples.load_pool`), EDSR's size and the number of steps, and in
# how many damages of each validation photo the camera section scores (`camera_draws`); the test
# suite's `test` budget only checks that every cell runs.

# %% tags=["parameters"]
MODE = config.run_mode()                 # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), espcn_steps=4, edsr_features=8, edsr_blocks=1, edsr_steps=4,
                        edsr_learning_rate=1e-3, camera_photos=1, camera_draws=1, strengths=(0.0, 1.0)),
           "fast": dict(pool=("samples",), espcn_steps=1200, edsr_features=32, edsr_blocks=4, edsr_steps=800,
                        edsr_learning_rate=1e-3,   # a short run needs a larger step than EDSR's 2e-4
                        camera_photos=5, camera_draws=2, strengths=zoo.STRENGTHS),
           "full": dict(pool=("samples", "wallpapers"), espcn_steps=8000, edsr_features=64, edsr_blocks=16,
                        edsr_steps=4000, edsr_learning_rate=2e-4,  # on a GPU, raise edsr_steps (the zoo's: 18,171)
                        camera_photos=5, camera_draws=4, strengths=zoo.STRENGTHS)}
CONFIG = SimpleNamespace(
    scale=2,                             # the classic x2 task: MATLAB bicubic reduction
    patch_size=48, batch_size=16,        # low-resolution pixels per crop side, crops per step (EDSR's)
    espcn_learning_rate=1e-3,
    precision="auto",                    # EDSR: bfloat16 + channels-last where native (srlib.torch.precision)
    seed=42, **BUDGETS[MODE])

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Data
#
# The training pool's photos, each cropped to a multiple of the scale, and their MATLAB-bicubic
# reductions (`srlib.train_sr.make_pairs`: computed once, kept as tensors). For scoring, the five
# validation photos: the low-resolution image is what ESPCN and EDSR take; the tutorials' models
# take it enlarged with bicubic, which is also the baseline.

# %%
train_images = samples.load_pool(CONFIG.pool)
train_pairs = train_sr.make_pairs(train_images, CONFIG.scale)
valid_lowres, valid_targets = patches.degrade_photos(samples.load_split("valid"), "bicubic", CONFIG.scale,
                                                     upsample_input=False)
valid_bicubic = {name: upscale_bicubic(image, CONFIG.scale) for name, image in valid_lowres.items()}
print(f"train: {len(train_pairs)} photos, {sum(h.shape[1] * h.shape[2] for _, h in train_pairs) / 1e6:.1f} MP; "
      f"valid: {', '.join(f'{name} {image.shape[1]}x{image.shape[0]}' for name, image in valid_lowres.items())} "
      "(low resolution)")

# %% [markdown]
# ## Why work at low resolution
#
# A network that takes the bicubic-enlarged image (SRCNN, 2014; tutorials 1-5) runs every layer on
# `scale²` times as many pixels as the photo it was given, and most of them only repeat what
# interpolation made up. ESPCN runs all its layers on the small image and lets its last layer
# produce `scale²` values per pixel, one for each position of the enlarged pixel's sub-grid. A
# **pixel shuffle** then moves them into place: channel `c * scale² + i * scale + j` of
# low-resolution pixel `(y, x)` becomes pixel `(y * scale + i, x * scale + j)` of channel `c`.
# It is a reshape and a transpose, written here from scratch:

# %%
def pixel_shuffle(features: torch.Tensor, scale: int) -> torch.Tensor:
    """(N, C * scale², H, W) -> (N, C, H * scale, W * scale): Shi et al.'s periodic shuffling."""
    batch, channels, height, width = features.shape
    out_channels = channels // scale**2
    grid = features.reshape(batch, out_channels, scale, scale, height, width)       # c, i, j, y, x
    return grid.permute(0, 1, 4, 2, 5, 3).reshape(batch, out_channels, height * scale, width * scale)  # c, y, i, x, j


features = torch.randn(2, 3 * 4, 5, 7)
assert torch.equal(pixel_shuffle(features, 2), nn.PixelShuffle(2)(features))
print("same as torch.nn.PixelShuffle:", tuple(features.shape), "->", tuple(pixel_shuffle(features, 2).shape))

# %% [markdown]
# **ESPCN** (Shi et al., 2016) is three convolutions and that shuffle: 5x5 with 64 features, 3x3
# with 32, then 3x3 to `3 * scale²` channels, with tanh between them as in the paper.

# %%
class ESPCN(nn.Module):
    """(N, 3, H, W) RGB in [0, 1] -> (N, 3, H * scale, W * scale): Shi et al., CVPR 2016."""

    def __init__(self, scale: int, features: int = 64):
        super().__init__()
        self.scale = scale
        self.body = nn.Sequential(nn.Conv2d(3, features, 5, padding=2), nn.Tanh(),
                                  nn.Conv2d(features, features // 2, 3, padding=1), nn.Tanh(),
                                  nn.Conv2d(features // 2, 3 * scale**2, 3, padding=1))

    def forward(self, lowres):
        return pixel_shuffle(self.body(lowres), self.scale)


# %% [markdown]
# What working at low resolution buys: the same three layers run on the bicubic-enlarged image
# instead (the SRCNN way, with a last layer of 3 channels), on one validation photo. The enlarged
# image has `scale²` = 4 times as many pixels, so the layers have about 4 times the arithmetic to
# do; the measured ratio printed below is what that costs on the processor running it (larger
# feature maps also cost more memory traffic):

# %%
def seconds(function, repeats=3):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with torch.no_grad():
            function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


espcn_model = ESPCN(CONFIG.scale)
srcnn_like = nn.Sequential(*list(espcn_model.body)[:-1], nn.Conv2d(32, 3, 3, padding=1))
small, large = to_tensor(valid_lowres["kodim23"])[None], to_tensor(valid_bicubic["kodim23"])[None]
at_low, at_high = seconds(lambda: espcn_model(small)), seconds(lambda: srcnn_like(large))
print(f"ESPCN on {small.shape[3]}x{small.shape[2]}: {at_low * 1000:.0f} ms; the same layers on the enlarged "
      f"{large.shape[3]}x{large.shape[2]}: {at_high * 1000:.0f} ms ({at_high / at_low:.1f}x)")

# %% [markdown]
# ## Training crops
#
# Every step draws `batch_size` aligned crops: a photo (in proportion to its area, so a large
# wallpaper gives more crops than a small sample photo), a random `patch_size`-square of its
# low-resolution image and the `scale`-times-larger square of the original at the same place, then
# one of the 8 flips and rotations of both. All draws come from one seeded `torch.Generator`, so a
# run is repeatable and can be resumed mid-way.

# %%
def sample_batch(pairs, batch_size, patch_size, scale, generator):
    """(lowres (N, 3, P, P), highres (N, 3, P * scale, P * scale)) aligned random crops, augmented."""
    areas = torch.tensor([float(lowres.shape[1] * lowres.shape[2]) for lowres, _ in pairs])
    chosen = torch.multinomial(areas / areas.sum(), batch_size, replacement=True, generator=generator)
    lowres_crops, highres_crops = [], []
    for index in chosen.tolist():
        lowres, highres = pairs[index]
        top = int(torch.randint(lowres.shape[1] - patch_size + 1, (1,), generator=generator))
        left = int(torch.randint(lowres.shape[2] - patch_size + 1, (1,), generator=generator))
        flip, turns = torch.randint(2, (1,), generator=generator), torch.randint(4, (1,), generator=generator)
        low = lowres[:, top:top + patch_size, left:left + patch_size]
        high = highres[:, top * scale:(top + patch_size) * scale, left * scale:(left + patch_size) * scale]
        if int(flip):
            low, high = low.flip(-1), high.flip(-1)
        lowres_crops.append(low.rot90(int(turns), (1, 2)))
        highres_crops.append(high.rot90(int(turns), (1, 2)))
    return torch.stack(lowres_crops), torch.stack(highres_crops)


# %% [markdown]
# Two crops: the two low-resolution crops (48 pixels square), then their originals (96 pixels,
# drawn at the same size, so the originals look sharper, not larger). Both of these fall on nearly
# flat parts of their photos, as many random crops of a large photo do: the edges and textures that
# a network learns from come from the crops that fall on them. (The zoo's trainer, `srlib.train_sr`, draws the same crops from the same seed with
# its `CropSampler`; the tests check it.)

# %%
lowres_crops, highres_crops = sample_batch(train_pairs, 4, CONFIG.patch_size, CONFIG.scale,
                                           torch.Generator().manual_seed(0))
plotting.show_images({f"crop {i} (low resolution)": lowres_crops[i].permute(1, 2, 0).numpy() for i in range(2)}
                     | {f"crop {i} (original)": highres_crops[i].permute(1, 2, 0).numpy() for i in range(2)}, size=2.2);

# %% [markdown]
# ## Train ESPCN
#
# The loop is plain PyTorch: L1 loss (the mean absolute error; in tutorial 1 it beat MSE even on
# PSNR, +1.55 against +1.18 dB, and EDSR trains with it too), Adam, and a learning rate that
# decays along a cosine to 1/100 of its start: large steps early, small ones at the end to settle.

# %%
def train_network(model, num_steps, learning_rate, seed, description):
    """L1 + Adam with cosine decay on `sample_batch` crops; returns the loss every 50 steps."""
    generator = torch.Generator().manual_seed(seed)  # crops are drawn on the CPU, then moved to the device
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    history, running = [], []
    model.train()
    for step in (bar := tqdm(range(num_steps), desc=description, mininterval=1.0)):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / num_steps)))
        lowres, highres = sample_batch(train_pairs, CONFIG.batch_size, CONFIG.patch_size, CONFIG.scale, generator)
        loss = F.l1_loss(model(lowres.to(device)), highres.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running.append(loss.detach())
        if (step + 1) % 50 == 0:
            history.append(float(torch.stack(running).mean()))
            running = []
            bar.set_postfix_str(f"L1 {history[-1]:.4f}", refresh=False)
    model.eval()
    return history


config.set_seed(CONFIG.seed)
espcn_model = ESPCN(CONFIG.scale)
started = time.perf_counter()
espcn_history = train_network(espcn_model, CONFIG.espcn_steps, CONFIG.espcn_learning_rate, CONFIG.seed, "ESPCN")
espcn_seconds = time.perf_counter() - started
print(f"ESPCN: {sum(p.numel() for p in espcn_model.parameters()):,} parameters, {CONFIG.espcn_steps} steps "
      f"in {espcn_seconds:.0f} s")

# %% [markdown]
# ## EDSR-baseline
#
# EDSR (Lim et al., 2017) is a deep stack of **residual blocks** at low resolution, one long skip
# around them, and the sub-pixel upsampler at the end. Three choices set it apart from the
# classification networks it borrows from:
#
# - **No batch normalisation.** Batch norm rescales every feature map to the batch's statistics.
#   A classifier wants that invariance; an image-to-image network does not, since the brightness
#   and contrast of its input are the answer's, and the network must carry them through. Removing
#   it also saved EDSR 40% of its training memory, which went into a larger network.
# - **Residual scaling.** Each block adds `residual_scale * F(x)` to its input. The baseline (64
#   features, 16 blocks) uses 1; the paper's large EDSR (256 features, 32 blocks) uses 0.1. The
#   blocks' outputs add up, so the features' spread grows with width and depth (measured below, at
#   initialisation), and the paper found the large network's training unstable without the scale.
# - **The mean colour removed** before the network and added back after (the mean RGB of DIV2K,
#   the 800 photographs EDSR was trained on), so the layers work on values centred on zero.

# %%
class ResidualBlock(nn.Module):
    """x + residual_scale * conv(relu(conv(x))): no batch normalisation."""

    def __init__(self, features, residual_scale=1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(features, features, 3, padding=1))
        self.residual_scale = residual_scale

    def forward(self, x):
        return x + self.residual_scale * self.body(x)


class EDSR(nn.Module):
    """(N, 3, H, W) RGB in [0, 1] -> (N, 3, H * scale, W * scale), scale 2 or 4: Lim et al., 2017."""

    def __init__(self, scale, features=64, blocks=16, residual_scale=1.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(edsr.DIV2K_MEAN).view(1, 3, 1, 1), persistent=False)
        self.head = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(features, residual_scale) for _ in range(blocks)],
                                  nn.Conv2d(features, features, 3, padding=1))
        upsampler = []
        for _ in range(int(math.log2(scale))):  # x4 is two x2 shuffles
            upsampler += [nn.Conv2d(features, 4 * features, 3, padding=1), nn.PixelShuffle(2)]
        self.upsample = nn.Sequential(*upsampler)
        self.tail = nn.Conv2d(features, 3, 3, padding=1)

    def forward(self, lowres):
        features = self.head(lowres - self.mean)
        features = features + self.body(features)  # the long skip
        return self.tail(self.upsample(features)) + self.mean


# %% [markdown]
# `srlib.torch.edsr.EDSR` is the same network (the zoo's models load into it, and the tests check that
# both compute the same). The baseline's size at each scale: x4's upsampler has one more
# convolution and shuffle.

# %%
print(f"EDSR-baseline: {sum(p.numel() for p in EDSR(2).parameters()):,} parameters at x2, "
      f"{sum(p.numel() for p in EDSR(4).parameters()):,} at x4")

# %% [markdown]
# Residual scaling, measured: the standard deviation of the features after the residual blocks, at
# initialisation, for random inputs of spread 1. With a scale of 1 it grows with width and depth
# (1.43 for the baseline, 2.22 for the large network); with 0.1 it stays near 1:

# %%
torch.manual_seed(0)
noise = torch.randn(1, 256, 16, 16)
for features, blocks in ((64, 16), (256, 32)):
    spreads = []
    for residual_scale in (1.0, 0.1):
        body = nn.Sequential(*[ResidualBlock(features, residual_scale) for _ in range(blocks)])
        with torch.no_grad():
            spreads.append(float(body(noise[:, :features]).std()))
    print(f"{features} features, {blocks} blocks: output spread {spreads[0]:.2f} with scale 1, {spreads[1]:.2f} "
          "with 0.1 (input 1.00)")

# %% [markdown]
# ## Train EDSR with the zoo's trainer
#
# From here on the library trains: `srlib.train_sr.train` is the loop above with the model's
# settings in a dataclass (`SRTrainConfig`), bfloat16 autocast where the hardware computes it
# natively, float32 elsewhere (the last line below says which ran), and a checkpoint every
# `checkpoint_every` steps, so that an interrupted run, started again, goes on from its last
# checkpoint to the same weights. The same program trained the zoo's EDSRs.
#
# The plot below the training cell shows both training losses, each point the mean L1 over 50
# steps. EDSR's falls faster and ends lower, about 0.012 (3 grey levels of mean error) against
# ESPCN's 0.013, in half as many steps.

# %%
edsr_config = train_sr.SRTrainConfig(
    scale=CONFIG.scale, features=CONFIG.edsr_features, blocks=CONFIG.edsr_blocks, patch_size=CONFIG.patch_size,
    batch_size=CONFIG.batch_size, steps=CONFIG.edsr_steps, learning_rate=CONFIG.edsr_learning_rate,
    seed=CONFIG.seed, checkpoint_every=max(100, CONFIG.edsr_steps // 20), precision=CONFIG.precision,
    data=[f"srlib.samples.load_pool({CONFIG.pool})"])
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"06_classic_sr_{MODE}"
edsr_model, edsr_record = train_sr.train(edsr_config, train_images, checkpoint_dir, pairs=train_pairs,
                                         replace_other=True)
print(f"EDSR ({CONFIG.edsr_features} features, {CONFIG.edsr_blocks} blocks): {edsr_record['parameters']:,} "
      f"parameters, {edsr_record['step']} steps in {edsr_record['seconds']:.0f} s, {edsr_record['precision']}")

# %%
steps_edsr, loss_edsr = zip(*edsr_record["history"])   # (step, mean L1 over the 50 steps before it)
plotting.plot_histories({"ESPCN": {"loss": espcn_history, "step_stride": 50},
                         "EDSR": {"loss": list(loss_edsr), "step_stride": 50}},
                        key="loss", relative=False, title=f"training L1, mean of every 50 steps ({MODE} run)");

# %% [markdown]
# ## Self-ensemble
#
# A network trained on flipped and rotated crops gives slightly different answers for a flipped or
# rotated photo. **Self-ensemble** (EDSR+ in Lim et al.) runs all 8 versions, turns each answer
# back, and averages them: 8 times slower, and Lim et al. report 0.1-0.3 dB better. The
# evaluation below measures it for this run's EDSR.

# %%
def self_ensemble(model, lowres, scale, precision="auto"):
    """The mean over the 8 flips/rotations of `lowres` (HWC) of model's answer, each turned back."""
    answers = []
    for flip in (False, True):
        for turns in range(4):
            variant = np.ascontiguousarray(np.rot90(lowres[:, ::-1] if flip else lowres, turns))
            answer = np.rot90(upscale_array(model, variant, scale, tile=None, precision=precision), -turns)
            answers.append(answer[:, ::-1] if flip else answer)
    return np.mean(answers, axis=0)



# %% [markdown]
# `srlib.zoo.upscale(..., self_ensemble=True)` and `srlib upscale --self-ensemble` do the same.

# %% [markdown]
# ## Evaluate at x2
#
# PSNR and SSIM on the luma channel with 2 pixels of border cropped, and HFEN (the error after a
# Laplacian-of-Gaussian filter, so in edges and fine detail; lower is better), on the five
# validation photos, against bicubic. Beside this run's two networks, on the same inputs: tutorial
# 1's auto-encoder (the zoo's `autoencoder-x2`, which takes the bicubic-enlarged image; 1.1 million
# parameters) and the zoo's `edsr-x2`, the same EDSR-baseline trained for about four and a half
# times as many steps, its first stage with batches of 32 instead of 16: eight times as many crops
# (the line under the table says how).

# %%
def upscaler(model):
    return lambda image: upscale_array(model, image, CONFIG.scale, tile=None)


methods = {"bicubic": valid_bicubic}
for label, model in (("ESPCN (this run)", espcn_model), ("EDSR (this run)", edsr_model)):
    methods[label] = {name: upscaler(model)(image) for name, image in valid_lowres.items()}
methods["EDSR (this run) + self-ensemble"] = {name: self_ensemble(edsr_model, image, CONFIG.scale)
                                              for name, image in valid_lowres.items()}
methods["tutorial 1: autoencoder-x2 (zoo)"], _ = zoo.beside_run("autoencoder-x2", valid_bicubic, "")
methods["edsr-x2 (zoo)"], edsr_x2_trained = zoo.beside_run("edsr-x2", valid_lowres, "")
table = evaluation.evaluate(valid_targets, methods, crop_border=CONFIG.scale)
print(table.to_markdown())
print(f"trained {CONFIG.edsr_steps} steps here ({MODE} mode, {edsr_record['seconds'] / 60:.1f} min){edsr_x2_trained}")

# %% [markdown]
# ESPCN gains +1.22 dB over bicubic, EDSR +2.54 dB, self-ensemble 0.12 dB more, the zoo's
# `edsr-x2` +3.47 dB; HFEN agrees (EDSR removes 60% of bicubic's edge error). Zoomed crops of two
# validation photos (pixels enlarged without smoothing): the three networks draw the butterfly's
# spots and the parrot's stripes more crisply than bicubic, and are hard to tell apart at this
# zoom.

# %%
boxes = {"monarch": (170, 260, 72), "kodim23": (185, 175, 72)}
labels = ["bicubic", "ESPCN (this run)", "EDSR (this run)", "edsr-x2 (zoo)"]
rows = {name: {"original": valid_targets[name], **{label: methods[label][name] for label in labels}} for name in boxes}
plotting.compare_crops(rows, boxes, size=2.2, reference="original",
                       path=course.figure_path(f"classic_{MODE}_crops.png"));

# %% [markdown]
# ## The zoo's models at x4
#
# At x4 the zoo has `edsr-x4` (EDSR-baseline at x4, started from `edsr-x2`'s weights and trained
# further on the x4 task) and tutorial 5's VAE (`vae-x4`, decoding with its latent at zero, the
# VAE's most likely answer). Scored the zoo's way (`srlib.zoo.evaluate_model`: the same bicubic
# reduction, a 4-pixel border, whole photos, where tutorial 5 crops them to a multiple of 16, so its
# numbers differ a little), with and without self-ensemble for EDSR:

# %%
valid_images = samples.load_split("valid")
edsr_x4, edsr_x4_metadata = zoo.load_model("edsr-x4")
x4_tables = {"edsr-x4": zoo.evaluate_model(edsr_x4, valid_images, edsr_x4_metadata),
             "edsr-x4 + self-ensemble": zoo.evaluate_model(edsr_x4, valid_images, edsr_x4_metadata,
                                                           self_ensemble=True),
             "tutorial 5: vae-x4": zoo.evaluate_model("vae-x4", valid_images)}
x4_means = {"bicubic": x4_tables["edsr-x4"].mean()["bicubic"]}   # each table: bicubic and the model
for label, table_x4 in x4_tables.items():
    x4_means[label] = [values for method, values in table_x4.mean().items() if method != "bicubic"][0]
print("| x4 | PSNR (dB) | SSIM | HFEN | gain over bicubic (dB) |\n|---|---|---|---|---|")
for label, values in x4_means.items():
    print(f"| {label} | {values['psnr']:.2f} | {values['ssim']:.4f} | {values['hfen']:.4f} | "
          f"{values['psnr'] - x4_means['bicubic']['psnr']:+.2f} |")

# %% [markdown]
# ## Camera photos: a ladder of damage
#
# From here on the task is x4, with the zoo's models. Every network above learnt one known
# reduction: MATLAB's bicubic. A phone's photo is made differently: its lens blurs, its sensor adds noise, its encoder adds JPEG blocks, and whoever
# shrinks it uses whatever program they have. srlib scores camera models on a **damage ladder**
# (`srlib.degrade.ladder`) of four rungs, mildest first:
#
# - **clean**: only the reduction, by one of six programs people use (MATLAB's or Pillow's
#   antialiased bicubic, or OpenCV's `cv2.resize` with linear, cubic, area or nearest
#   interpolation; linear is `cv2.resize`'s default);
# - **mild**, a phone photo shared once: a slight Gaussian blur (sigma 0.2-1.5 pixels) before
#   that reduction, sensor noise after it (Gaussian, its standard deviation 1-6 grey levels of
#   255), JPEG of quality 55-95;
# - **moderate**: blur up to 2.5, noise up to 15 levels, JPEG 35-75;
# - **heavy**: Real-ESRGAN's *second-order* degradation (Wang et al., 2021;
#   `srlib.degrade.second_order`): blur, resize, noise and JPEG, then all four again, each of a
#   random kind and strength.
#
# The middle rungs are four steps, each with a random strength. `camera_like` below writes them
# out; `rng` is a NumPy random generator, which draws the program and the strengths. The cells
# after it call the library's version, `degrade.ladder`, and the tests check that the two give the
# same image:

# %%
MILD = dict(blur_sigma=(0.2, 1.5), noise_levels=(1.0, 6.0), jpeg_quality=(55, 95))
MODERATE = dict(blur_sigma=(0.2, 2.5), noise_levels=(1.0, 15.0), jpeg_quality=(35, 75))


def camera_like(highres, scale, rng, blur_sigma, noise_levels, jpeg_quality):
    """HWC [0, 1] -> (H // scale, W // scale): blur, a reduction program, sensor noise, JPEG."""
    program = str(rng.choice(degrade.REDUCTIONS))                 # who shrank it
    sigma = float(rng.uniform(*blur_sigma))                        # lens and focus
    levels, noise_seed = float(rng.uniform(*noise_levels)), int(rng.integers(2**32))
    quality = int(rng.integers(jpeg_quality[0], jpeg_quality[1] + 1))
    blurred = degrade.gaussian_blur(mod_crop(highres, scale), sigma)
    lowres = degrade.reduce_with(blurred, scale, program)          # the sensor's pixels
    noisy = degrade.add_gaussian_noise(lowres, levels / 255.0, noise_seed)
    return degrade.jpeg(noisy, quality)


# %% [markdown]
# One validation photo at each rung, enlarged by bicubic, with what was drawn for it. The seed
# `[0, example_index]` is the first damage (draw 0) of this photo, seeded as the scores below seed
# it. The heavy rung draws too much to list (two rounds of everything), so its line is empty:

# %%
camera_photos = dict(list(valid_images.items())[:CONFIG.camera_photos])
example = "kodim23" if "kodim23" in camera_photos else next(iter(camera_photos))
example_index = list(camera_photos).index(example)
rung_inputs = {}
for level in degrade.LADDER:
    lowres, draws = degrade.ladder(valid_images[example], level, 4, seed=[0, example_index], return_draws=True)
    rung_inputs[level] = lowres
    print(f"{level:>8}: " + ", ".join(f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
                                       for key, value in draws.items() if key not in ("level", "noise_seed")))
plotting.show_images({"original": mod_crop(valid_images[example], 4)[120:280, 120:280]}
                     | {level: upscale_bicubic(lowres, 4)[120:280, 120:280]
                        for level, lowres in rung_inputs.items()}, size=2.4);

# %% [markdown]
# The seed draws the same program at every rung of this photo (OpenCV's nearest neighbour, the
# crudest of the six: it keeps one pixel in sixteen, and its stair-steps show in the clean
# image); what grows from rung to rung is the blur, the noise and the JPEG, until the heavy rung
# has lost most of the fine detail.
#
# ## A model trained on the ladder
#
# `edsr-x4` learnt to undo the bicubic reduction alone, so it takes noise and blocks for detail
# and sharpens them. The zoo's `real-x4` is the same network, started from `edsr-x4`'s weights
# and trained further, with L1, on crops damaged at a rung of the ladder drawn afresh for every
# crop (`srlib.degrade.ladder_mix`: clean 20%, mild 30%, moderate 30%, heavy 20%; 4,000 steps of
# 16 crops, under an hour on a CPU), so that it learns to keep a clean photo's detail as well as
# to remove heavy damage. `zoo.load_model("real-x4")` and the scores below use it at its default
# *strength*, 0.75, a mix of the two networks that the last section explains.
#
# Both models, and bicubic, on the first `camera_photos` validation photos, each damaged
# `camera_draws` times at each rung (`srlib.zoo.evaluate_degradations`). The gain is the mean PSNR
# gain over bicubic; "worst" is the gain of the damaged photo that gains least (one photo, one
# draw). Bicubic scores lower here than in the x4 table above: fewer photos, and reductions harsher
# than MATLAB's:

# %%
ladder_scores = {name: zoo.evaluate_degradations(name, camera_photos, draws=CONFIG.camera_draws)
                 for name in ("edsr-x4", "real-x4")}
print("| rung | bicubic PSNR (dB) | edsr-x4: gain (worst) | real-x4: gain (worst) |\n|---|---|---|---|")
for level in degrade.LADDER:
    rows = {name: scores[level] for name, scores in ladder_scores.items()}
    print(f"| {level} | {rows['real-x4']['bicubic_psnr']:.2f} | "
          + " | ".join(f"{row['gain']:+.2f} ({row['worst_gain']:+.2f})" for row in rows.values()) + " |")

# %% [markdown]
# `edsr-x4` is worse than bicubic at every rung, by nearly two decibels on the clean one. Even
# without blur or noise, five of the clean rung's six programs are not the reduction it learnt:
# it takes their aliasing for detail and sharpens it, and on its worst photo it loses over three
# decibels. `real-x4` gains about four tenths of a decibel at every rung, from clean to heavy.
# Its worst damaged photo (of the twenty scored here: five photos, four damages) still comes out a
# little below bicubic on
# the three lighter rungs: on average the model helps, but it does not yet help every photo.
#
# Zoomed crops of the butterfly at each rung, its first damage (draw 0). The bicubic column is the
# damaged input enlarged by bicubic, `real-x4` is at its default strength 0.75, pixels are
# enlarged without smoothing, and each title gives the PSNR of that crop alone against the
# original, one crop of one draw, not the table's means:

# %%
crop_photo = "monarch" if "monarch" in camera_photos else example
crop_index = list(camera_photos).index(crop_photo)
crop_target = mod_crop(valid_images[crop_photo], 4)
zoo_models = {name: zoo.load_model(name) for name in ("edsr-x4", "real-x4")}
camera_rows = {}
for level in degrade.LADDER:
    lowres = degrade.ladder(valid_images[crop_photo], level, 4, seed=[0, crop_index])
    camera_rows[f"{crop_photo}, {level}"] = {
        "original": crop_target, "bicubic": upscale_bicubic(lowres, 4),
        **{name: zoo.upscale(model, metadata, lowres) for name, (model, metadata) in zoo_models.items()}}
camera_boxes = {row: (200, 250, 96) for row in camera_rows}
plotting.compare_crops(camera_rows, camera_boxes, size=2.2, reference="original",
                       path=course.figure_path(f"classic_{MODE}_camera_crops.png"));

# %% [markdown]
# In the clean row `edsr-x4` sharpens the reduction's aliasing into jagged edges and halos,
# three decibels below bicubic, while `real-x4` draws the spots and stripes with clean edges,
# sharper than bicubic's. On this crop's mild and moderate damage `edsr-x4` does beat bicubic,
# one draw against the table's averages, but it adds ripples that `real-x4` does not. On heavy damage `edsr-x4` turns the noise into streaks; `real-x4` returns a clean but
# smooth image, no closer to the original than bicubic's. What the damage erased, an L1 network
# cannot bring back: unsure of the answer, it predicts the average of the possible ones, which is
# smooth (Real-ESRGAN adds a GAN, a second network that judges texture, for that; tutorial 4 shows
# what training against one costs).
#
# ## How much restoration: the strength control
#
# A photo that is barely damaged wants little of what `real-x4` learnt; a heavily damaged one wants
# all of it. Because `real-x4` started from `edsr-x4`'s weights, the two networks can be mixed
# weight by weight, `(1 - strength) * edsr-x4 + strength * real-x4` (ESRGAN's *network
# interpolation*, Wang et al., 2018; Real-ESRGAN's denoising strength does the same):

# %%
faithful_state = zoo.load_model("edsr-x4")[0].state_dict()
camera_state = zoo.load_model("real-x4", strength=1)[0].state_dict()   # real-x4 as trained
half = {key: 0.5 * faithful_state[key] + 0.5 * camera_state[key] for key in faithful_state}
library_half = zoo.load_model("real-x4", strength=0.5)[0].state_dict()
print("the library's strength 0.5 is this mix:",
      all(torch.allclose(half[key], library_half[key], atol=1e-6) for key in half))

# %% [markdown]
# The same ladder at each strength (`srlib.zoo.strength_sweep`), 0 being `edsr-x4` and 1 the
# fully trained `real-x4`. In the plot, one line per rung gives the mean gain, and the dashed line
# marks the default strength; the table beside it also gives the worst photo:

# %%
sweep = zoo.strength_sweep("real-x4", camera_photos, strengths=CONFIG.strengths, draws=CONFIG.camera_draws)
default_strength = zoo.load_model("real-x4")[1]["strength"]
print(zoo.strength_markdown(sweep, "real-x4", chosen=default_strength))
figure, axis = plt.subplots(figsize=(5.5, 3.4))
for level in degrade.LADDER:
    axis.plot(list(sweep), [rows[level]["gain"] for rows in sweep.values()], marker="o", label=level)
axis.axhline(0, color="grey", linewidth=0.8)
axis.axvline(default_strength, color="grey", linestyle="--", linewidth=0.8)
axis.set(xlabel="strength (0: edsr-x4, 1: real-x4)", ylabel="PSNR gain over bicubic (dB)",
         title="real-x4 at each strength, by rung")
axis.legend(fontsize=8)
plotting.save(figure, course.figure_path(f"classic_{MODE}_strength.png"))
plt.show()

# %% [markdown]
# At strength 0 (`edsr-x4`) every rung loses, and the gains rise with the strength up to 0.75.
# From 0.75 to 1 the heavy rung keeps gaining (+0.41 to +0.63 dB) and the clean and moderate means
# barely move, while the mild one falls (+0.41 to +0.26). The worst photos fall too: to -0.68 dB
# on clean, -0.46 on mild. The last stretch of training on damage costs the photos that had
# little. The zoo's rule (`zoo.STRENGTH_RULE`) keeps the strengths that gain on average at every
# rung and cost no photo of the mild rung more than 0.3 dB, and among them takes the largest gain
# averaged over the four rungs. It picks 0.75, the bold row and the dashed line. That is the default of
# `zoo.load_model("real-x4")` and `srlib upscale --model real-x4`; `--strength 1` suits a badly
# damaged photo. The rule chose it on these same validation photos, so the numbers at 0.75 are a
# little flattering.

# %% [markdown]
# EDSR's weights go to `models/edsr_x2_<mode>.safetensors` with this run's settings beside them.

# %%
weights = checkpoints.save_weights(edsr_model, course.MODELS_DIR / f"edsr_x{CONFIG.scale}_{MODE}.safetensors", {
    "architecture": {"class": "EDSR", "arguments": edsr_model.arguments()}, "scale": CONFIG.scale,
    "input": "lowres", "degradation": {"name": "bicubic"}, "loss": "L1", "notebook": "06_classic_sr", "mode": MODE,
    "config": vars(CONFIG), "training": {key: edsr_record[key] for key in ("config", "step", "seconds", "machine")},
    "validation": table.mean()["EDSR (this run)"]})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %% [markdown]
# ## Conclusion
#
# This run's gains over bicubic at x2, with the parameters and minutes of training they cost:

# %%
means = table.mean()
training_minutes = {"ESPCN (this run)": espcn_seconds / 60, "EDSR (this run)": edsr_record["seconds"] / 60}
parameter_counts = {"ESPCN (this run)": sum(p.numel() for p in espcn_model.parameters()),
                    "EDSR (this run)": edsr_record["parameters"]}
for label in ("ESPCN (this run)", "EDSR (this run)", "EDSR (this run) + self-ensemble",
              "tutorial 1: autoencoder-x2 (zoo)", "edsr-x2 (zoo)"):
    gain = means[label]["psnr"] - means["bicubic"]["psnr"]
    detail = (f", {parameter_counts[label]:,} parameters, {training_minutes[label]:.1f} min here"
              if label in training_minutes else "")
    print(f"{label:>34}: {gain:+.2f} dB{detail}")
print("x4 on the damage ladder, gain over bicubic (worst photo):")
for label, scores in ladder_scores.items():
    print(f"{label:>34}: " + ", ".join(f"{level} {row['gain']:+.2f} ({row['worst_gain']:+.2f})"
                                       for level, row in scores.items()))

# %% [markdown]
# - **Working at low resolution pays.** The same three layers took nearly four times as long on the
#   enlarged image, which has four times the pixels, as on the small one (measured in "Why work at
#   low resolution"); the saving is what lets EDSR afford a deep stack of residual blocks.
# - **Depth is what the classic networks add** (the lines printed above). ESPCN, three layers and
#   27 thousand parameters, comes within about a third of a decibel of tutorial 1's auto-encoder,
#   which has forty times the parameters and spends them at full resolution. EDSR-baseline, sixteen
#   residual blocks trained for about an hour, gains about twice as much as ESPCN. The same
#   network trained on eight times as many crops (the zoo's `edsr-x2`) gains nearly a decibel more:
#   a longer run helps, and so should more photos: a network of this size scores higher on the
#   photos it trained on than on new ones (the pool benchmark in `docs/data.md`).
# - **Self-ensemble** is a gain at inference, paid for in time (eight passes): about a tenth of a
#   decibel for this run's EDSR, about a quarter of a decibel for the zoo's `edsr-x4` (the x4
#   table).
# - **A network learns the damage it was trained on.** Trained with L1 on MATLAB's bicubic
#   reduction, `edsr-x4` restores what that reduction blurred and nothing else: on the damage
#   ladder it falls below bicubic at every rung (the last lines above), because it sharpens the
#   aliasing, the noise and the JPEG blocks along with the edges. The same network trained
#   further on the ladder (`real-x4`) gains a little at every rung and returns clean images,
#   but smooth ones where the damage was heavy, and its worst photos still lose a little to
#   bicubic. Mixing the two networks' weights (the strength) trades restoration on heavy damage
#   against faithfulness on light damage.

# %% [markdown]
# The run's record (`course.finish`): its results file and its x2 rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`).
# The zoo's `edsr-x2` already stands in the table above, beside this run's networks.

# %%
edsr_label = f"EDSR ({CONFIG.edsr_features} features, {CONFIG.edsr_blocks} blocks)"
course.finish("06_classic_sr", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(), "x4": x4_means,
    "camera_x4": {"ladder": ladder_scores, "strength_sweep": {f"{strength:g}": rows for strength, rows in sweep.items()},
                  "default_strength": default_strength, "draws": CONFIG.camera_draws},
    "histories": {"espcn": espcn_history, "edsr": edsr_record["history"]},
    "training_seconds": {"espcn": espcn_seconds, "edsr": edsr_record["seconds"]},
    "precision": edsr_record["precision"]},
    summary=course.Summary(
        "classic", f"bicubic x{CONFIG.scale}", valid_targets,
        {"bicubic": valid_bicubic, "ESPCN": methods["ESPCN (this run)"], edsr_label: methods["EDSR (this run)"]},
        crop_border=CONFIG.scale,
        predict={"ESPCN": (upscaler(espcn_model), valid_lowres), edsr_label: (upscaler(edsr_model), valid_lowres)},
        parameters={"ESPCN": sum(p.numel() for p in espcn_model.parameters()), edsr_label: edsr_record["parameters"]},
        training_seconds={"ESPCN": espcn_seconds, edsr_label: edsr_record["seconds"]},
        baseline="bicubic", bicubic_scale=CONFIG.scale),
    checkpoints=checkpoint_dir)
