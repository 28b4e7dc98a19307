# %% [markdown]
# # 4. A GAN: the U-Net against a critic
#
# Tutorial 3 replaced "match the pixels" with "match what VGG-16 sees". A **generative adversarial
# network** (GAN; Goodfellow et al., 2014) goes one step further: instead of a fixed measure of
# "looks like a photo", it *learns* one. Two networks play a zero-sum game:
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
# then let them play only briefly.
#
# **This notebook is the whole program**: the critic, the NoGAN wiring (`GANLearner`, the switcher,
# both losses) and the record of the game are in the cells below, starting from tutorial 2's U-Net.
# Fast mode (the default on a CPU) takes a few minutes and then scores the zoo's `gan`, this
# notebook's full run, beside its own. The full run (`SRLIB_MODE=full python -m course.notebooks
# 04_gan`, after tutorials 2 and 3 in full mode) pretrains a wider critic on 3,200 crops and plays
# 1,250 turns of the game on the whole training pool: a quarter of an hour or so of training on a
# laptop CPU, minutes on a GPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import srlib  # first: it sizes the thread pools and silences known framework warnings

from functools import partial
from types import SimpleNamespace

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
from srlib.torch import checkpoints, data as data_torch, models as models_torch, training as train_torch
from srlib.torch.callbacks import EpochCheckpoints
from srlib.torch.perceptual import mobilenet_distance, vgg_distance

# %% [markdown]
# ## Parameters

# %% tags=["parameters"]
MODE = config.run_mode()              # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(critic_features=8, critic_batches=2, critic_epochs=1, gan_epochs=1),
           "fast": dict(critic_features=32, critic_batches=60, critic_epochs=12, gan_epochs=2),
           "full": dict(critic_features=64, critic_batches=200, critic_epochs=10, gan_epochs=5)}
CONFIG = SimpleNamespace(
    critic_batch_size=16,
    # Adam with beta1 = 0.5 and a constant 2e-4 for the critic's pretraining: DCGAN's settings for
    # a discriminator (Radford et al., 2016), steadier than a one-cycle schedule's large peak rate
    critic_learning_rate=2e-4, critic_beta1=0.5,
    gan_learning_rate=1e-4,
    pixel_weight=500.0,                # weights_gen = (1, 500): adversarial 1, pixel 500 (lesson 7: 50; see Step 4)
    critic_threshold=0.65,            # AdaptiveGANSwitcher: the critic trains until its loss is below this
    max_psnr_drop=1.5,                # the epoch kept: lowest VGG distance within this many dB of the pixel U-Net
    seed=42, **BUDGETS[MODE])         # critic width, its data (batches of tutorial 2's), epochs of the game

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Step 1: a pretrained generator
#
# A GAN that starts from a random generator spends most of its time learning what a pixel loss
# teaches in minutes, while the critic wins easily and its gradients say little. NoGAN starts from
# tutorial 2's U-Net, trained with the pixel loss, on tutorial 2's data (its settings come with its
# weights; if they are missing, tutorial 2's notebook runs first). For the game its pixel loss
# becomes L1.

# %%
pixel_weights = course.ensure("02_unet_pixel_loss", course.MODELS_DIR / f"unet_pixel_{MODE}.safetensors")
DATA = SimpleNamespace(**checkpoints.load_metadata(pixel_weights)["config"])
train_images = samples.load_pool(DATA.pool)
valid_images = samples.load_split("valid")
dls, valid_inputs, valid_targets = data_torch.paired_data(
    train_images, valid_images, DATA.degradation, DATA.scale, DATA.patch_size, DATA.batch_size, DATA.steps_per_epoch,
    DATA.highres_size, DATA.seed, fresh_damage=DATA.fresh_damage)

config.set_seed(CONFIG.seed)
generator_learn = models_torch.unet_learner(dls, nn.L1Loss(), path=course.PROJECT_ROOT)
pixel_metadata = checkpoints.load_weights(generator_learn.model, pixel_weights)
pixel_predictions = train_torch.predict_images(generator_learn.model, valid_inputs)  # before the game
print(f"generator: {sum(p.numel() for p in generator_learn.model.parameters()):,} parameters, "
      f"pretrained {pixel_metadata['training_steps']:,} steps with the pixel loss")

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
# The restorations are close to the originals: 0.042 root mean square, about 4 per cent of the
# range. In the pictures only the foliage shows a difference (the restored leaves are softer and
# blotchier); the flat blue and the sunset gradient look the same. So the critic has to see fine
# texture (JPEG blocks, softened edges) under very different content.
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
# This critic learns: in ten epochs (fastai counts them from 0) its held-out loss falls from 0.643
# to 0.269 and its held-out accuracy rises from 0.61 to 0.885, both at the ninth epoch; in the tenth
# they slip back a little (0.289 and 0.878) while its training loss falls further (0.173): it has
# begun to fit its 2,560 training crops better than new ones.
#
# ## Step 4: the game
#
# `GANLearner.from_learners` joins the two learners:
#
# - the **generator's loss** is `adversarial + 500 * L1`: binary cross-entropy of the critic's
#   verdict against "real", plus the generator learner's own L1, which keeps colours and shapes in
#   place. The pixel weight decides how far the critic may pull the generator from the originals:
#   lesson 7 used 50; this critic learns more (Step 3), so here the pixel term weighs ten times as
#   much;
# - the **critic's loss** is its own learner's: binary cross-entropy on real photos and on fresh
#   restorations;
# - the **switcher**, `AdaptiveGANSwitcher(critic_thresh=0.65)`, lets the critic train until its
#   loss on a batch falls below 0.65, then gives the generator one turn (it has no threshold of its
#   own), and back;
# - Adam with **beta1 = 0** for both players (fastai calls beta1 `mom`; the critic's pretraining used
#   0.5): no momentum, because each player's target moves with the other player.
#
# A small callback, `PlayerLosses`, records every turn (which player moved, its loss) and, after
# each epoch, the generator's PSNR (Y channel), HFEN and VGG distance on the validation photos, with
# a copy of its weights: the epoch to keep is chosen afterwards, not assumed to be the last. It also
# keeps the generator in evaluation mode during the critic's turns: `GANLearner` means to
# (`switch_eval`), but fastai puts the whole model back in training mode at each epoch's start, and
# the generator would re-estimate its batch-norm statistics on every critic turn.
#
# Both stages keep a checkpoint after every epoch (`EpochCheckpoints`, as in tutorials 2 and 3, here
# with `PlayerLosses`' records and whose turn it is), so an interrupted run resumes where it
# stopped.

# %%
class PlayerLosses(Callback):
    run_after = GANTrainer  # GANTrainer decides whose turn it is

    def __init__(self, valid_inputs, valid_targets):
        self.valid_inputs, self.valid_targets = valid_inputs, valid_targets
        self.history, self.validation = [], []   # [(step, player, loss)], [{"epoch", "psnr", "hfen", "vgg"}]
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
                                  ("hfen", partial(metrics.hfen, y_channel=True)), ("vgg", vgg_distance))}})
        self.weights[self.epoch + 1] = {key: value.detach().clone() for key, value in generator.state_dict().items()}

    def state_dict(self):  # saved after each epoch by EpochCheckpoints, with whose turn it is
        return {"history": self.history, "validation": self.validation, "weights": self.weights,
                "generator_turn": self.gan_trainer.gen_mode}

    def load_state_dict(self, state):
        self.history, self.validation, self.weights = list(state["history"]), list(state["validation"]), state["weights"]
        self.gan_trainer.switch(state["generator_turn"])


recorder = PlayerLosses(valid_inputs, valid_targets)
learn = GANLearner.from_learners(generator_learn, critic, weights_gen=(1.0, CONFIG.pixel_weight), show_img=False,
                                 switcher=AdaptiveGANSwitcher(critic_thresh=CONFIG.critic_threshold),
                                 opt_func=partial(Adam, mom=0.0), wd=1e-3, cbs=[recorder], path=course.PROJECT_ROOT)
game_checkpoints = EpochCheckpoints(checkpoint_dir / "game.pt", run_settings, extra={"players": recorder})
learn.fit(CONFIG.gan_epochs, CONFIG.gan_learning_rate, cbs=game_checkpoints)
gan_seconds = game_checkpoints.seconds

# %%
plotting.plot_gan_history(recorder.history, recorder.validation, path=course.figure_path(f"gan_{MODE}_history.png"));
turns = [player for _, player, _ in recorder.history]
print(f"{turns.count('generator')} generator turns, {turns.count('critic')} critic turns")

# %% [markdown]
# **The epoch to keep.** Among the epochs whose validation PSNR stays within
# `CONFIG.max_psnr_drop` dB of the pixel U-Net it started from, the one with the lowest VGG
# distance; if none does, the one with the highest PSNR. (The MobileNetV2 distance in the tables
# below plays no part in this choice, so it stays an independent judge.)

# %%
pixel_psnr = float(np.mean([metrics.psnr(valid_targets[n], p, crop_border=4, y_channel=True)
                            for n, p in pixel_predictions.items()]))
eligible = [row for row in recorder.validation if row["psnr"] >= pixel_psnr - CONFIG.max_psnr_drop]
best_epoch = (min(eligible, key=lambda row: row["vgg"]) if eligible
              else max(recorder.validation, key=lambda row: row["psnr"]))["epoch"]
learn.model.generator.load_state_dict(recorder.weights[best_epoch])
for row in recorder.validation:
    print(f"epoch {row['epoch']}: PSNR {row['psnr']:.2f} dB (pixel U-Net {pixel_psnr:.2f}), HFEN {row['hfen']:.3f}, "
          f"VGG {row['vgg']:.3f}" + ("  <- kept" if row["epoch"] == best_epoch else ""))

# %% [markdown]
# **Reading the curves, and when to stop.** A GAN's losses do not fall together as a single
# network's does: when the generator improves, the critic's loss *rises*, and the other way round. A
# critic loss heading to zero means the critic has won (the generator gets no useful gradient: stop,
# or lower the critic's learning rate); a generator whose adversarial loss falls while the pixel
# term and the validation PSNR collapse is inventing texture that is not there.
#
# Neither happens here. On the left (running means of five turns) the critic's loss stays between
# about 0.2 and 0.6 and the generator's between about 11 and 19, with no trend. The critic already
# starts below the switcher's threshold (its loss is under 0.65 after pretraining), so the switcher
# hardly waits: 638 critic turns against 612 mean the two players simply took turns. (fastai's
# `train_loss`, about 7, is the mean over both players' turns; its `gen_loss`, about 24, is the
# generator's loss on the validation crops, mostly the pixel term: 500 times an L1 that is larger on
# photos it never trained on.)
# On the right, PSNR dips from 28.41 dB after epoch 1 to 28.29 after epoch 2, peaks at 28.55
# after epoch 4 and ends at 28.37, while the VGG distance is lowest after epoch 1 (0.495) and
# climbs to 0.526 by the end. Every epoch is below the pixel U-Net's 28.70 dB (the panel does not
# draw it; the lines above print it).
#
# Neither curve says when the *images* are best. The practical rule (fast.ai trained its colouriser
# this way) is to watch the generator's outputs and a validation measure, and stop before the
# measure turns: here the rule above, which keeps epoch 1.

# %% [markdown]
# ## Compare with the pixel and perceptual U-Nets
#
# Same validation photos and metrics as tutorials 2 and 3. The perceptual U-Net is tutorial 3's
# saved model (left out if tutorial 3 has not run in this mode).

# %%
methods = {"input (bicubic-upsampled)": valid_inputs, "U-Net, pixel loss": pixel_predictions}
perceptual_path = course.MODELS_DIR / f"unet_perceptual_{MODE}.safetensors"
if perceptual_path.exists():
    perceptual = models_torch.build_unet()
    checkpoints.load_weights(perceptual, perceptual_path)
    methods["U-Net, perceptual loss"] = train_torch.predict_images(perceptual, valid_inputs)
methods["GAN generator"] = train_torch.predict_images(learn.model.generator, valid_inputs)
table = evaluation.evaluate(valid_targets, methods, crop_border=4,
                            extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})
print(table.to_markdown(baseline=None))
weights = checkpoints.save_weights(learn.model.generator, course.MODELS_DIR / f"gan_generator_{MODE}.safetensors", {
    **checkpoints.load_metadata(pixel_weights), "notebook": "04_gan", "mode": MODE,
    "loss": f"GAN: adversarial (patch_critic: PatchGAN, instance norm, {CONFIG.critic_features} features) + "
            f"{CONFIG.pixel_weight:g} * L1, from the pixel-loss U-Net",
    "config": {**vars(DATA), "gan": vars(CONFIG)},
    "training_seconds": pixel_metadata["training_seconds"] + critic_seconds + gan_seconds,
    "training_steps": pixel_metadata["training_steps"] + best_epoch * DATA.steps_per_epoch, "kept_epoch": best_epoch,
    "machine": config.machine_description(), "validation": table.mean()})
print("saved", weights.relative_to(course.PROJECT_ROOT))

# %%
boxes = {"kodim23": (66, 60, 64), "coffee": (56, 94, 64), "monarch": (70, 120, 64)}
rows = {name: {label: images_[name] for label, images_ in methods.items()} | {"original": valid_targets[name]}
        for name in boxes}
plotting.compare_crops(rows, boxes, size=2.2, path=course.figure_path("gan_crops.png"));

# %% [markdown]
# ## Conclusion
#
# This run's numbers, from the table and the game above:

# %%
means = table.mean()
pixel, gan = means["U-Net, pixel loss"], means["GAN generator"]
turns = [player for _, player, _ in recorder.history]
print(f"- GAN generator: PSNR {gan['psnr']:.2f} dB, HFEN {gan['hfen']:.3f}, VGG distance {gan['vgg']:.3f}; "
      f"before the game (pixel U-Net): {pixel['psnr']:.2f} dB, {pixel['hfen']:.3f}, {pixel['vgg']:.3f}")
print(f"- MobileNetV2 distance (independent): GAN {gan['mobilenet']:.3f}, pixel U-Net {pixel['mobilenet']:.3f}")
print(f"- the critic's held-out accuracy before the game {critic_accuracy:.3f}; it took {turns.count('critic')} of "
      f"the {len(turns)} turns; epoch {best_epoch} of {len(recorder.validation)} kept")

# %% [markdown]
# **What this run shows**: the game took place. The instance-normalised critic learned to tell
# restorations from originals (its held-out accuracy is the last line above), and the
# players alternated, the critic taking about half the turns (the last line above). But what it
# taught did not help. After every epoch the generator is behind the pixel U-Net it started from on
# PSNR, HFEN and the VGG distance (the first line above, and the lines per epoch in Step 4), and
# the kept epoch is also behind on the MobileNetV2 distance, which played no part in the choice
# (the second line above). It is behind tutorial 3's perceptual U-Net on every column of the table
# above too, and in the crops the three U-Nets are hard to tell apart: all remove the JPEG blocks
# and leave the coffee's number as a ghost. The aim, a generator sharper than the pixel U-Net by
# HFEN and by an independent perceptual distance, is not reached.
#
# Two lessons on the way: a critic must be able to learn before the game means anything (Step 3),
# and once it learns, the pixel term's weight decides how far it pulls the generator. Not tried here: a
# critic limited by spectral norm and normalised per image together, a lower learning rate for the
# generator, the relativistic critic of ESRGAN, and a perceptual term beside the adversarial one, as
# SRGAN and ESRGAN use.
#
# More generally, on a budget of minutes and a handful of photographs the game is as likely to move
# the generator away from the originals as towards them. Lesson 7 pretrained its critic and played
# the game for many epochs over thousands of pet photos on a GPU, and SRGAN and ESRGAN train for
# days on DIV2K. The GAN's promise needs data and time, and its instability is the price of a loss
# that is itself learned.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`);
# in a short run, the zoo's `gan` (a full run of this notebook) scored beside this one.

# %%
course.finish("04_gan", {
    "config": vars(CONFIG), "data": vars(DATA), "rows": table.rows, "markdown": table.to_markdown(baseline=None),
    "critic_accuracy": critic_accuracy, "history": recorder.history, "validation": recorder.validation,
    "kept_epoch": best_epoch, "training_seconds": {"critic": critic_seconds, "gan": gan_seconds},
    "parameters": {"generator": sum(p.numel() for p in learn.model.generator.parameters()),
                   "critic": sum(p.numel() for p in learn.model.critic.parameters())}},
    summary=course.Summary(
        "gan", f"{DATA.degradation} (x2 + JPEG)", valid_targets, {"GAN generator": methods["GAN generator"]},
        crop_border=4,
        predict={"GAN generator": (lambda image: train_torch.predict_image(learn.model.generator, image), valid_inputs)},
        parameters={"GAN generator": sum(p.numel() for p in learn.model.generator.parameters())},
        training_seconds={"GAN generator": pixel_metadata["training_seconds"] + critic_seconds + gan_seconds}),
    zoo=course.ZooModel("gan", valid_inputs, valid_targets, {"GAN generator": methods["GAN generator"]},
                        f"kept epoch {best_epoch} of {CONFIG.gan_epochs} here ({MODE} mode)",
                        dict(crop_border=4, extra_metrics={"vgg": vgg_distance, "mobilenet": mobilenet_distance})),
    checkpoints=checkpoint_dir)
