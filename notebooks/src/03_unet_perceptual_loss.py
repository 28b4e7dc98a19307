# %% [markdown]
# # 3. The same U-Net with a perceptual loss
#
# Tutorial 2's U-Net learned to remove JPEG blocks and text with a per-pixel loss, but its output is
# smooth where the original had texture. This tutorial fine-tunes it with the *feature loss* of
# Johnson et al. (2016), as fast.ai's lesson 7 did, and measures the trade: pixel-exactness (PSNR,
# SSIM) against how the images *look* to networks that know photographs: VGG-16, the loss's own
# network, and MobileNetV2, which no loss here uses.
#
# **This notebook is the whole program**: the feature loss, its Gram matrices and the fine-tuning
# are in the cells below, starting from tutorial 2's weights. Fast mode (the default on a CPU)
# takes a few minutes and then scores the zoo's `unet-perceptual`, this notebook's full run, beside
# its own. The full run (`SRLIB_MODE=full python -m course.notebooks 03_unet_perceptual_loss`,
# after tutorial 2's) fine-tunes for 2,000 steps on 96-pixel crops of the whole training pool:
# under an hour on a laptop CPU, minutes on a GPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import srlib  # first: it sizes the thread pools and silences known framework warnings

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

import course
from srlib import config, evaluation, plotting, samples
from srlib.torch import checkpoints, data as data_torch, losses as losses_torch, models as models_torch, \
    training as train_torch
from srlib.pretrained import VGG16_LAYER_SCALE
from srlib.resize import upscale_bicubic
from srlib.torch.callbacks import BFloat16Training, EpochCheckpoints
from srlib.torch.perceptual import mobilenet_distance, vgg_distance
from srlib.torch.pretrained import VGG16_RELU_INDEX, caffe_preprocess, vgg16_features

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()               # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(perceptual_epochs=1), "fast": dict(perceptual_epochs=4),  # epochs of tutorial 2's length
           "full": dict(perceptual_epochs=8)}
CONFIG = SimpleNamespace(
    layers=("relu3_3", "relu4_3", "relu5_3"), layer_weights=(5.0, 15.0, 2.0),  # lesson 7's
    gram_weight=500.0,                 # lesson 7: 5e3; see "The feature loss"
    learning_rate=1e-4,                # a tenth of tutorial 2's: see "Fine-tune with the feature loss"
    precision="auto", seed=42, **BUDGETS[MODE])

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Start from tutorial 2's weights
#
# Fine-tuning the pixel-loss U-Net rather than starting from scratch means the feature loss only
# has to add texture; from scratch it would also have to learn colours and shapes, with a loss
# that constrains them loosely. The weights come with tutorial 2's settings (crops, batches,
# degradation), so this notebook uses the same data. If tutorial 2 has not run in this mode,
# `course.ensure` runs its notebook first.

# %%
pixel_weights = course.ensure("02_unet_pixel_loss", course.MODELS_DIR / f"unet_pixel_{MODE}.safetensors")
pixel_model = models_torch.build_unet()
pixel_metadata = checkpoints.load_weights(pixel_model, pixel_weights)
DATA = SimpleNamespace(**pixel_metadata["config"])
print(f"loaded {pixel_weights.name}: {DATA.degradation}, {DATA.patch_size}-pixel crops, "
      f"batches of {DATA.batch_size}, {DATA.steps_per_epoch} steps per epoch")

train_images = samples.load_pool(DATA.pool)
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = data_torch.paired_data(
    train_images, valid_images, DATA.degradation, DATA.scale, DATA.patch_size, DATA.batch_size, DATA.steps_per_epoch,
    DATA.highres_size, DATA.seed, fresh_damage=DATA.fresh_damage)

# %% [markdown]
# ## Why per-pixel losses blur
#
# Super-resolution and restoration are *ill-posed*: many different sharp images shrink to the same
# small one. Faced with that uncertainty, the prediction that minimises the mean squared error is
# the **average** of all plausible answers, and an average of many sharp images with their edges and
# fur in slightly different places is a blurry image. The pixel loss is doing its job; the job is
# the problem.
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
# - L1 between VGG-16 activations at `relu3_3`, `relu4_3` and `relu5_3` (the outputs before the last
#   three max-pools), weighted 5, 15 and 2: the **feature** terms;
# - L1 between the **Gram matrices** of those activations, weighted `gram_weight * w^2`. The Gram
#   matrix of a (C, H, W) activation is the (C, C) matrix of dot products between channels, divided
#   by C H W: which channels fire together, wherever in the image. It keeps the texture's statistics
#   and forgets where things are: Gatys et al.'s "style".
#
# The VGG-16 weights are ImageNet's (Caffe's form: BGR, 0-255, mean removed), read offline. Their
# raw activations differ by orders of magnitude between layers (lesson 7's batch-normalised VGG had
# its layers on one scale), so each layer is multiplied by a calibrated scale
# (`srlib.pretrained.VGG16_LAYER_SCALE`) that brings its L1 on crappified photos to about the pixel
# L1's size. The weights 5, 15 and 2 then mean "this layer counts five times the pixels".

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
# `srlib.torch.losses.FeatureLoss` is the same loss. On a validation batch (the crappified crops,
# taken as if they were a model's output, against their originals), both give the same terms:

# %%
lowres_batch, highres_batch = dls.valid.one_batch()
ours = FeatureLoss(CONFIG.layers, CONFIG.layer_weights, CONFIG.gram_weight)
library = losses_torch.FeatureLoss(CONFIG.layers, CONFIG.layer_weights, gram_weight=CONFIG.gram_weight)
with torch.no_grad():
    total, library_total = ours(lowres_batch, highres_batch), library(lowres_batch, highres_batch)
for name, value in ours.terms.items():
    print(f"{name:>16}: {value.item():.5f} (ours)  {library.terms[name]:.5f} (srlib)")
assert torch.allclose(total, library_total, rtol=1e-5)
del ours

# %% [markdown]
# Read the terms: divided by their weights, the feature terms are 1.2 to 2.3 times the pixel term
# (0.059, 0.078 and 0.110 against 0.048), so the calibration holds on this batch. With its weight of
# 15, `relu4_3` carries more than three quarters of the total (1.17 + 1.87 of 3.90). Lesson 7's Gram
# weight, 5,000, would make the Gram terms more than ten times everything else together; 500
# (`CONFIG.gram_weight`) brings them to the size of the rest:

# %%
for gram_weight in (5e3, CONFIG.gram_weight):
    loss = losses_torch.FeatureLoss(CONFIG.layers, CONFIG.layer_weights, gram_weight=gram_weight)
    with torch.no_grad():
        total = loss(lowres_batch, highres_batch).item()
    gram = sum(value for name, value in loss.terms.items() if name.startswith("gram"))
    print(f"gram_weight {gram_weight:>6g}: total {total:7.3f}, of which Gram terms {gram:7.3f}")

# %% [markdown]
# ## Fine-tune with the feature loss
#
# From here on the notebook uses the library's `FeatureLoss`. The learner is tutorial 2's
# (`srlib.torch.models.unet_learner`), loaded with its weights; `losses_torch.loss_term_metrics`
# reports each of the seven terms as a fastai metric, so we can watch what the network trades.
# Everything trains, with discriminative learning rates as in tutorial 2 (`slice(1e-6, 1e-4)`: the
# pretrained encoder's first layers at the low end, the decoder at the high end), in one cycle of
# `CONFIG.perceptual_epochs` epochs.
#
# The learning rate is a tenth of tutorial 2's because the network is already trained: fine-tuning
# should move it, not restart it.
#
# As in tutorial 2, `EpochCheckpoints` saves the fine-tune after every epoch, so an interrupted run
# resumes when the notebook runs again.

# %%
feature_loss = losses_torch.FeatureLoss(CONFIG.layers, CONFIG.layer_weights, gram_weight=CONFIG.gram_weight)
config.set_seed(CONFIG.seed)
learn = models_torch.unet_learner(dls, feature_loss, metrics=losses_torch.loss_term_metrics(feature_loss),
                                  path=course.PROJECT_ROOT)
learn.add_cb(BFloat16Training(CONFIG.precision))
checkpoints.load_weights(learn.model, pixel_weights)

checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"03_unet_perceptual_loss_{MODE}"
resumable = EpochCheckpoints(checkpoint_dir / "fine_tune.pt", settings={**vars(CONFIG), "data": vars(DATA),
                                                                        "start": checkpoints.digest(pixel_weights)})
learn.unfreeze()
learn.fit_one_cycle(CONFIG.perceptual_epochs, slice(CONFIG.learning_rate / 100, CONFIG.learning_rate), cbs=resumable)
training = {"seconds": resumable.seconds, "steps": CONFIG.perceptual_epochs * DATA.steps_per_epoch,
            "precision": learn.precision}
print(f"{training['steps']} steps in {training['precision']}")

# %% [markdown]
# ## Pixel loss against perceptual loss
#
# The table above (fastai counts the epochs from 0) shows how little the fine-tune moved the
# network: the validation loss went from 3.381 after the first epoch to 3.347 after the eighth, one
# per cent. The pixel term rose (0.0446 to 0.0457) while every feature and Gram term fell, each by
# 3 per cent or less: the trade the loss asks for, but a small one. (The training loss is far
# below the validation loss throughout: the network has fitted the training tiles since tutorial
# 2, and the validation crops are of photos it never saw.)
#
# Now the whole validation photos, with tutorial 2's metrics and two perceptual distances (lower is
# better):
#
# - `srlib.torch.perceptual.vgg_distance`, VGG-16's view. **It is partly circular here**: the loss we
#   trained with is made of VGG-16's activations, so this distance partly scores the model on what
#   it was trained to do.
# - `srlib.torch.perceptual.mobilenet_distance`, the same recipe (LPIPS without learned weights) on
#   MobileNetV2, a network that no loss here uses: the more independent judge. (The U-Net's
#   encoder is a MobileNetV2 too, tutorial 2's, started from the same ImageNet weights and then
#   trained; the judge's weights never change.)

# %%
pixel_predictions = train_torch.predict_images(pixel_model, valid_inputs)
perceptual_predictions = train_torch.predict_images(learn.model, valid_inputs)
table = evaluation.evaluate(valid_targets, {"input (bicubic-upsampled)": valid_inputs,
                                            "U-Net, pixel loss": pixel_predictions,
                                            "U-Net, perceptual loss": perceptual_predictions},
                            crop_border=4, extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))
weights = checkpoints.save_weights(learn.model, course.MODELS_DIR / f"unet_perceptual_{MODE}.safetensors", {
    **pixel_metadata, "loss": "srlib.torch.losses.FeatureLoss", "notebook": "03_unet_perceptual_loss",
    "config": {**pixel_metadata["config"], "perceptual": vars(CONFIG)}, "mode": MODE,
    "training_seconds": pixel_metadata["training_seconds"] + training["seconds"],
    "training_steps": pixel_metadata["training_steps"] + training["steps"], "machine": config.machine_description(),
    "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %%
boxes = {"kodim23": (66, 60, 64), "coffee": (56, 94, 64), "flower": (56, 94, 64)}
rows = {name: {"input": valid_inputs[name], "pixel loss": pixel_predictions[name],
               "perceptual loss": perceptual_predictions[name],
               "original": valid_targets[name]} for name in boxes}
plotting.compare_crops(rows, boxes, size=2.6, path=course.figure_path("unet_perceptual_crops.png"));

# %% [markdown]
# In the crops the two U-Nets are hard to tell apart. Both remove the JPEG blocks and fade the
# written number to a green ghost (the coffee's 40, the flower's 34), and neither brings back the
# parrot's stripes or the petals' edges, which the damage destroyed.
#
# ## A photo larger than anything it trained on
#
# The U-Net is fully convolutional, so a whole photograph goes through it in one piece, at a size it
# never saw in training. Chelsea the cat (a validation photo, 300x451) is enlarged twice with
# bicubic interpolation to 600x902 and handed to both U-Nets (`srlib.torch.training.predict_image` pads
# to a multiple of 32). The input is clean, not crappified: does what the U-Nets learned also
# sharpen a plain enlargement?

# %%
cat = upscale_bicubic(valid_images["chelsea"], 2)
cat_pixel = train_torch.predict_image(pixel_model, cat)
cat_perceptual = train_torch.predict_image(learn.model, cat)
print("input", cat.shape, "-> output", cat_perceptual.shape)
plotting.compare_crops({"chelsea x2": {"bicubic x2": cat, "pixel-loss U-Net": cat_pixel,
                                       "perceptual-loss U-Net": cat_perceptual}},
                       {"chelsea x2": (160, 300, 240)}, size=4.0, path=course.figure_path("unet_cat.png"));

# %% [markdown]
# ## Conclusion
#
# This run's numbers, from the table above:

# %%
means = table.mean()
source, pixel, perceptual = (means[m] for m in ("input (bicubic-upsampled)", "U-Net, pixel loss", "U-Net, perceptual loss"))
print(f"- PSNR and SSIM: pixel loss {pixel['psnr']:.2f} dB and {pixel['ssim']:.3f}, "
      f"perceptual loss {perceptual['psnr']:.2f} dB and {perceptual['ssim']:.3f}")
print(f"- VGG-16 distance (the loss's network): input {source['vgg']:.3f}, pixel loss {pixel['vgg']:.3f}, "
      f"perceptual loss {perceptual['vgg']:.3f}")
print(f"- MobileNetV2 distance (independent): input {source['mobilenet']:.3f}, pixel loss "
      f"{pixel['mobilenet']:.3f}, perceptual loss {perceptual['mobilenet']:.3f}")

# %% [markdown]
# - **PSNR and SSIM prefer the pixel loss** (the first line printed above): by a little more than a
#   tenth of a decibel and less than a hundredth of SSIM, and both U-Nets are well over a decibel ahead of the
#   input (the table above). The feature loss is free to put a texture a pixel away from where it
#   was, and PSNR punishes that.
# - **Only the loss's own network prefers the perceptual loss.** VGG-16 puts the perceptual U-Net a
#   hair ahead (the second line above), which is partly circular: the loss is made of VGG-16's
#   activations. MobileNetV2, which no loss saw and which is the fairer judge, puts the pixel U-Net
#   a hair ahead instead (the third line). Compare both columns before believing that the images
#   *look* more like the originals.
# - **Why so little changed**: in 2,000 steps the validation loss moved by one per cent. From
#   inputs this damaged (a photo halved, JPEG-compressed, a number written on it) the network can
#   change little of what VGG-16's deeper layers see, and what it does change (the Gram terms ask
#   for texture statistics) is not what either judge rewards.
# - **What might help**, untried here: feature terms at the shallower `relu1_2` and `relu2_2`
#   (fine detail), which both distances compare too; keeping the epoch that a validation distance
#   prefers, as tutorial 4 does (this fine-tune is judged only at its end); and
#   lesson 7's setting, the feature loss from the first step on thousands of photos, rather than a
#   fine-tune on twenty.
# - **What the eye sees**: on Chelsea both U-Nets give the fur crisper strands than bicubic; the two
#   U-Nets are hard to tell apart, there and in the crops.
#
# No number settles which is "better": it depends on whether you need faithful pixels (measurement,
# medical images) or a convincing picture (photos for people). Tutorial 4 pushes further towards
# realism with a critic network that learns what "looks real" means.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`);
# in a short run, the zoo's `unet-perceptual` (a full run of this notebook) scored beside this one.

# %%
course.finish("03_unet_perceptual_loss", {
    "config": vars(CONFIG), "data": vars(DATA), "rows": table.rows, "markdown": table.to_markdown(baseline=None),
    "training": training, "pixel_training_seconds": pixel_metadata["training_seconds"],
    "training_loss": [float(value) for value in learn.recorder.losses]},
    summary=course.Summary(
        "unet_perceptual", f"{DATA.degradation} (x2 + JPEG)", valid_targets,
        {"U-Net, perceptual loss": perceptual_predictions}, crop_border=4,
        predict={"U-Net, perceptual loss": (lambda image: train_torch.predict_image(learn.model, image), valid_inputs)},
        parameters={"U-Net, perceptual loss": sum(p.numel() for p in learn.model.parameters())},
        training_seconds={"U-Net, perceptual loss": pixel_metadata["training_seconds"] + training["seconds"]}),
    zoo=course.ZooModel("unet-perceptual", valid_inputs, valid_targets, {"U-Net, perceptual loss": perceptual_predictions},
                        f"fine-tuned {training['steps']} steps here ({MODE} mode, {training['seconds'] / 60:.1f} min)",
                        dict(crop_border=4, extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})),
    checkpoints=checkpoint_dir)
