# %% [markdown]
# # 2. Restoring photos with a U-Net in fastai: the pixel loss
#
# After fast.ai's course-v3 lesson 7: take photographs, "crappify" them (shrink, JPEG-compress
# hard, write a number on them), and train a U-Net to undo the damage. This tutorial uses a plain
# per-pixel loss (mean squared error); tutorial 3 trains the same network with a perceptual loss
# and compares the two.
#
# **This notebook is the whole program**: the data loaders, the `unet_learner` call and lesson
# 7's training schedule are in the cells below. Fast mode (default on a CPU; what the tests run):
# about 2 minutes on a 2-core CPU with native bfloat16 (2.5 in float32), 400 training steps on
# 64-pixel crops of the 9 sample photos; it then scores the zoo's `unet-pixel`, which is
# this notebook's full run, beside its own. The full run is this notebook in full mode,
# `SRLIB_MODE=full python -m srlib.notebooks 02_unet_pixel_loss` (3,500 steps on 96-pixel crops
# of the whole training pool: 25 minutes of training on a 2-core CPU in float32, 15-17 in bfloat16
# on one that computes it natively); it writes
# `results/full/02_unet_pixel_loss.json`, shown at the end.
#
# **The outputs shown** come from the full run: this notebook in full mode on a 2-core x86-64 CPU
# without native bfloat16 (so in float32), 2026-11-30: a rerun, for the new checkpoint cell, of
# the 2026-11-26 run, which was in bfloat16 on a CPU with AVX-512-BF16 (+1.36 dB then, +1.41 now).

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

from srlib import checkpoints, config, data_torch, degrade, evaluation, models_torch, patches, plotting, results, \
    samples, summary, train_torch, zoo
from srlib.callbacks_fastai import BFloat16Training, EpochCheckpoints
from srlib.perceptual import mobilenet_distance, vgg_distance
from srlib.resize import shrink

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
MODE = config.run_mode()               # "fast" or "full": see srlib.config
BUDGETS = {"fast": dict(pool=("samples",), patch_size=64, steps_per_epoch=50, frozen_epochs=2, unfrozen_epochs=6),
           "full": dict(pool=("samples", "wallpapers"), patch_size=96, steps_per_epoch=250, frozen_epochs=2,
                        unfrozen_epochs=12)}
CONFIG = SimpleNamespace(
    degradation="crappify",            # lesson 7's damage (or "bicubic" with scale 2 or 4)
    scale=1,                           # crappify makes its own size; inputs are brought back to full size
    highres_size=192,                  # photos first resized to this shorter side (see "Data")
    batch_size=8,
    fresh_damage=True,                 # crappify every training image again at each epoch (see "Data")
    learning_rate=1e-3,                # lesson 7's; None trains with the finder's suggestion (see "Train")
    self_attention=False,              # lesson 7's option: a self-attention layer in the decoder
    precision="auto",                  # bfloat16 + channels-last where native (srlib.precision)
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
# `srlib.degrade.crappify` follows lesson 7: shorter side to 96 pixels, JPEG at a random quality
# between 10 and 70, and that quality written on the image. Lesson 7 trained on pet photos
# resized to 128 and then 256 pixels; we first resize our photos to a 192-pixel shorter side
# (`CONFIG.highres_size`), so crappifying halves them and damages them, rather than shrinking
# them five times. The U-Net takes the damaged image resized back up (bicubic) and must return
# the original: remove the blocks, the ringing and the text, and restore detail.
#
# **The training pool** (`srlib.samples.load_pool`) is every photograph we may train on offline:
# the 9 sample photos that Python packages ship and, in full mode, 11 photographs from Debian's
# `plasma-workspace-wallpapers` (2560x1600 JPEGs, reduced to 1280x800; `srlib data` fetches the
# package). The five validation photos are never in it. Fast.ai's lesson 7 convinces because its
# model sees thousands of photos; 20 photos are few, but large ones hold many views: 
# `srlib.patches.tile_pyramid` keeps each photo whole at a 192-pixel shorter side, *and* cuts it
# shrunk to 384 and 768 pixels into 192-pixel squares (closer views of the same scene). Each
# small image is crappified once, with its own JPEG quality and number, so the U-Net sees
# hundreds of different damages instead of one per photo; and with `fresh_damage` each one is
# crappified again at every epoch (new JPEG quality, new number, new place), so over a full run
# the U-Net sees thousands.

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
# 2. `srlib.patches.PairedPatches` crappifies each photo once and serves random aligned crops
#    with flips and 90-degree rotations, the input bicubic-upsampled to the target's size
#    (`TorchPairs` turns each pair into CHW tensors);
# 3. a fastai `DataLoader` that moves the crops to a new draw at each epoch (`before_iter`), so
#    every epoch sees new crops, yet a seed gives the same crops every run;
# 4. the whole validation photos, damaged once, for scoring at the end.

# %%
class EpochDataLoader(DataLoader):
    """A fastai DataLoader that draws new crops at the start of every epoch."""
    epoch = -1

    def before_iter(self):
        super().before_iter()
        self.epoch += 1
        self.dataset.pairs.set_epoch(self.epoch)


valid_highres = {name: shrink(image, CONFIG.highres_size) for name, image in valid_images.items()}
train_crops = patches.PairedPatches(train_highres, CONFIG.degradation, scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                                    length=CONFIG.steps_per_epoch * CONFIG.batch_size, upsample_input=True,
                                    seed=CONFIG.seed, fresh_damage=CONFIG.fresh_damage)
valid_crops = patches.PairedPatches(valid_highres, CONFIG.degradation, scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                                    length=2 * CONFIG.batch_size, upsample_input=True, seed=CONFIG.seed + 1)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
train_loader = EpochDataLoader(data_torch.TorchPairs(train_crops), bs=CONFIG.batch_size, shuffle=True, drop_last=True,
                               device=device)
train_loader.rng.seed(CONFIG.seed)  # fastai shuffles with this random.Random
valid_loader = DataLoader(data_torch.TorchPairs(valid_crops), bs=CONFIG.batch_size, device=device)
dls = DataLoaders(train_loader, valid_loader, device=device)
valid_inputs, valid_targets = patches.degrade_photos(valid_highres, CONFIG.degradation, CONFIG.scale, seed=CONFIG.seed)

lowres_batch, highres_batch = dls.train.one_batch()
print("a training batch:", tuple(lowres_batch.shape), "->", tuple(highres_batch.shape))
plotting.show_images({f"input {i}": data_torch.to_image(lowres_batch[i]) for i in range(4)}
                     | {f"target {i}": data_torch.to_image(highres_batch[i]) for i in range(4)},
                     columns=4, size=1.6);

# %% [markdown]
# Tutorials 3 and 4 need the same data, so `srlib.data_torch.paired_data` does these four steps
# in one call. It must give the same batches and the same validation photos:

# %%
settings = dict(degradation=CONFIG.degradation, scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                batch_size=CONFIG.batch_size, steps_per_epoch=CONFIG.steps_per_epoch,
                highres_size=CONFIG.highres_size, seed=CONFIG.seed, device=device, fresh_damage=CONFIG.fresh_damage)
library_dls, library_inputs, library_targets = data_torch.paired_data(train_images, valid_images, **settings)
train_loader.epoch = -1  # draw the first epoch again
train_loader.rng.seed(CONFIG.seed)
ours, theirs = dls.train.one_batch(), library_dls.train.one_batch()
assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
assert all(np.array_equal(valid_inputs[n], library_inputs[n]) for n in valid_inputs)
print("same batches and validation photos; from here on the notebook uses srlib.data_torch.paired_data")
dls, valid_inputs, valid_targets = data_torch.paired_data(train_images, valid_images, **settings)

# %% [markdown]
# ## The learner
#
# fastai's `unet_learner(dls, arch, ...)` cuts a pretrained network at its last downsampling
# stage, uses it as the encoder, and builds the decoder to match, with lesson 7's options:
#
# - `arch`: the encoder. Ours is MobileNetV2 with ImageNet weights read offline from an
#   installed package (`srlib.models_torch.mobilenet_v2_arch`, behind an ImageNet-normalisation
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
# loss in bfloat16 where the CPU or GPU computes it natively (`srlib.callbacks_fastai`).

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
                         norm_type=NormType.Weight, wd=1e-3, path=config.PROJECT_ROOT)
    learn.model = ResidualUnet(learn.model)
    learn.splitter = lambda model: [params(model.unet[0]), params(model.unet[1:])]  # encoder, decoder
    learn.add_cb(BFloat16Training(CONFIG.precision))
    return learn


learn = build_learner(dls, nn.MSELoss())

# %% [markdown]
# The zoo retrains this U-Net and tutorials 3 and 4 reuse it, so the library has it too:
# `srlib.models_torch.unet_learner`. From the same seed it must build the same weights and give
# the same outputs:

# %%
# NBVAL_CHECK_OUTPUT
config.set_seed(CONFIG.seed)
library_learn = models_torch.unet_learner(dls, nn.MSELoss(), self_attention=CONFIG.self_attention,
                                          path=config.PROJECT_ROOT)
assert all(torch.equal(a, b) for a, b in zip(learn.model.state_dict().values(), library_learn.model.state_dict().values()))
with torch.no_grad():
    assert torch.equal(learn.model.eval()(lowres_batch.cpu()), library_learn.model.eval()(lowres_batch.cpu()))
print(f"same weights and outputs; {sum(p.numel() for p in learn.model.parameters()):,} parameters, "
      f"{sum(p.numel() for p in learn.model.unet[0].parameters()):,} of them in the pretrained encoder")
del library_learn

# %% [markdown]
# This notebook trains its own `learn` from here on.
#
# ## Train the fastai way
#
# First the learning-rate finder: train briefly while raising the learning rate from 1e-7
# towards 10, and look where the loss falls fastest (fastai restores the weights afterwards). It
# needs enough iterations to trace the curve (100 here): too low a rate changes nothing (the flat
# start), a working one makes the loss fall, and a rate too high makes it climb again (fastai
# stops there). fastai's `valley` suggestion picks a point inside the longest descent. Lesson 7
# picked `1e-3` by eye from the same kind of plot, and so do we: our U-Net's decoder starts from
# random weights, so the first losses are large and almost any working rate brings them down; the
# descent is long and flat-bottomed, and where along it `valley` lands depends on the 100 random
# batches. In this notebook's runs on 2026-11-26 it suggested between `1.1e-4` and `1.7e-3`; a
# full run trained at the `1.1e-4` it suggested gained 0.95 dB over its input, against 1.45 dB
# for the full run before it, at `1e-3` on the same photos (without `fresh_damage`). One probe of 100 noisy steps is a guide, not a setting:
# `1e-3` lies on the steep part of every curve we recorded. (`CONFIG.learning_rate = None` trains
# with the suggestion instead.)

# %%
suggestion = learn.lr_find(num_it=100)
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
#    rates*: `slice(lr / 100, lr)` gives the encoder's first layers 100 times less than the
#    decoder, since its ImageNet features need only nudging.
#
# A full run trains for a quarter of an hour on a CPU, so each stage keeps a checkpoint:
# `srlib.callbacks_fastai.EpochCheckpoints` saves the whole state after every epoch (weights,
# Adam's moments, the random generators, the loader's position, the recorded losses) in
# `models/checkpoints/`. Interrupt the run (or lose the kernel) and run the notebook again: the
# epochs already done are skipped, their rows printed again, and the run ends with the weights an
# uninterrupted one gives (`tests/test_resume.py` checks it). A checkpoint written with other
# settings is not used, and the notebook deletes its checkpoints once its results are saved.

# %%
checkpoint_dir = config.MODELS_DIR / "checkpoints" / f"02_unet_pixel_loss_{MODE}"
stages = {stage: EpochCheckpoints(checkpoint_dir / f"{stage}.pt", settings=vars(CONFIG)) for stage in ("frozen", "unfrozen")}
learn.freeze()
learn.fit_one_cycle(CONFIG.frozen_epochs, CONFIG.learning_rate, pct_start=0.8, cbs=stages["frozen"])
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
# ## Evaluate against the input
#
# The input itself is the baseline: the crappified photo brought back to full size with bicubic
# interpolation. We report PSNR, SSIM and HFEN (Y channel, 4-pixel border cropped) and a
# perceptual distances (how differently a network pretrained on ImageNet sees the two images;
# lower is better): `srlib.perceptual.vgg_distance` with VGG-16 and `mobilenet_distance` with
# MobileNetV2, averaged over the five validation photos.

# %%
predictions, inference = summary.timed_predictions(lambda image: train_torch.predict_image(learn.model, image),
                                                   valid_inputs)
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": predictions}
table = evaluation.evaluate(valid_targets, methods, crop_border=4,
                            extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))

# %% [markdown]
# ## The zoo's model: this notebook in full mode
#
# The model zoo ships this notebook's full-mode model as `unet-pixel` (`srlib models` lists it;
# `scripts/build_zoo.py` puts a full run there). In fast mode it is scored here on the same inputs
# with the same protocol as the table above, beside this short run; in full mode this run *is*
# that model.

# %%
zoo_predictions = {}
if MODE == "fast":
    zoo_predictions, trained = zoo.beside_run(
        "unet-pixel", valid_inputs,
        f"trained {training['steps']} steps here ({MODE} mode, {training['seconds'] / 60:.1f} min)")
    print(trained)
    with_zoo = evaluation.evaluate(valid_targets, {**methods, "zoo: unet-pixel": zoo_predictions}, crop_border=4,
                                   extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})
    print(with_zoo.to_markdown(baseline=None))
else:
    print(f"full mode: these {training['steps']} steps are the model that the zoo ships as unet-pixel")

# %% [markdown]
# The weights go to `models/unet_pixel_<mode>.safetensors` with this run's settings beside them:
# tutorials 3 and 4 start from them.

# %%
weights = checkpoints.save_weights(learn.model, config.MODELS_DIR / f"unet_pixel_{MODE}.safetensors", {
    "architecture": "fastai DynamicUnet, MobileNetV2 encoder, residual (srlib.models_torch.unet_learner)",
    "loss": "MSE", "scale": CONFIG.scale, "degradation": CONFIG.degradation,
    "input": "degraded image bicubic-upsampled to the output size, RGB in [0, 1]",
    "data": f"srlib.samples.load_pool({CONFIG.pool}) as a tile pyramid", "config": vars(CONFIG), "mode": MODE,
    "notebook": "02_unet_pixel_loss", "training_seconds": training["seconds"], "training_steps": training["steps"], "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(config.PROJECT_ROOT))

# %% [markdown]
# `srlib.summary.record` adds these rows to the collection's results table when the main job
# (`make results`) runs this notebook; otherwise it writes nothing.

# %%
summary.record("unet_pixel", f"{CONFIG.degradation} (x2 + JPEG)", valid_targets, methods,
               {"U-Net, pixel loss": {"parameters": sum(p.numel() for p in learn.model.parameters()),
                                      "training_seconds": training["seconds"], "inference_seconds_per_megapixel": inference},
                "input (bicubic-upsampled)": {"inference_seconds_per_megapixel":
                                              summary.bicubic_seconds_per_megapixel(valid_targets, 2)}},
               crop_border=4, notebook="02_unet_pixel_loss")

# %% [markdown]
# What did it learn to remove? Look at the written numbers, the JPEG blocks and the colour
# bleeding, on photos it never saw:

# %%
boxes = {"coffee": (40, 90, 80), "flower": (56, 94, 64), "monarch": (60, 90, 64)}
rows = {name: {"input": valid_inputs[name], f"U-Net, pixel loss ({MODE} run)": predictions[name],
               **({"zoo: unet-pixel (full run)": zoo_predictions[name]} if MODE == "fast" else {}),
               "original": valid_targets[name]}
        for name in boxes}
plotting.compare_crops(rows, boxes, size=3.0, path=config.figure_path("unet_pixel_crops.png"));

# %% [markdown]
# `srlib.results.save` writes this run's results file, `results/<mode>/02_unet_pixel_loss.json`:

# %%
losses = [float(value) for value in learn.recorder.losses]
saved = results.save("02_unet_pixel_loss", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(baseline=None), "training": training,
    "parameters": sum(p.numel() for p in learn.model.parameters()), "learning_rate_suggestion": float(suggestion.valley),
    "training_loss": losses})
print("written", saved.relative_to(config.PROJECT_ROOT))
checkpoints.clear_states(checkpoint_dir)  # the run is complete: the next one starts afresh

# %% [markdown]
# ## The full run
#
# This notebook in full mode (`SRLIB_MODE=full python -m srlib.notebooks 02_unet_pixel_loss`):

# %%
full = results.load("02_unet_pixel_loss", "full")
print(results.describe(full, "02_unet_pixel_loss"))
if full:
    print(f"{full['training']['steps']} steps of {full['config']['patch_size']}-pixel crops in "
          f"{full['training']['precision']}, {full['training']['seconds'] / 60:.1f} min")
    print(full["markdown"])

# %% [markdown]
# ## Conclusion
#
# The full run's numbers, read from its results file:

# %%
if full:
    means = evaluation.ResultsTable(rows=full["rows"]).mean()
    before, after = means["input (bicubic-upsampled)"], means["U-Net, pixel loss"]
    print(f"- PSNR {after['psnr']:.2f} dB against {before['psnr']:.2f} for the input "
          f"({after['psnr'] - before['psnr']:+.2f} dB)")
    print(f"- SSIM {before['ssim']:.3f} -> {after['ssim']:.3f}, HFEN {before['hfen']:.3f} -> {after['hfen']:.3f}, "
          f"VGG distance {before['vgg']:.3f} -> {after['vgg']:.3f}")
    if "mobilenet" in after:
        print(f"- MobileNetV2 distance {before['mobilenet']:.3f} -> {after['mobilenet']:.3f}")

# %% [markdown]
# In the crops the U-Net starts to take out the JPEG blocks and the written number. What it does
# not do is invent texture: fur and wing scales stay soft, because for a pixel loss the safest
# answer to "which of the many possible textures was here?" is their blurry average. Tutorial 3
# fine-tunes this model with a loss that rewards plausible texture instead.
