# %% [markdown]
# # 4. A GAN: the U-Net against a critic
#
# Tutorial 3 replaced "match the pixels" with "match what VGG-16 sees", and on its 4x enlargement the
# U-Net put fine texture back. A **generative adversarial network** (GAN; Goodfellow et al., 2014)
# goes one step further: instead of a fixed measure of "looks like a photo", it *learns* one. Two
# networks play a zero-sum game:
#
# - the **generator** (our U-Net) turns a damaged image into a restored one;
# - the **critic** (or discriminator) sees restored images and real photographs and learns to tell
#   them apart.
#
# The generator is rewarded for fooling the critic, the critic for not being fooled; as one gets
# better the other must too. SRGAN (Ledig et al., 2017) and ESRGAN (Wang et al., 2018) produced
# sharp, textured super-resolution that people prefer, with *lower* PSNR than a network trained on
# pixels alone: a critic rewards plausible detail, and plausible detail is rarely the exact detail
# that was lost (Blau and Michaeli, 2018, prove that the two goals conflict).
#
# GANs are also notoriously unstable: two networks chasing each other may oscillate or collapse.
# fast.ai's answer, which this tutorial follows, is **NoGAN**: pretrain both players separately,
# then let them play only briefly. Our generator is pretrained twice over: it is tutorial 3's
# perceptual U-Net, and in the game its loss keeps tutorial 3's feature loss beside the critic's
# verdict, as SRGAN and ESRGAN do.
#
# **This notebook is the whole program**: the critic, the NoGAN wiring (`GANLearner`, the switcher,
# both losses) and the record of the game are in the cells below, on tutorial 3's task (4x
# enlargement). Fast mode (the default on a CPU) plays one epoch and then scores the zoo's `gan`,
# this notebook's full run, beside its own. The full run (`SRLIB_MODE=full python -m course.notebooks
# 04_gan`, after tutorial 3 in full mode) pretrains a wider critic on 3,200 crops and plays 1,000
# turns of the game: about ten minutes of training on a laptop CPU, minutes on a GPU.

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
import numpy as np
import torch
from torch import nn

from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import Adam
from fastai.vision.gan import AdaptiveGANSwitcher, AdaptiveLoss, GANLearner, GANTrainer, accuracy_thresh_expand

import course
from srlib import config, evaluation, metrics, plotting, samples
from srlib.torch import checkpoints, data as data_torch, losses as losses_torch, models as models_torch, \
    training as train_torch
from srlib.torch.callbacks import BFloat16Training, EpochCheckpoints
from srlib.torch.perceptual import mobilenet_distance, vgg_distance

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()              # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(critic_features=8, critic_batches=2, critic_epochs=1, gan_epochs=1),
           "fast": dict(critic_features=32, critic_batches=60, critic_epochs=12, gan_epochs=1),
           "full": dict(critic_features=64, critic_batches=200, critic_epochs=10, gan_epochs=4)}
CONFIG = SimpleNamespace(
    critic_batch_size=16,
    # Adam with beta1 = 0.5 and a constant 2e-4 for the critic's pretraining: DCGAN's settings for
    # a discriminator (Radford et al., 2016), steadier than a one-cycle schedule's large peak rate
    critic_learning_rate=2e-4, critic_beta1=0.5,
    gan_learning_rate=1e-4,
    content_weight=6.5,               # weights_gen = (1, 6.5): adversarial 1, tutorial 3's feature loss 6.5 (see Step 4)
    critic_threshold=0.65,            # AdaptiveGANSwitcher: the critic trains until its loss is below this
    max_psnr_drop=2.0,                # the epoch kept: lowest VGG distance within this many dB of the pixel U-Net
    max_high_frequency=1.2,           # ... and no more fine detail than 1.2 times the photos' (more is noise)
    precision="auto", seed=42, **BUDGETS[MODE])  # critic width, its data (batches of 8), epochs of the game

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Step 1: a pretrained generator
#
# A GAN that starts from a random generator spends most of its time learning what a pixel loss
# teaches in minutes, while the critic wins easily and its gradients say little. NoGAN starts from
# a trained generator: here tutorial 3's perceptual U-Net, on tutorial 3's task and data (4x
# bicubic reduction of photos with a 384-pixel shorter side; the settings come with its weights,
# and if the weights are missing, tutorial 3's notebook runs first). Its loss in the game is
# tutorial 3's feature loss, with the settings saved beside the weights. Tutorial 3's pixel
# fine-tune, trained as long on the same task, is the reference every aim is measured against.

# %%
perceptual_weights = course.ensure("03_unet_perceptual_loss", course.MODELS_DIR / f"unet_perceptual_{MODE}.safetensors")
pixel_weights = course.MODELS_DIR / f"unet_pixel_x4_{MODE}.safetensors"  # written by the same run
perceptual_metadata = checkpoints.load_metadata(perceptual_weights)
PERCEPTUAL = SimpleNamespace(**perceptual_metadata["config"]["perceptual"])
DATA = SimpleNamespace(**{key: value for key, value in perceptual_metadata["config"].items() if key != "perceptual"})
train_images = samples.load_pool(DATA.pool)
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = data_torch.paired_data(
    train_images, valid_images, DATA.degradation, DATA.scale, DATA.patch_size, DATA.batch_size, DATA.steps_per_epoch,
    DATA.highres_size, DATA.seed, fresh_damage=DATA.fresh_damage)

config.set_seed(CONFIG.seed)
feature_loss = losses_torch.FeatureLoss(PERCEPTUAL.layers, PERCEPTUAL.layer_weights, gram_weight=PERCEPTUAL.gram_weight)
generator_learn = models_torch.unet_learner(dls, feature_loss, path=course.PROJECT_ROOT)
checkpoints.load_weights(generator_learn.model, perceptual_weights)
perceptual_predictions = train_torch.predict_images(generator_learn.model, valid_inputs)  # before the game
pixel_model = models_torch.build_unet()
checkpoints.load_weights(pixel_model, pixel_weights)
pixel_predictions = train_torch.predict_images(pixel_model, valid_inputs)
print(f"{DATA.degradation} x{DATA.scale}: generator of {sum(p.numel() for p in generator_learn.model.parameters()):,} "
      f"parameters, trained {perceptual_metadata['training_steps']:,} steps before the game, the last "
      f"{DATA.steps_per_epoch * PERCEPTUAL.epochs:,} with the feature loss")

# %% [markdown]
# ## Step 2: its predictions
#
# The critic's first lesson: the generator's restorations (label 0) against the originals (label
# 1), on training crops. Lesson 7 wrote them to an `image_gen` folder; we keep them in memory.

# %%
def generated_crops(generator, loader, batches):
    """(images, labels): the generator's outputs (0) and the originals (1) for `batches` batches."""
    generator.eval()
    images, labels = [], []
    with torch.no_grad():
        for index, (lowres, highres) in enumerate(loader):
            if index == batches:
                break
            images += [generator(lowres).clamp(0, 1).cpu(), highres.cpu()]
            labels += [torch.zeros(len(lowres)), torch.ones(len(highres))]
    generator.train()
    return torch.cat(images), torch.cat(labels)


images, labels = generated_crops(generator_learn.model, dls.train, CONFIG.critic_batches)
originals, restored = images[labels == 1], images[labels == 0]
print(f"{len(images)} crops: {len(originals)} originals, {len(restored)} restorations; they differ by "
      f"{float((originals - restored).pow(2).mean().sqrt()):.3f} (root mean square, RGB in [0, 1])")
plotting.show_images({f"restored {i}": restored[i].permute(1, 2, 0).numpy() for i in range(3)}
                     | {f"original {i}": originals[i].permute(1, 2, 0).numpy() for i in range(3)}, columns=3, size=2.2);

# %% [markdown]
# ## Step 3: pretrain the critic
#
# The restorations are close to the originals: the root mean square difference above is a few per
# cent of the range, and in the pictures the restored crops are only a little softer. So the
# critic has to see fine texture (softened edges, texture that is not quite the photo's) under very
# different content.
#
# Lesson 7 used fastai's `gan_critic`: strided convolutions with **spectral normalisation**, a
# self-attention layer and dropout. Spectral normalisation bounds how much each layer can amplify
# its input, which stabilises a critic facing an easy task; on differences this small it also keeps
# the output near zero, and such a critic may stay near chance: a loss of 0.693 (ln 2, the loss of
# a constant guess) and a held-out accuracy near 0.5.
#
# Our critic instead normalises each image's feature maps (**instance normalisation**: per image and
# channel, zero mean and unit variance): content's brightness and contrast, which vary far more from
# crop to crop than restoration does, are divided out, and what is left is the statistics of
# texture. It is the PatchGAN shape (Isola et al., 2017): four strided convolutions, so that its
# output is a map of real/fake logits, one per region of the crop, scored with binary cross-entropy
# (`AdaptiveLoss` repeats each image's label over the map). Batch normalisation would also
# normalise, but over the batch, and in the game fastai shows the critic a batch of originals and
# then a batch of restorations: the statistics of each batch would give the class away. A fifth of
# the crops is held out: accuracy there says how well the critic tells them apart. The optimiser is
# DCGAN's (Adam with beta1 = 0.5, a constant 2e-4).

# %%
def patch_critic(features: int) -> nn.Sequential:
    """(N, 3, H, W) in [0, 1] -> (N, H/16 * W/16) logits: "original" (> 0) or "restored", per region."""
    def block(channels_in, channels_out):
        return [nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1),
                nn.InstanceNorm2d(channels_out, affine=True), nn.LeakyReLU(0.2)]

    return nn.Sequential(*block(3, features), *block(features, 2 * features), *block(2 * features, 4 * features),
                         *block(4 * features, 4 * features), nn.Conv2d(4 * features, 1, 3, padding=1), nn.Flatten())


# %%
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(CONFIG.seed))
pairs = [(images[i], labels[i]) for i in order.tolist()]
held_out = len(pairs) // 5
critic_dls = DataLoaders.from_dsets(pairs[held_out:], pairs[:held_out], bs=CONFIG.critic_batch_size, shuffle=True,
                                    device=dls.device)
config.set_seed(CONFIG.seed)
critic = Learner(critic_dls, patch_critic(CONFIG.critic_features),
                 loss_func=AdaptiveLoss(nn.BCEWithLogitsLoss()), metrics=accuracy_thresh_expand, wd=1e-3,
                 opt_func=partial(Adam, mom=CONFIG.critic_beta1, sqr_mom=0.99, eps=1e-8), path=course.PROJECT_ROOT)
print(f"critic: {sum(p.numel() for p in critic.model.parameters()):,} parameters")
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"04_gan_{MODE}"
run_settings = {**vars(CONFIG), "data": vars(DATA), "start": checkpoints.digest(pixel_weights)}
critic_checkpoints = EpochCheckpoints(checkpoint_dir / "critic.pt", run_settings)
critic.fit(CONFIG.critic_epochs, CONFIG.critic_learning_rate, cbs=critic_checkpoints)
critic_seconds = critic_checkpoints.seconds
critic_accuracy = float(critic.validate()[1])

# %% [markdown]
# The critic learns: its held-out loss falls below ln 2 and its held-out accuracy rises well
# above chance over the epochs.
#
# ## Step 4: the game
#
# `GANLearner.from_learners` joins the two learners:
#
# - the **generator's loss** is `adversarial + 6.5 * feature loss`: binary cross-entropy of the
#   critic's verdict against "real", plus the generator learner's own loss, tutorial 3's feature
#   loss, which keeps colours, shapes and the texture's statistics in place. Its weight decides how
#   far the critic may pull the generator from the originals; the probes below chose it;
# - the **critic's loss** is its own learner's: binary cross-entropy on real photos and on fresh
#   restorations;
# - the **switcher**, `AdaptiveGANSwitcher(critic_thresh=0.65)`, lets the critic train until its
#   loss on a batch falls below 0.65, then gives the generator one turn (it has no threshold of its
#   own), and back;
# - Adam with **beta1 = 0** for both players (fastai calls beta1 `mom`; the critic's pretraining used
#   0.5): no momentum, because each player's target moves with the other player.
#
# A small callback, `PlayerLosses`, records every turn (which player moved, its loss) and, after
# each epoch, the generator's PSNR (Y channel), high-frequency ratio and VGG distance on the
# validation photos, with a copy of its weights: the epoch to keep is chosen afterwards, not assumed
# to be the last. It also
# keeps the generator in evaluation mode during the critic's turns: `GANLearner` means to
# (`switch_eval`), but fastai puts the whole model back in training mode at each epoch's start, and
# the generator would re-estimate its batch-norm statistics on every critic turn.
#
# Both stages keep a checkpoint after every epoch (`EpochCheckpoints`, as in tutorials 2 and 3, here
# with `PlayerLosses`' records and whose turn it is), so an interrupted run resumes where it
# stopped. As in tutorial 3, both players compute in bfloat16 where the processor does so natively.

# %%
class PlayerLosses(Callback):
    run_after = GANTrainer  # GANTrainer decides whose turn it is

    def __init__(self, valid_inputs, valid_targets):
        self.valid_inputs, self.valid_targets = valid_inputs, valid_targets
        self.history, self.validation = [], []   # [(step, player, loss)], [{"epoch", "psnr", "high_frequency", "vgg"}]
        self.weights = {}                          # {epoch: the generator's state_dict after it}

    def before_batch(self):
        if self.training:
            self.player = "generator" if self.gan_trainer.gen_mode else "critic"
            self.learn.model.generator.train(self.player == "generator")

    def after_batch(self):
        if self.training:
            self.history.append((len(self.history), self.player, float(self.learn.loss.detach())))

    def after_epoch(self):
        generator = self.learn.model.generator
        predictions = train_torch.predict_images(generator, self.valid_inputs)
        self.validation.append({"epoch": self.epoch + 1, **{
            name: float(np.mean([measure(self.valid_targets[n], p, crop_border=4) for n, p in predictions.items()]))
            for name, measure in (("psnr", partial(metrics.psnr, y_channel=True)),
                                  ("high_frequency", high_frequency), ("vgg", vgg_distance))}})
        self.weights[self.epoch + 1] = {key: value.detach().clone() for key, value in generator.state_dict().items()}

    def state_dict(self):  # saved after each epoch by EpochCheckpoints, with whose turn it is
        return {"history": self.history, "validation": self.validation, "weights": self.weights,
                "generator_turn": self.gan_trainer.gen_mode}

    def load_state_dict(self, state):
        self.history, self.validation, self.weights = list(state["history"]), list(state["validation"]), state["weights"]
        self.gan_trainer.switch(state["generator_turn"])


high_frequency = partial(metrics.high_frequency_ratio, band=(0.25, 0.5))  # tutorial 3's measure of fine detail
recorder = PlayerLosses(valid_inputs, valid_targets)
learn = GANLearner.from_learners(generator_learn, critic, weights_gen=(1.0, CONFIG.content_weight), show_img=False,
                                 switcher=AdaptiveGANSwitcher(critic_thresh=CONFIG.critic_threshold),
                                 opt_func=partial(Adam, mom=0.0), wd=1e-3, path=course.PROJECT_ROOT,
                                 cbs=[recorder, BFloat16Training(CONFIG.precision)])
game_checkpoints = EpochCheckpoints(checkpoint_dir / "game.pt", run_settings, extra={"players": recorder})
learn.fit(CONFIG.gan_epochs, CONFIG.gan_learning_rate, cbs=game_checkpoints)
gan_seconds = game_checkpoints.seconds

# %%
plotting.plot_gan_history(recorder.history, recorder.validation, measure="high_frequency",
                          path=course.figure_path(f"gan_{MODE}_history.png"));
turns = [player for _, player, _ in recorder.history]
print(f"{turns.count('generator')} generator turns, {turns.count('critic')} critic turns")

# %% [markdown]
# **The epoch to keep.** Among the epochs whose validation PSNR stays within
# `CONFIG.max_psnr_drop` dB of the pixel U-Net and whose high-frequency ratio stays below
# `CONFIG.max_high_frequency` (more fine detail than the photos have is noise, not texture), the
# one with the lowest VGG distance; if none qualifies, the one with the highest PSNR. (The
# MobileNetV2 distance in the tables below plays no part in this choice, so it stays an
# independent judge.)

# %%
pixel_psnr = float(np.mean([metrics.psnr(valid_targets[n], p, crop_border=4, y_channel=True)
                            for n, p in pixel_predictions.items()]))
eligible = [row for row in recorder.validation if row["psnr"] >= pixel_psnr - CONFIG.max_psnr_drop
            and row["high_frequency"] <= CONFIG.max_high_frequency]
best_epoch = (min(eligible, key=lambda row: row["vgg"]) if eligible
              else max(recorder.validation, key=lambda row: row["psnr"]))["epoch"]
learn.model.generator.load_state_dict(recorder.weights[best_epoch])
for row in recorder.validation:
    print(f"epoch {row['epoch']}: PSNR {row['psnr']:.2f} dB (pixel U-Net {pixel_psnr:.2f}), "
          f"high-frequency ratio {row['high_frequency']:.3f}, VGG {row['vgg']:.3f}"
          + ("  <- kept" if row["epoch"] == best_epoch else ""))

# %% [markdown]
# **Reading the curves, and when to stop.** A GAN's losses do not fall together as a single
# network's does: when the generator improves, the critic's loss *rises*, and the other way round. A
# critic loss heading to zero means the critic has won (the generator gets no useful gradient: stop,
# or lower the critic's learning rate); a generator whose adversarial loss falls while its content
# term and the validation PSNR collapse is inventing texture that is not there.
#
# In this run the critic's loss stays near 0.6 after its first turns: that is the switcher at
# work, which hands the critic the ball until its loss is below `critic_threshold` (0.65), so it
# hovers there by design; the critic took 570 of the 1,000 turns (four epochs of 250). The
# generator's loss is its whole loss, adversarial plus 6.5 times the feature loss, and swings
# between 6 and 10. The right panel is the one to steer by. The PSNR hardly moves for three epochs
# (29.92 to 29.96 dB) and falls to 29.70 in the fourth; the high-frequency ratio dips from 0.324 to
# 0.280 in the second epoch and then climbs to 0.448. Late in the game the generator paints more
# fine detail, and less of it where the photo had it. Neither limit rules an epoch out here (every
# PSNR is within 1.0 dB of the pixel U-Net, every ratio below 0.45), so the choice below comes down
# to the lowest VGG distance: the second epoch.
#
# Neither curve says when the *images* are best. The practical rule (fast.ai trained its colouriser
# this way) is to watch the generator's outputs and a validation measure, and stop before the
# measure turns: here the rule above.

# %% [markdown]
# ## The probes
#
# Why start from the perceptual U-Net, and why a content weight of 6.5? Short probes decided
# (`benchmarks/texture_probes.py`, tutorial 3's probes; the cell below reads their results files).
# Each plays this game, written out in plain PyTorch (one critic turn, then one generator turn),
# for 150, 500 or 1,000 steps, and scores the generator on the validation photos with tutorial 3's
# measures: PSNR, the high-frequency ratio (1: as much fine detail as the photos) and the
# MobileNetV2 distance (lower is closer; no loss here uses it).

# %%
probe_files = ("texture_probes_x4_384.json", "texture_probes_x4_384_1000.json", "texture_probes_x4_384_gan500.json")
print(f"{'probe':32} {'start':22} {'content term':48} {'steps':>5} {'PSNR':>6} {'high-freq':>9} {'MobileNetV2':>11}")
for name in probe_files:
    for probe, row in json.loads((course.PROJECT_ROOT / "results" / "probes" / name).read_text())["probes"].items():
        kind = row["settings"]
        if kind["method"] != "gan":
            continue  # tutorial 3 reads the others
        start = {"unet-pixel": "tutorial 2 (x2 pixels)"}.get(kind["start"], "tutorial 3, " + (
            "perceptual" if "perceptual" in kind["start"] else "pixel x4"))
        if kind.get("content", "pixel") == "pixel":
            content = f"{kind['pixel_weight']:g} x L1"
        else:
            layers = kind.get("layers") or ("relu3_3", "relu4_3", "relu5_3")
            gram = kind.get("gram_weight") or 0
            content = (f"{kind['pixel_weight']:g} x features ({', '.join(layer[4:] for layer in layers)}), "
                       + (f"Gram {gram:g}" if gram else "no Gram"))
        print(f"{probe:32} {start:22} {content:48} {kind['steps']:5} {row['psnr']:6.2f} "
              f"{row['high_frequency_ratio']:9.3f} {row['mobilenet']:11.3f}")

# %% [markdown]
# Read the table by its last three columns. Starting from tutorial 2's x2 U-Net, a pixel content
# term either keeps the picture smooth (weight 100 to 150: ratio about 0.29, MobileNetV2 about
# 0.49) or lets the critic add noise (weight 50: PSNR drops to 29.50). A feature content term
# alone, from the same start, costs more than half a dB. Starting from tutorial 3's perceptual
# U-Net gives the best PSNR and MobileNetV2 distances of the probes. Between its two weights, 20 keeps more PSNR (30.08 dB) and a
# hair less MobileNetV2 distance (0.446 against 0.448), but it adds little fine detail (0.287, only
# a little above the perceptual U-Net's own 0.252); 6.5 lets the critic pull harder (0.344, above a
# third of the photos'). Texture is what this notebook is about, so it runs 6.5.

# %% [markdown]
# ## Compare with the pixel and perceptual U-Nets
#
# Same validation photos and measures as tutorial 3: the pixel U-Net and the perceptual U-Net are
# tutorial 3's, the second the GAN's starting point.

# %%
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": pixel_predictions,
           "U-Net, perceptual loss": perceptual_predictions,
           "GAN generator": train_torch.predict_images(learn.model.generator, valid_inputs)}
table = evaluation.evaluate(valid_targets, methods, crop_border=4, extra_metrics={
    "high_frequency": high_frequency, "vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))
seconds_here = critic_seconds + gan_seconds
weights = checkpoints.save_weights(learn.model.generator, course.MODELS_DIR / f"gan_generator_{MODE}.safetensors", {
    **perceptual_metadata, "notebook": "04_gan", "mode": MODE,
    "loss": f"GAN: adversarial (patch_critic: PatchGAN, instance norm, {CONFIG.critic_features} features) + "
            f"{CONFIG.content_weight:g} * srlib.torch.losses.FeatureLoss, from tutorial 3's perceptual U-Net",
    "start": f"{perceptual_weights.name} {checkpoints.digest(perceptual_weights)}",
    "config": {**vars(DATA), "perceptual": vars(PERCEPTUAL), "gan": vars(CONFIG)},
    "training_seconds": perceptual_metadata["training_seconds"] + seconds_here,
    "training_steps": perceptual_metadata["training_steps"] + best_epoch * DATA.steps_per_epoch, "kept_epoch": best_epoch,
    "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %% [markdown]
# The GAN has the most fine detail of the three models (ratio 0.280 against the perceptual
# U-Net's 0.252 and the pixel U-Net's 0.063) and the lowest PSNR (29.96 dB, 0.74 below the pixel
# U-Net and 0.25 below the perceptual one). Its VGG distance (0.271) is a little worse than that
# of the perceptual U-Net it started from (0.263): the critic pulls away from what the feature
# loss alone asks for. On the independent judge it edges the perceptual U-Net (0.452 against
# 0.455) but not the pixel U-Net (0.442): MobileNetV2 still prefers a smooth picture to texture
# that is in slightly the wrong place.
#
# Tutorial 3's power spectra, now with the GAN: each method's energy at each spatial frequency,
# averaged over the validation photos and divided by the originals' (1: as much as the photos).

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
plotting.save(figure, course.figure_path("gan_spectra.png"));

# %% [markdown]
# Below 0.1 cycles per pixel every model matches the photos. Above it the input falls off first,
# the pixel U-Net next: at 0.4 cycles per pixel it keeps about a hundredth of the photos' energy.
# The perceptual U-Net keeps about a third at the start of the shaded band and falls to about a
# twentieth at its end; the GAN follows it to 0.3 cycles per pixel and then stays above it, still
# at about a tenth near 0.5. That is the extra fine detail the critic asked for.
#
# And in zoomed crops (nearest-neighbour enlargement; each title gives the crop's PSNR against the
# original):

# %%
boxes = {"chelsea": (20, 170, 96), "kodim23": (140, 130, 96), "flower": (120, 230, 96)}  # (top, left, size)
rows = {name: {"input": valid_inputs[name], "pixel loss": pixel_predictions[name],
               "perceptual loss": perceptual_predictions[name], "GAN": methods["GAN generator"][name],
               "original": valid_targets[name]} for name in boxes}
plotting.compare_crops(rows, boxes, size=2.4, path=course.figure_path("gan_crops.png"), reference="original");

# %% [markdown]
# The clearest row is the cat's fur: the pixel-loss column is smooth, the perceptual and GAN
# columns show single hairs, the GAN's a little coarser. On the parrot every U-Net brings back
# the feather stripes, the perceptual and GAN columns with harder edges, and none brings back the
# eye; on the flower the three look much alike. The perceptual and GAN columns are hard to tell
# apart anywhere: the game adds to the perceptual U-Net's texture at the finest scale, which
# the spectrum above shows more plainly than a crop. The PSNR in each title falls as the
# texture rises: the detail is plausible rather than exact.
#
# ## Conclusion
#
# This run's numbers, from the table and the game above:

# %%
means = table.mean()
pixel, perceptual, gan = (means[m] for m in ("U-Net, pixel loss", "U-Net, perceptual loss", "GAN generator"))
turns = [player for _, player, _ in recorder.history]
print(f"- PSNR: GAN {gan['psnr']:.2f} dB, perceptual U-Net {perceptual['psnr']:.2f} dB, pixel U-Net "
      f"{pixel['psnr']:.2f} dB ({gan['psnr'] - pixel['psnr']:+.2f} dB)")
print(f"- high-frequency ratio: GAN {gan['high_frequency']:.3f}, perceptual U-Net {perceptual['high_frequency']:.3f}, "
      f"pixel U-Net {pixel['high_frequency']:.3f}")
print(f"- MobileNetV2 distance (independent): GAN {gan['mobilenet']:.3f}, perceptual U-Net "
      f"{perceptual['mobilenet']:.3f}, pixel U-Net {pixel['mobilenet']:.3f}")
print(f"- the critic's held-out accuracy before the game {critic_accuracy:.3f}; it took {turns.count('critic')} of "
      f"the {len(turns)} turns; epoch {best_epoch} of {len(recorder.validation)} kept")

# %% [markdown]
# The game works in the direction it should: after the critic's turns the generator keeps more
# of the photos' fine detail than the perceptual U-Net it started from, for a small loss of PSNR,
# and the crops show fur and feathers where the pixel loss leaves a blur. It stops short of two
# aims. The kept epoch has less than a third of the photos' fine detail; later epochs have more,
# but their PSNR falls and their VGG distance rises, so validation does not keep them. And the
# independent MobileNetV2 judge still ranks the pixel U-Net first: the texture is convincing at a
# glance but not yet in the right places. A longer game with a critic that sees larger patches is
# the next thing to try.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`);
# in a short run, the zoo's `gan` (a full run of this notebook) scored beside this one.

# %%
course.finish("04_gan", {
    "config": vars(CONFIG), "data": vars(DATA), "perceptual": vars(PERCEPTUAL), "rows": table.rows,
    "markdown": table.to_markdown(baseline=None),
    "critic_accuracy": critic_accuracy, "history": recorder.history, "validation": recorder.validation,
    "kept_epoch": best_epoch, "training_seconds": {"critic": critic_seconds, "gan": gan_seconds},
    "parameters": {"generator": sum(p.numel() for p in learn.model.generator.parameters()),
                   "critic": sum(p.numel() for p in learn.model.critic.parameters())}},
    summary=course.Summary(
        "gan", f"{DATA.degradation} x{DATA.scale}", valid_targets, {"GAN generator": methods["GAN generator"]},
        crop_border=4,
        predict={"GAN generator": (lambda image: train_torch.predict_image(learn.model.generator, image), valid_inputs)},
        parameters={"GAN generator": sum(p.numel() for p in learn.model.generator.parameters())},
        training_seconds={"GAN generator": perceptual_metadata["training_seconds"] + seconds_here}),
    zoo=course.ZooModel("gan", valid_inputs, valid_targets, {"GAN generator": methods["GAN generator"]},
                        f"kept epoch {best_epoch} of {CONFIG.gan_epochs} here ({MODE} mode)",
                        dict(crop_border=4, extra_metrics={"high_frequency": high_frequency,
                                                           "mobilenet": mobilenet_distance}),
                        task={"degradation": DATA.degradation, "scale": DATA.scale}),
    checkpoints=checkpoint_dir)
