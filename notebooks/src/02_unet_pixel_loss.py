# %% [markdown]
# # 2. Restoring photos with a U-Net in fastai: the pixel loss
#
# After fast.ai's course-v3 lesson 7: take photographs, "crappify" them (shrink, write a number
# on them, JPEG-compress hard), and train a U-Net to undo the damage. This tutorial uses a plain
# per-pixel loss (mean squared error); tutorial 3 trains the same network with a perceptual loss
# and compares the two.
#
# The data loaders, the `unet_learner` call and lesson 7's training schedule are all in the cells
# below. Fast mode (the default on a CPU, and what the tests run) trains 400 steps, then scores
# the zoo's `unet-pixel` beside its own model (the zoo, `srlib.zoo`, is the set of trained models
# that ships with the library; `unet-pixel` is this notebook's full-mode model): a few minutes on
# a laptop CPU. Full mode (`SRLIB_MODE=full python -m course.notebooks 02_unet_pixel_loss`, 3,500
# steps, the outputs shown) takes about an hour on a laptop CPU and a few minutes on a GPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import srlib  # first: it sizes the thread pools and silences known framework warnings

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

import fastai
import fastai.callback.schedule  # noqa: F401 (adds Learner.lr_find and fit_one_cycle)
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.layers import NormType
from fastai.torch_core import params
from fastai.vision.learner import unet_learner

import course
from srlib import config, degrade, evaluation, patches, plotting, samples
from srlib.resize import shrink
from srlib.torch import checkpoints, data as data_torch, models as models_torch, to_image, training as train_torch
from srlib.torch.callbacks import BFloat16Training, EpochCheckpoints
from srlib.torch.perceptual import mobilenet_distance, vgg_distance

print(f"srlib {srlib.__version__}, fastai {fastai.__version__}, torch {torch.__version__}, "
      f"device: {'cuda' if torch.cuda.is_available() else 'cpu'}")

# %% [markdown]
# ## Parameters
#
# Everything that decides this tutorial's numbers; tutorials 3 and 4 read them back from the
# weights this notebook saves. Fast and full mode differ in the photos (`pool`: fast mode uses
# the 9 sample photos, full mode adds the 11 Debian wallpapers, see "Data"), the crop size and the
# number of steps.

# %% tags=["parameters"]
MODE = config.run_mode()               # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), patch_size=64, steps_per_epoch=3, frozen_epochs=1, unfrozen_epochs=1,
                        finder_steps=10),
           "fast": dict(pool=("samples",), patch_size=64, steps_per_epoch=50, frozen_epochs=2, unfrozen_epochs=6,
                        finder_steps=100),
           "full": dict(pool=("samples", "wallpapers"), patch_size=96, steps_per_epoch=250, frozen_epochs=2,
                        unfrozen_epochs=12, finder_steps=100)}
CONFIG = SimpleNamespace(
    degradation="crappify",            # lesson 7's damage (or "bicubic" with scale 2 or 4)
    scale=1,                           # crappify makes its own size; inputs are brought back to full size
    highres_size=192,                  # photos first resized to this shorter side (see "Data")
    batch_size=8,
    fresh_damage=True,                 # crappify every training image again at each epoch (see "Data")
    learning_rate=1e-3,                # lesson 7's; None trains with the finder's suggestion (see "Train")
    self_attention=False,              # lesson 7's option: a self-attention layer in the decoder
    precision="auto",                  # bfloat16 + channels-last where native (srlib.torch.precision)
    seed=42, **BUDGETS[MODE])

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
# ## Data: crappified photographs
#
# `srlib.degrade.crappify` follows lesson 7: it shrinks the shorter side to 96 pixels (bilinear),
# draws a JPEG quality between 10 and 70, writes that number in white at a random point of the
# top-left quarter, and only then compresses at that quality, so the number is damaged too. We
# first resize our photos to a 192-pixel shorter side (`CONFIG.highres_size`), so crappifying
# halves them (lesson 7 trained on pet photos at 128 and then 256 pixels). The U-Net takes the
# damaged image resized back up (bicubic) and must return the original: remove the blocks, the
# ringing and the text, and restore detail. The cat below, crappified at quality 59, is blotchier
# than a plain bicubic half-size copy, and carries its number.
#
# **The training pool** (`srlib.samples.load_pool`): the 9 sample photos that Python packages
# ship and, in full mode, 11 photographs from Debian's `plasma-workspace-wallpapers` (reduced to
# 1280x800; `srlib data` fetches the package); the five validation photos are never in it. Lesson
# 7's model sees thousands of photos; ours has 20, but large photos hold many views:
# `srlib.patches.tile_pyramid` keeps each whole at a 192-pixel shorter side *and* cuts it, shrunk
# to 384 and 768 pixels, into 192-pixel squares (closer views; some, like the last one shown,
# nearly plain sky): 410 training images. With `fresh_damage` each is crappified again at every
# epoch (new quality, number and place), so a full run's 14 epochs show the U-Net thousands of
# different damages.

# %%
train_images = samples.load_pool(CONFIG.pool)
valid_images = samples.load_split("valid")
train_highres = patches.tile_pyramid(train_images, CONFIG.highres_size)
print(f"{len(train_images)} photos -> {len(train_highres)} training images of {CONFIG.highres_size}-pixel shorter side")
example = "wallpaper_Kite" if "wallpaper_Kite" in train_images else "astronaut"
side = CONFIG.highres_size
plotting.show_images({name: train_highres[name] for name in (f"{example}@{side}", f"{example}@{2 * side}_0_0",
                                                              f"{example}@{4 * side}_1_2") if name in train_highres},
                     size=2.6);

# %%
photo = shrink(valid_images["chelsea"], CONFIG.highres_size)
small, quality = degrade.crappify(photo, seed=3, return_quality=True)
plotting.show_images({f"original ({photo.shape[1]}x{photo.shape[0]})": photo,
                      f"crappified (JPEG quality {quality}, {small.shape[1]}x{small.shape[0]})": small,
                      "classic bicubic x1/2": degrade.bicubic(photo, 2)}, size=3.2);

# %% [markdown]
# ## DataLoaders
#
# fastai trains from a `DataLoaders`: a training and a validation `DataLoader`, each yielding
# `(input, target)` batches on the right device. Ours are built in four steps:
#
# 1. the pool's photos as a tile pyramid of `highres_size` (above), the validation photos
#    shrunk to that shorter side;
# 2. `srlib.patches.PairedPatches` crappifies each image and serves random aligned crops with
#    flips and 90-degree rotations, the input bicubic-upsampled to the target's size
#    (`TorchPairs` turns each pair into CHW tensors);
# 3. a fastai `DataLoader` that moves the crops to a new draw at each epoch (`before_iter`), so
#    every epoch sees new crops, yet a seed gives the same crops every run;
# 4. the whole validation photos, damaged once, for scoring at the end.
#
# In the batch below, some numbers are mirrored or turned: each crop is flipped and rotated
# together with its target. Tutorials 3 and 4 need the same data, so the library has these four
# steps as one call, `srlib.torch.data.paired_data` (the tests check that it gives the same batches).

# %%
class EpochDataLoader(DataLoader):
    """A fastai DataLoader that draws new crops at the start of every epoch."""
    epoch = -1

    def before_iter(self):
        super().before_iter()
        self.epoch += 1
        self.dataset.pairs.set_epoch(self.epoch)


def crappified_data(train_highres: dict, valid_images: dict, device) -> tuple:
    """``(DataLoaders, validation inputs, validation targets)``: the four steps above."""
    valid_highres = {name: shrink(image, CONFIG.highres_size) for name, image in valid_images.items()}
    train_crops = patches.PairedPatches(train_highres, CONFIG.degradation, scale=CONFIG.scale,
                                        patch_size=CONFIG.patch_size, length=CONFIG.steps_per_epoch * CONFIG.batch_size,
                                        upsample_input=True, seed=CONFIG.seed, fresh_damage=CONFIG.fresh_damage)
    valid_crops = patches.PairedPatches(valid_highres, CONFIG.degradation, scale=CONFIG.scale,
                                        patch_size=CONFIG.patch_size, length=2 * CONFIG.batch_size, upsample_input=True,
                                        seed=CONFIG.seed + 1)
    train_loader = EpochDataLoader(data_torch.TorchPairs(train_crops), bs=CONFIG.batch_size, shuffle=True,
                                   drop_last=True, device=device)
    train_loader.rng.seed(CONFIG.seed)  # fastai shuffles with this random.Random
    valid_loader = DataLoader(data_torch.TorchPairs(valid_crops), bs=CONFIG.batch_size, device=device)
    valid_inputs, valid_targets = patches.degrade_photos(valid_highres, CONFIG.degradation, CONFIG.scale,
                                                         seed=CONFIG.seed)
    return DataLoaders(train_loader, valid_loader, device=device), valid_inputs, valid_targets


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
dls, valid_inputs, valid_targets = crappified_data(train_highres, valid_images, device)
lowres_batch, highres_batch = dls.train.one_batch()
print("a training batch:", tuple(lowres_batch.shape), "->", tuple(highres_batch.shape))
plotting.show_images({f"input {i}": to_image(lowres_batch[i]) for i in range(4)}
                     | {f"target {i}": to_image(highres_batch[i]) for i in range(4)},
                     columns=4, size=1.6);

# %% [markdown]
# ## The learner
#
# fastai's `unet_learner(dls, arch, ...)` takes a pretrained network, uses it (cut at `cut`) as
# the encoder, and builds a decoder to match, with lesson 7's options:
#
# - `arch`: the encoder. Ours is MobileNetV2 with ImageNet weights read offline from an
#   installed package (`srlib.torch.models.mobilenet_v2_arch`, behind an ImageNet-normalisation
#   layer, so the model takes RGB in [0, 1]); `cut=-1` keeps all its blocks, `normalize=False`
#   because the normalisation is inside the model. With torchvision's resnet34 weights on your
#   disk, `unet_learner(dls, resnet34, n_out=3)` is lesson 7's exact model.
# - `n_out=3`: an RGB image out;
# - `blur=True`: the decoder's pixel-shuffle upsampling is followed by a one-pixel blur, against
#   checkerboard artefacts;
# - `norm_type=NormType.Weight`: weight normalisation in the decoder;
# - `self_attention`: a self-attention layer in the decoder (off here);
# - `wd=1e-3`: weight decay.
#
# One change from lesson 7: the model is **residual**, `input + unet(input)`, so it starts from
# "return the input unchanged" and only has to learn corrections, which matters in short runs.
# The `splitter` tells fastai which parameters are the encoder (frozen at first) and which the
# decoder, for the two-speed training below. `BFloat16Training` runs the forward pass and the
# loss in bfloat16 where the processor computes it natively (`srlib.torch.callbacks`).

# %%
class ResidualUnet(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, images):
        return images + self.unet(images)


def build_learner(dls, loss_func):
    config.set_seed(CONFIG.seed)  # the decoder's initial weights
    learn = unet_learner(dls, models_torch.mobilenet_v2_arch("offline"), n_out=3, normalize=False, cut=-1,
                         loss_func=loss_func, blur=True, self_attention=CONFIG.self_attention,
                         norm_type=NormType.Weight, wd=1e-3, path=course.PROJECT_ROOT)
    learn.model = ResidualUnet(learn.model)
    learn.splitter = lambda model: [params(model.unet[0]), params(model.unet[1:])]  # encoder, decoder
    learn.add_cb(BFloat16Training(CONFIG.precision))
    return learn


learn = build_learner(dls, nn.MSELoss())
print(f"{sum(p.numel() for p in learn.model.parameters()):,} parameters, "
      f"{sum(p.numel() for p in learn.model.unet[0].parameters()):,} of them in the pretrained encoder")

# %% [markdown]
# The zoo retrains this U-Net and tutorials 3 and 4 reuse it, so the library has it too:
# `srlib.torch.models.unet_learner` builds the same weights from the same seed (the tests check
# it). About three quarters of the 7.9 million parameters are the decoder's, which start from
# random weights; the pretrained encoder holds the other 1.8 million.
#
# ## Train the fastai way
#
# First the learning-rate finder: `lr_find` trains for up to 100 batches while raising the
# learning rate from 1e-7 towards 10, then restores the weights. Too low a rate changes nothing
# (the flat start of the plot), a working one makes the loss fall, too high a rate makes it blow
# up. fastai stops once the smoothed loss passes four times its lowest, and leaves the last five
# points out of the plot: that is why the curve below ends near 2e-2 still falling. The finder
# stopped after about 70 batches, near 5e-2; the climb is in the points left out.
#
# Its `valley` suggestion (the orange dot) is the point halfway along the longest stretch of
# falling loss. fastai leaves the first tenth of the batches out of this search, so here the
# stretch runs from just under 1e-6 to the end of the plot, and the suggestion is 1.1e-4. Where
# that stretch starts depends on the noise of the random batches, so the suggestion moves from run
# to run: a guide, not a setting. Like lesson 7, which picked `1e-3` by eye from the same kind of
# plot, we train at `1e-3`, about nine times the suggestion, still on the steep descent and well
# below the rates that blow up; in a run of fixed length, a rate from early in the descent gets
# less far.
# (`CONFIG.learning_rate = None` trains with the suggestion.)

# %%
suggestion = learn.lr_find(num_it=CONFIG.finder_steps)
if CONFIG.learning_rate is None:
    CONFIG.learning_rate = float(suggestion.valley)
print(f"valley suggestion {suggestion.valley:.2e}; training with learning_rate = {CONFIG.learning_rate:.2e}")

# %% [markdown]
# Then lesson 7's schedule, two stages:
#
# 1. **Frozen**: `learn.freeze()` trains only the new decoder, with the *one-cycle* policy
#    (`fit_one_cycle`: the learning rate warms up to its peak and anneals towards zero, momentum
#    doing the opposite; `pct_start=0.8` spends most of the short run warming up).
# 2. **Unfrozen**: `learn.unfreeze()` lets the encoder train too, with *discriminative learning
#    rates*: `slice(lr / 100, lr)` gives the encoder, the splitter's first group, a learning rate
#    100 times smaller than the decoder's, since its ImageNet features need only nudging.
#
# Each stage keeps a checkpoint: `srlib.torch.callbacks.EpochCheckpoints` saves the whole state
# after every epoch (weights, Adam's moments, the random generators, the loader's position, the
# recorded losses) in `models/checkpoints/`. Run an interrupted notebook again and the epochs
# already done are skipped (their rows printed again), ending with the weights an uninterrupted
# run gives. A checkpoint written with other settings is ignored.

# %%
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"02_unet_pixel_loss_{MODE}"
stages = {stage: EpochCheckpoints(checkpoint_dir / f"{stage}.pt", settings=vars(CONFIG)) for stage in ("frozen", "unfrozen")}
learn.freeze()
learn.fit_one_cycle(CONFIG.frozen_epochs, CONFIG.learning_rate, pct_start=0.8, cbs=stages["frozen"])
frozen_losses = [float(value) for value in learn.recorder.losses]  # the recorder keeps the last fit only
learn.unfreeze()
learn.fit_one_cycle(CONFIG.unfrozen_epochs, slice(CONFIG.learning_rate / 100, CONFIG.learning_rate),
                    cbs=stages["unfrozen"])
training = {"seconds": sum(stage.seconds for stage in stages.values()),
            "steps": (CONFIG.frozen_epochs + CONFIG.unfrozen_epochs) * CONFIG.steps_per_epoch, "precision": learn.precision,
            "learning_rate": CONFIG.learning_rate}
print(f"{training['steps']} steps in {training['precision']}")

# %%
learn.recorder.plot_loss();

# %% [markdown]
# The two tables are the two stages: the training loss falls from 0.0037 to 0.0018, the
# validation loss from 0.0059 to 0.0046. Both fall fastest early and level off over the last
# half of the unfrozen stage, with small bumps (the largest at unfrozen epoch 6). The plot shows
# only the unfrozen stage, since fastai's recorder keeps the last `fit`. The validation loss is
# more than twice the training loss, but that gap is there from the first epoch, and the
# validation loss's small rises are undone within an epoch or two and it ends next to its lowest
# value, so this is not overfitting: it measures other photos (16 crops of the validation photos,
# damaged once), while the training images include easy ones such as plain sky.
#
# ## Evaluate against the input
#
# The input itself is the baseline: the crappified photo brought back to full size with bicubic
# interpolation. We report PSNR (peak signal-to-noise ratio, in decibels: the mean squared error
# on a log scale), SSIM (structural similarity: local agreement of brightness, contrast and
# structure, 1 for identical images) and HFEN (high-frequency error norm: the error after a
# Laplacian-of-Gaussian filter, so only edges and fine detail count, relative to the original's),
# all on the brightness channel Y with a 4-pixel border cropped, and two perceptual distances
# (how differently a network pretrained on ImageNet sees the two images; lower is better): `srlib.torch.perceptual.vgg_distance` with VGG-16 and `mobilenet_distance` with
# MobileNetV2, averaged over the five validation photos.

# %%
predictions = {name: train_torch.predict_image(learn.model, image) for name, image in valid_inputs.items()}
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": predictions}
table = evaluation.evaluate(valid_targets, methods, crop_border=4,
                            extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))

# %% [markdown]
# The weights go to `models/unet_pixel_<mode>.safetensors` with this run's settings beside them:
# tutorials 3 and 4 start from them.

# %%
weights = checkpoints.save_weights(learn.model, course.MODELS_DIR / f"unet_pixel_{MODE}.safetensors", {
    "architecture": "fastai DynamicUnet, MobileNetV2 encoder, residual (srlib.torch.models.unet_learner)",
    "loss": "MSE", "scale": CONFIG.scale, "degradation": CONFIG.degradation,
    "input": "degraded image bicubic-upsampled to the output size, RGB in [0, 1]",
    "data": f"srlib.samples.load_pool({CONFIG.pool}) as a tile pyramid", "config": vars(CONFIG), "mode": MODE,
    "notebook": "02_unet_pixel_loss", "training_seconds": training["seconds"], "training_steps": training["steps"], "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %% [markdown]
# What did it learn to remove? Zoomed crops of three photos it never saw: the damaged input on
# the left, the U-Net's output in the middle and the original on the right:

# %%
boxes = {"coffee": (40, 90, 80), "flower": (56, 94, 64), "monarch": (60, 90, 64)}
rows = {name: {"input": valid_inputs[name], f"U-Net, pixel loss ({MODE} run)": predictions[name],
               "original": valid_targets[name]}
        for name in boxes}
plotting.compare_crops(rows, boxes, size=3.0, path=course.figure_path("unet_pixel_crops.png"));

# %% [markdown]
# ## Conclusion
#
# This run's numbers, from the table above:

# %%
means = table.mean()
before, after = means["input (bicubic-upsampled)"], means["U-Net, pixel loss"]
print(f"- PSNR {after['psnr']:.2f} dB against {before['psnr']:.2f} for the input ({after['psnr'] - before['psnr']:+.2f} dB)")
print(f"- SSIM {before['ssim']:.3f} -> {after['ssim']:.3f}, HFEN {before['hfen']:.3f} -> {after['hfen']:.3f}, "
      f"VGG distance {before['vgg']:.3f} -> {after['vgg']:.3f}, "
      f"MobileNetV2 distance {before['mobilenet']:.3f} -> {after['mobilenet']:.3f}")

# %% [markdown]
# The U-Net beats its input on every metric above: more than a decibel of PSNR, higher SSIM,
# lower HFEN and lower perceptual distances. In the crops the written numbers fade from white to
# a faint grey-green outline, still just legible; elsewhere the picture hardly changes, and the
# dahlia's petals and the butterfly's wing stay as blurred as in the input. A pixel loss does not
# invent texture: its safest answer to "which of the many possible textures was here?" is their
# blurry average. Tutorial 3 fine-tunes this model with a loss that rewards plausible texture
# instead.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`);
# in a short run, the zoo's `unet-pixel` (a full run of this notebook) scored beside this one.
# In full mode, as here, that comparison is skipped, since the zoo's model is such a run.

# %%
parameters = sum(p.numel() for p in learn.model.parameters())
course.finish("02_unet_pixel_loss", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(baseline=None), "training": training,
    "parameters": parameters, "learning_rate_suggestion": float(suggestion.valley),
    "training_loss": frozen_losses + [float(value) for value in learn.recorder.losses]},
    summary=course.Summary("unet_pixel", f"{CONFIG.degradation} (x2 + JPEG)", valid_targets, methods, crop_border=4,
                           predict={"U-Net, pixel loss": (lambda image: train_torch.predict_image(learn.model, image),
                                                          valid_inputs)},
                           parameters={"U-Net, pixel loss": parameters},
                           training_seconds={"U-Net, pixel loss": training["seconds"]},
                           baseline="input (bicubic-upsampled)", bicubic_scale=2),
    zoo=course.ZooModel("unet-pixel", valid_inputs, valid_targets, methods,
                        f"trained {training['steps']} steps here ({MODE} mode, {training['seconds'] / 60:.1f} min)",
                        dict(crop_border=4, extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})),
    checkpoints=checkpoint_dir)
