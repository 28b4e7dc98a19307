# %% [markdown]
# # 3. The same U-Net with a perceptual loss
#
# Tutorial 2's U-Net learned its task with a per-pixel loss, and its output is smooth where the
# original had texture. This tutorial gives it a task where that shows, a **4x enlargement**: the
# photos are shrunk to a quarter of their size, so that fine texture (fur, feathers, grain) is gone
# from the input and whatever comes back is the network's guess. We fine-tune tutorial 2's U-Net
# on it twice, for the same number of steps: once with the pixel loss, the reference, and once with
# the *feature loss* of Johnson et al. (2016), as lesson 7 of fast.ai's course (Practical Deep
# Learning for Coders, 2019) did. Then we measure the
# trade: pixel-exactness (PSNR) against how much fine detail each output has and how it looks to a
# network that knows photographs and that no loss here uses.
#
# **This notebook is the whole program**: the feature loss, its Gram matrices and both fine-tunes
# are in the cells below. Fast mode (the default on a CPU) fine-tunes for one epoch of each loss
# and then scores the zoo's `unet-perceptual` (the trained models that ship with the library are
# its *zoo*; this one is this notebook's full run) beside its own. The full
# run (`SRLIB_MODE=full python -m course.notebooks 03_unet_perceptual_loss`) fine-tunes for 2,000
# steps with each loss: a little over twenty minutes of training on a laptop CPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import srlib  # first: it sizes the thread pools and silences known framework warnings

import json
from functools import partial
from types import SimpleNamespace

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import course
from srlib import config, evaluation, metrics, plotting, samples, zoo
from srlib.torch import checkpoints, data as data_torch, losses as losses_torch, models as models_torch, \
    training as train_torch
from srlib.pretrained import VGG16_LAYER_SCALE
from srlib.torch.callbacks import BFloat16Training, EpochCheckpoints
from srlib.torch.perceptual import mobilenet_distance, vgg_distance
from srlib.torch.pretrained import VGG16_RELU_INDEX, caffe_preprocess, vgg16_features

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()               # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), steps_per_epoch=3, epochs=1),    # each fine-tune: epochs of
           "fast": dict(pool=("samples", "wallpapers"), steps_per_epoch=250, epochs=1),  # steps_per_epoch
           "full": dict(pool=("samples", "wallpapers"), steps_per_epoch=250, epochs=8)}
BUDGET = BUDGETS[MODE]
DATA = SimpleNamespace(
    degradation="bicubic", scale=4,    # shrink 4x with bicubic interpolation; the input is enlarged back
    highres_size=384,                  # photos shrunk to this shorter side first: inputs of 96 pixels
    patch_size=96, batch_size=8,       # tutorial 2's crops and batches
    steps_per_epoch=BUDGET["steps_per_epoch"], pool=BUDGET["pool"], fresh_damage=True, seed=42)
CONFIG = SimpleNamespace(
    layers=("relu2_2", "relu3_3", "relu4_3", "relu5_3"),  # lesson 7's three, and relu2_2: see "The probes"
    layer_weights=(2.0, 5.0, 15.0, 2.0),
    gram_weight=500.0,                 # lesson 7: 5e3; see "The probes"
    learning_rate=1e-3,                # both fine-tunes': see "The probes"
    epochs=BUDGET["epochs"], precision="auto", seed=42)

config.set_seed(CONFIG.seed)
print(MODE, DATA, CONFIG, sep="\n")

# %% [markdown]
# ## A harder task: four times smaller
#
# Tutorial 2 halved photos and damaged them with JPEG and written numbers. Here each photo is first
# shrunk to a 384-pixel shorter side (the training photos are cut into a pyramid of such tiles, as
# in tutorial 2), then to a quarter of that with bicubic interpolation, and enlarged back with
# bicubic interpolation: the U-Net takes a blurred image of the original's size and returns a
# sharper one. Of every 16 pixels of the original, the input keeps the information of one. The
# network is tutorial 2's, trained on its own task; it does not know this one yet.

# %%
train_images = samples.load_pool(DATA.pool)
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = data_torch.paired_data(
    train_images, valid_images, DATA.degradation, DATA.scale, DATA.patch_size, DATA.batch_size, DATA.steps_per_epoch,
    DATA.highres_size, DATA.seed, fresh_damage=DATA.fresh_damage)
print(f"{len(valid_targets)} validation photos, e.g. kodim23 {valid_targets['kodim23'].shape[:2]}; "
      f"training batches of {DATA.batch_size} crops of {DATA.patch_size} pixels, {DATA.steps_per_epoch} per epoch")

start_path = zoo.model_path("unet-pixel")  # tutorial 2's full run, shipped in the zoo
start_metadata = checkpoints.load_metadata(start_path)
print(f"start: tutorial 2's U-Net, {start_metadata['training']['steps']:,} steps with the pixel loss "
      f"on {start_metadata['degradation']['name']} data")

# %% [markdown]
# ## Why per-pixel losses blur
#
# Super-resolution is *ill-posed*: many different sharp images shrink to the same small one. Faced
# with that uncertainty, the prediction that minimises the mean squared error is the **average** of
# all plausible answers, and an average of many sharp images with their edges and fur in slightly
# different places is a blurry image. The pixel loss is doing its job; the job is the problem. The
# more the input has lost, the more answers there are, and the blurrier their average: at 4x far
# more than in tutorial 2.
#
# ## The feature (perceptual) loss
#
# Johnson et al. compare images not pixel by pixel but through a network pretrained on ImageNet: two
# images are close if VGG-16's activations for them are close. Those activations respond to edges,
# textures and object parts, and are tolerant of a texture being shifted a pixel, so the network is
# rewarded for *a* plausible texture rather than the average of all of them. Lesson 7's recipe has
# three kinds of term:
#
# - an L1 **pixel** term, to keep colours and layout;
# - L1 between VGG-16 activations at chosen layers, each with its weight: the **feature** terms.
#   Lesson 7 took `relu3_3`, `relu4_3` and `relu5_3` (the outputs before the last three
#   max-pools), weighted 5, 15 and 2; we add the shallower `relu2_2` at 2 (see "The probes");
# - L1 between the **Gram matrices** of those activations, weighted `gram_weight * w^2` for a
#   layer of weight `w`. The Gram matrix of a (C, H, W) activation is the (C, C) matrix of dot
#   products between channels, divided by C H W: which channels fire together, wherever in the
#   image. It keeps the texture's statistics and forgets where things are: Gatys et al.'s "style".
#
# The VGG-16 weights are ImageNet's (Caffe's form: BGR, 0-255, mean removed), read offline. Their
# raw activations differ by orders of magnitude between layers (lesson 7's batch-normalised VGG had
# its layers on one scale), so each layer is multiplied by a calibrated scale
# (`srlib.pretrained.VGG16_LAYER_SCALE`) that brings its L1 on damaged photos to about the pixel
# L1's size. A layer's weight then means "this layer counts so many times the pixels".

# %%
def gram_matrix(features):
    """(N, C, H, W) activations -> (N, C, C): channel co-activations, averaged over positions."""
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (channels * height * width)


class FeatureLoss(nn.Module):
    def __init__(self, layers, layer_weights, gram_weight):
        super().__init__()
        self.layers, self.layer_weights, self.gram_weight = layers, layer_weights, gram_weight
        self.indices = [VGG16_RELU_INDEX[layer] for layer in layers]      # positions in vgg16.features
        self.scales = [VGG16_LAYER_SCALE[layer] for layer in layers]
        self.vgg = vgg16_features("offline")[: max(self.indices) + 1]    # frozen, eval mode

    def features(self, images):
        outputs, x = [], caffe_preprocess(images)
        for index, layer in enumerate(self.vgg):
            x = layer(x)
            if index in self.indices:
                outputs.append(x * self.scales[self.indices.index(index)])
        return outputs

    def forward(self, prediction, target):
        with torch.no_grad():
            target_features = self.features(target)
        prediction_features = self.features(prediction)
        self.terms = {"pixel": F.l1_loss(prediction, target)}
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            self.terms[f"feature_{layer}"] = weight * F.l1_loss(p, t)
        for layer, weight, p, t in zip(self.layers, self.layer_weights, prediction_features, target_features):
            self.terms[f"gram_{layer}"] = self.gram_weight * weight**2 * F.l1_loss(gram_matrix(p), gram_matrix(t))
        return sum(self.terms.values())

# %% [markdown]
# `srlib.torch.losses.FeatureLoss` is the same loss. On a validation batch (the bicubic inputs,
# taken as if they were a model's output, against their originals), both give the same terms:

# %%
lowres_batch, highres_batch = dls.valid.one_batch()
ours = FeatureLoss(CONFIG.layers, CONFIG.layer_weights, CONFIG.gram_weight)
library = losses_torch.FeatureLoss(CONFIG.layers, CONFIG.layer_weights, gram_weight=CONFIG.gram_weight)
with torch.no_grad():
    total, library_total = ours(lowres_batch, highres_batch), library(lowres_batch, highres_batch)
for name, value in ours.terms.items():
    print(f"{name:>16}: {value.item():.5f} (ours)  {library.terms[name]:.5f} (srlib)")
print(f"{'total':>16}: {total.item():.5f}")
assert torch.allclose(total, library_total, rtol=1e-5)
del ours

# %% [markdown]
# Read the terms: divided by their weights, the feature terms are 1.1 to 2.4 times the pixel term
# (0.041, 0.046, 0.059 and 0.092 against 0.038), so the calibration holds on this batch. With its
# weight of 15, `relu4_3` carries most of the total (0.88 + 1.23 of 2.94). At `CONFIG.gram_weight`,
# 500, the Gram terms are about half of the total; lesson 7's 5,000 would make them more than ten
# times everything else together, and the probes below show what that costs.

# %% [markdown]
# ## The probes
#
# Which layers, which weights? Short probes decided (`benchmarks/texture_probes.py`; the cell
# below reads its results files). Each fine-tunes the zoo's `unet-pixel` on this task for 150 or
# 1,000 steps with one recipe and scores it on the validation photos, with PSNR and two measures
# that no loss here optimises:
#
# - the **high-frequency ratio**: the output's energy between a quarter and a half cycle per pixel
#   (the finest detail an image can hold, what interpolation loses first) over the original's, from
#   their power spectra (`srlib.metrics.high_frequency_ratio`; tutorial 7 derives it). 1 is as much
#   fine detail as the photo; a blurred image is far below;
# - the **MobileNetV2 distance** (`srlib.torch.perceptual.mobilenet_distance`, lower is closer):
#   how different the output and the original look to MobileNetV2, an ImageNet network that no
#   loss here uses (LPIPS's recipe without its learned weights).

# %%
probe_files = {150: "texture_probes_x4_384.json", 1000: "texture_probes_x4_384_1000.json"}
print(f"{'probe':36} {'steps':>5} {'layers (weights)':62} {'Gram':>5} {'rate':>6} {'PSNR':>6} {'high-freq':>9} "
      f"{'MobileNetV2':>11}")
for steps, name in probe_files.items():
    for probe, row in json.loads((course.PROJECT_ROOT / "results" / "probes" / name).read_text())["probes"].items():
        kind = row["settings"]
        if kind["method"] not in ("pixel", "perceptual"):
            continue  # tutorial 4 reads the GAN probes
        layers = "pixels (MSE)" if kind["method"] == "pixel" else " ".join(
            f"{layer}({weight:g})" for layer, weight in zip(kind["layers"], kind["layer_weights"]))
        if kind.get("feature_scale", 1.0) != 1.0:
            layers += f", features x{kind['feature_scale']:g}"  # the feature terms only; the Gram terms as listed
        gram = f"{kind['gram_weight']:g}" if kind["method"] == "perceptual" else "-"
        print(f"{probe:36} {kind['steps']:5} {layers:62} {gram:>5} {kind['learning_rate']:6g} {row['psnr']:6.2f} "
              f"{row['high_frequency_ratio']:9.3f} {row['mobilenet']:11.3f}")

# %% [markdown]
# Read the table in three steps.
#
# - **Which layers** (the first block, 150 steps, Gram 5,000). Lesson 7's three layers improve
#   MobileNetV2's verdict over the pixel probe (0.462 against 0.482) but add hardly any fine detail
#   (0.063 against 0.058): `relu3_3` and deeper describe structures larger than the finest band.
#   `relu2_2` adds more detail the heavier it weighs: 0.066, 0.082 and 0.094 at 0.5, 1 and 2.
# - **A fair reference** (the second block, 1,000 steps). With `relu2_2` at 2 the feature loss has
#   almost four times the pixel probe's fine detail (0.250 against 0.066). But the pixel loss, too,
#   does better at the higher rate: at 1e-3 rather than 1e-4 it reaches 30.60 dB and 0.448, ahead of
#   the feature loss on MobileNetV2 (0.461). So both fine-tunes below run at 1e-3.
# - **The dial** is the Gram weight. At 500 rather than 5,000 the feature loss keeps 0.191 (2.9
#   times the pixel loss's detail) and ties the pixel loss on MobileNetV2 (0.447 against 0.448),
#   0.37 dB behind on PSNR. Feature terms three times heavier change nothing (0.246 and 0.461). We
#   take Gram 500, with `relu2_2` at 2.

# %% [markdown]
# ## Fine-tune, twice
#
# Both fine-tunes use the same function: tutorial 2's learner (`srlib.torch.models.unet_learner`)
# with the given loss, loaded with tutorial 2's weights, everything trainable, one cycle of
# `CONFIG.epochs` epochs with discriminative learning rates (`slice(rate / 100, rate)`: the
# pretrained encoder's first layers at the low end, the decoder at the high end), in bfloat16
# where the processor computes it natively. `EpochCheckpoints` saves each fine-tune after every
# epoch, so an interrupted run resumes when the notebook runs again.
#
# The pixel reference keeps tutorial 2's loss, the mean squared error (the feature loss's own pixel
# term is L1, lesson 7's choice; either way the reference is a network taught only to match
# pixels). Both run at the same rate, the one the pixel probes favoured (the feature loss's probes
# all ran at it). `losses_torch.loss_term_metrics` reports
# each of the feature loss's nine terms as a fastai metric, so we can watch what the network
# trades.

# %%
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"03_unet_perceptual_loss_{MODE}"


def fine_tune(name, loss, metrics=None):
    """Tutorial 2's U-Net fine-tuned on this task with `loss`; returns (learner, seconds, steps)."""
    learning_rate = CONFIG.learning_rate
    config.set_seed(CONFIG.seed)
    learn = models_torch.unet_learner(dls, loss, metrics=metrics, path=course.PROJECT_ROOT)
    learn.add_cb(BFloat16Training(CONFIG.precision))
    checkpoints.load_weights(learn.model, start_path)
    resumable = EpochCheckpoints(checkpoint_dir / f"{name}.pt", settings={
        **vars(CONFIG), "data": vars(DATA), "start": checkpoints.digest(start_path), "loss": name})
    learn.unfreeze()
    learn.fit_one_cycle(CONFIG.epochs, slice(learning_rate / 100, learning_rate), cbs=resumable)
    return learn, resumable.seconds, CONFIG.epochs * DATA.steps_per_epoch


pixel_learn, pixel_seconds, steps = fine_tune("pixel", nn.MSELoss())

# %%
feature_loss = losses_torch.FeatureLoss(CONFIG.layers, CONFIG.layer_weights, gram_weight=CONFIG.gram_weight)
learn, perceptual_seconds, steps = fine_tune("perceptual", feature_loss,
                                             metrics=losses_torch.loss_term_metrics(feature_loss))
print(f"{steps} steps each in {learn.precision}: pixel loss {pixel_seconds / 60:.1f} min, "
      f"feature loss {perceptual_seconds / 60:.1f} min")

# %% [markdown]
# Both validation losses fall almost throughout the cycle: the pixel loss's from 0.00298 to 0.00273,
# the feature loss's from 2.240 to 2.056, eight per cent. Read the feature loss's columns to see
# what it traded: the pixel term hardly moved (0.0299 to 0.0295), the feature terms fell by 5 to 8
# per cent, and the Gram terms of the shallow layers fell most (`relu2_2` from 0.0338 to 0.0241,
# `relu3_3` from 0.123 to 0.093): the network learned the texture statistics it was asked for.
#
# ## Pixel loss against perceptual loss
#
# Now the whole validation photos, with tutorial 2's metrics, the high-frequency ratio and two
# perceptual distances (lower is better):
#
# - `srlib.torch.perceptual.vgg_distance`, VGG-16's view. **It is partly circular here**: the loss we
#   trained with is made of VGG-16's activations, so this distance partly scores the model on what
#   it was trained to do.
# - the MobileNetV2 distance, the more independent judge. (The U-Net's encoder is a MobileNetV2 too,
#   tutorial 2's, started from the same ImageNet weights and then trained; the judge's weights never
#   change.)

# %%
high_frequency = partial(metrics.high_frequency_ratio, band=(0.25, 0.5))
pixel_predictions = train_torch.predict_images(pixel_learn.model, valid_inputs)
perceptual_predictions = train_torch.predict_images(learn.model, valid_inputs)
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": pixel_predictions,
           "U-Net, perceptual loss": perceptual_predictions}
table = evaluation.evaluate(valid_targets, methods, crop_border=4, extra_metrics={
    "high_frequency": high_frequency, "vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))

# %% [markdown]
# Read the columns one at a time:
#
# - **PSNR**: both U-Nets are well ahead of their input (30.70 and 30.21 dB against 29.35), and the
#   pixel loss is ahead of the feature loss by half a decibel, as it is on SSIM and HFEN. The feature
#   loss is free to put a texture a pixel away from where it was, and PSNR punishes that.
# - **high-frequency ratio**: the input has nothing in the finest band (0.0004: an image a quarter
#   the size cannot hold it), the pixel loss brings back 0.063 of the originals' energy there, the
#   feature loss 0.252, four times as much.
# - **the two judges disagree**. VGG-16 puts the perceptual U-Net ahead (0.263 against 0.292),
#   which is partly circular. MobileNetV2 puts the pixel U-Net ahead (0.442 against 0.455). With
#   twice the probes' steps, the feature loss put in more fine detail than in its probe (0.252
#   against 0.191) and moved away from the originals in MobileNetV2's eyes (0.455 against 0.447),
#   while the pixel loss came closer (0.442 against 0.448).
#
# Where in the spectrum does the difference lie? The radially averaged power spectrum
# (`srlib.metrics.radial_power_spectrum`) gives each image's energy at each spatial frequency, from
# broad shapes (left) to the finest detail (right, half a cycle per pixel); averaged over the
# validation photos and divided by the originals', a curve at 1 has as much energy at that
# frequency as the photos.

# %%
def mean_spectrum(images):
    spectra = [metrics.radial_power_spectrum(image, crop_border=4)[1] for image in images.values()]
    return sum(spectra) / len(spectra)


frequencies, _ = metrics.radial_power_spectrum(valid_targets["kodim23"], crop_border=4)
original_spectrum = mean_spectrum(valid_targets)
figure, axis = plt.subplots(figsize=(6, 3.5))
for label, images in methods.items():
    axis.semilogy(frequencies, mean_spectrum(images) / original_spectrum, label=label)
axis.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="originals")
axis.axvspan(0.25, 0.5, color="grey", alpha=0.15, label="high-frequency band")
axis.set(xlabel="spatial frequency (cycles per pixel)", ylabel="power / originals' power", ylim=(1e-3, 3))
axis.legend(fontsize=8)
plotting.save(figure, course.figure_path("unet_perceptual_spectra.png"));

# %% [markdown]
# All three curves follow the originals up to about a tenth of a cycle per pixel. Then the input
# collapses (past an eighth of a cycle a quarter-size image holds little), the pixel U-Net's curve
# falls steadily, to about a hundredth of the originals' power at the right edge, and the perceptual
# U-Net's stays between a fifth and a third of it through the first half of the grey band before
# it falls, three to five times the pixel U-Net's curve across the band.
#
# And what the eye sees, in zoomed crops (nearest-neighbour enlargement, so every pixel is the
# model's own; each title gives the crop's PSNR against the original):

# %%
boxes = {"chelsea": (20, 170, 96), "kodim23": (140, 130, 96), "flower": (120, 230, 96)}  # (top, left, size): fur, feathers, petals
rows = {name: {"input": valid_inputs[name], "pixel loss": pixel_predictions[name],
               "perceptual loss": perceptual_predictions[name],
               "original": valid_targets[name]} for name in boxes}
plotting.compare_crops(rows, boxes, size=2.8, path=course.figure_path("unet_perceptual_crops.png"),
                       reference="original");

# %% [markdown]
# The difference is clearest on Chelsea's fur: the pixel loss leaves smooth brown patches, the
# feature loss gives them a fine, streaky grain. It is not the original's pattern of strands, and
# the crop's PSNR in its title says so, below the pixel loss's and even the input's: a plausible
# texture, not the true one. On the parrot neither U-Net brings back the black stripes of its face, which the
# quarter-size input no longer holds; the feature loss gives the white cheek and the green a finer
# grain. The dahlia's petals have crisper edges with the feature loss, again at a lower PSNR.
#
# ## Conclusion
#
# This run's numbers, from the table above:

# %%
means = table.mean()
source, pixel, perceptual = (means[m] for m in ("input (bicubic-upsampled)", "U-Net, pixel loss", "U-Net, perceptual loss"))
print(f"- PSNR: input {source['psnr']:.2f} dB, pixel loss {pixel['psnr']:.2f} dB, perceptual loss "
      f"{perceptual['psnr']:.2f} dB ({perceptual['psnr'] - pixel['psnr']:+.2f} dB)")
print(f"- high-frequency ratio: input {source['high_frequency']:.3f}, pixel loss {pixel['high_frequency']:.3f}, "
      f"perceptual loss {perceptual['high_frequency']:.3f} ({perceptual['high_frequency'] / pixel['high_frequency']:.1f} "
      f"times the pixel loss's)")
print(f"- VGG-16 distance (the loss's network): input {source['vgg']:.3f}, pixel loss {pixel['vgg']:.3f}, "
      f"perceptual loss {perceptual['vgg']:.3f}")
print(f"- MobileNetV2 distance (independent): input {source['mobilenet']:.3f}, pixel loss "
      f"{pixel['mobilenet']:.3f}, perceptual loss {perceptual['mobilenet']:.3f}")

# %% [markdown]
# - **The feature loss puts fine detail back** where the pixel loss averages it away: several
#   times the pixel loss's energy in the finest band (the second line above), visible in the
#   spectra and at a glance in the fur.
# - **It pays in PSNR**, about half a decibel here (the first line): invented detail that is not
#   where the original's was counts as error, pixel by pixel.
# - **Whether it looks closer depends on who looks.** VGG-16, the loss's own network, prefers the
#   perceptual U-Net; MobileNetV2, which no loss used, prefers the pixel U-Net (the last two
#   lines). The probes show the Gram weight as the dial between fine detail and MobileNetV2's
#   verdict: lighter, closer to the pixel loss on every measure; heavier, more texture and further
#   from the originals for MobileNetV2. No weight we tried gave more fine detail than the pixel
#   loss and a closer MobileNetV2 distance after the full fine-tune; the lighter one only tied it
#   in the shorter probes.
# - **Detail made is not detail recovered.** Where the input has lost a structure (the parrot's
#   stripes), no loss brings it back; what a perceptual loss adds is texture of the right kind, in
#   roughly the right places.
#
# No number settles which is "better": it depends on whether you need faithful pixels (measurement,
# medical images) or a convincing picture (photos for people). Tutorial 4 pushes further towards
# realism with a critic network that learns what "looks real" means.

# %% [markdown]
# The run's record (`course.finish`): both models' weights, its results file and its rows of the
# table of every tutorial's methods that `make results` writes (`results/summary.md`); in a short
# run, the zoo's `unet-perceptual` (a full run of this notebook) scored beside this one.

# %%
def save_model(learn, name, loss, seconds, validation):
    return checkpoints.save_weights(learn.model, course.MODELS_DIR / f"{name}_{MODE}.safetensors", {
        "notebook": "03_unet_perceptual_loss", "mode": MODE, "loss": loss, "data": start_metadata["data"],
        "start": f"zoo unet-pixel {checkpoints.digest(start_path)}",
        "config": {**vars(DATA), "perceptual": vars(CONFIG)}, "machine": config.machine_description(),
        "training_seconds": start_metadata["training"]["seconds"] + seconds,
        "training_steps": start_metadata["training"]["steps"] + steps, "validation": validation})


save_model(pixel_learn, "unet_pixel_x4", "torch.nn.MSELoss", pixel_seconds, means["U-Net, pixel loss"])
save_model(learn, "unet_perceptual", "srlib.torch.losses.FeatureLoss", perceptual_seconds,
           means["U-Net, perceptual loss"])
course.finish("03_unet_perceptual_loss", {
    "config": vars(CONFIG), "data": vars(DATA), "rows": table.rows, "markdown": table.to_markdown(baseline=None),
    "training": {"steps": steps, "precision": learn.precision,
                 "seconds": {"pixel": pixel_seconds, "perceptual": perceptual_seconds}},
    "training_loss": {"pixel": [float(value) for value in pixel_learn.recorder.losses],
                      "perceptual": [float(value) for value in learn.recorder.losses]}},
    summary=course.Summary(
        "unet_perceptual", f"{DATA.degradation} x{DATA.scale}", valid_targets,
        {"U-Net, pixel loss (x4 fine-tune)": pixel_predictions, "U-Net, perceptual loss": perceptual_predictions},
        crop_border=4,
        predict={"U-Net, perceptual loss": (lambda image: train_torch.predict_image(learn.model, image), valid_inputs)},
        parameters={"U-Net, perceptual loss": sum(p.numel() for p in learn.model.parameters())},
        training_seconds={"U-Net, pixel loss (x4 fine-tune)": start_metadata["training"]["seconds"] + pixel_seconds,
                          "U-Net, perceptual loss": start_metadata["training"]["seconds"] + perceptual_seconds}),
    zoo=course.ZooModel("unet-perceptual", valid_inputs, valid_targets, {"U-Net, perceptual loss": perceptual_predictions},
                        f"fine-tuned {steps} steps here ({MODE} mode, {perceptual_seconds / 60:.1f} min)",
                        dict(crop_border=4, extra_metrics={"high_frequency": high_frequency,
                                                           "mobilenet": mobilenet_distance}),
                        task={"degradation": DATA.degradation, "scale": DATA.scale}),
    checkpoints=checkpoint_dir)
