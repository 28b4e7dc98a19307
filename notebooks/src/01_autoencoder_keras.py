# %% [markdown]
# # 1. A convolutional auto-encoder in Keras, and which loss makes sharper images
#
# **Super-resolution** (SR) recovers a high-resolution image from a low-resolution one. This
# tutorial trains the small convolutional *auto-encoder* of the original collection
# (ilopezfr/image-superres) to undo a x2 downscale, and asks the question that collection
# announced but never answered: **does the loss function matter?** The same network is trained
# from the same random seed, on the same batches, with seven losses (MSE, L1, SSIM, PSNR, HFEN,
# MSE + HFEN, MS-SSIM + L1), and every result is scored against plain bicubic upscaling on
# photographs the networks never saw.
#
# The auto-encoder's layers, the SSIM and HFEN losses and the training loop are all in the cells
# below. Fast mode (the default on a CPU) takes a few minutes on a laptop CPU; full mode
# (`SRLIB_MODE=full python -m course.notebooks 01_autoencoder_keras`, the default when a GPU is
# visible) takes about 40 minutes on a laptop CPU and a few minutes on a GPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup
#
# Keras runs on TensorFlow here. To use PyTorch or JAX instead, start Jupyter with
# `KERAS_BACKEND=torch` (or `jax`) in the environment, or set `os.environ["KERAS_BACKEND"]` before
# the first `import keras`; the losses are written with `keras.ops`, so they work on every backend.

# %%
from types import SimpleNamespace

import numpy as np

import srlib
import course
from srlib import config, degrade, evaluation, kernels, patches, plotting, samples
from srlib.keras import losses as losses_keras, training as train_keras
from srlib.resize import upscale_bicubic

import keras
from keras import layers, ops

print(f"srlib {srlib.__version__}, Keras {keras.__version__} on the {keras.backend.backend()} backend")

# %% [markdown]
# ## Parameters
#
# One cell decides the run. `MODE` comes from `srlib.config.run_mode()` (fast on a CPU, full on a
# GPU, or whatever `SRLIB_MODE` says). Fast and full mode differ in the training photos (`pool`),
# the network's widths (`filters`, halved in fast mode) and the number of steps; both train on
# 48-pixel crops. (The test suite's `test` budget only checks that every cell runs.)

# %% tags=["parameters"]
MODE = config.run_mode()                 # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(pool=("samples",), filters=(8, 16, 32), patch_size=48, num_steps=4),
           "fast": dict(pool=("samples",), filters=(32, 64, 128), patch_size=48, num_steps=200),
           "full": dict(pool=("samples", "wallpapers"), filters=(64, 128, 256), patch_size=48, num_steps=800)}
CONFIG = SimpleNamespace(
    degradation="bicubic",               # "bicubic" (the classic benchmark) or "downup" (the original's recipe)
    scale=2, residual=True, batch_size=16, learning_rate=1e-3,
    precision="auto",                    # Keras's mixed_bfloat16 where the CPU has native bfloat16
    seed=42, **BUDGETS[MODE])
# The losses compared, in the order the tables show them (names of srlib.keras.losses.LOSSES)
LOSS_LABELS = {"mse": "MSE", "l1": "L1", "ssim": "SSIM loss", "psnr": "PSNR loss", "hfen": "HFEN",
               "mse_hfen": "MSE + 10 HFEN", "ms_ssim_l1": "MS-SSIM + L1"}
LOSSES = list(LOSS_LABELS)

config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## Why interpolation blurs
#
# Downscaling by two keeps one value for every 2x2 block of pixels: detail finer than the new
# pixel grid is gone. Interpolation (bilinear, bicubic) can only draw smooth curves through the
# pixels that remain, so edges come back soft and fine texture does not come back at all.
# A network can do better because it has *seen* photographs: it learns what sharp edges and
# textures usually look like when their blurred version looks like this. That knowledge is in
# its weights, learned from pairs of (degraded, original) images.
#
# ## Data
#
# No SR benchmark can be downloaded offline, so we use colour photographs that installed packages
# carry: `srlib.samples.load_pool`, the training pool shared by every tutorial (in fast mode the
# nine photos that Python packages ship; full mode adds eleven 1280x800 photographs from Debian's
# `plasma-workspace-wallpapers`), and five photos, never trained on, for validation.
# Pairs are made by `srlib.degrade`:
#
# - **`bicubic`**: the classic benchmark degradation, MATLAB's antialiased bicubic `imresize` by
#   1/2. The auto-encoder maps an image to one of the same size, so its input is the low-resolution
#   image upscaled back with bicubic: the network learns what bicubic misses.
# - **`downup`**: the original tutorial's recipe, bilinear down by 2 and up again.

# %%
train_images = samples.load_pool(CONFIG.pool)
valid_images = samples.load_split("valid")
print("train:", {name: image.shape[:2] for name, image in train_images.items()})
print("valid:", {name: image.shape[:2] for name, image in valid_images.items()})

# %%
photo = valid_images["monarch"]
highres = photo[150:310, 250:410]
lowres = degrade.bicubic(highres, 2)
plotting.show_images({
    "original (160 px)": highres,
    "bicubic x1/2 (80 px)": lowres,
    "...back up with bicubic": upscale_bicubic(lowres, 2),
    "downup: the original's recipe": degrade.downup(highres, 2),
}, size=2.6);

# %% [markdown]
# Training sees random 48-pixel crops of the training photos, flipped and rotated, each input
# upscaled back to its target's size (`srlib.patches.PairedPatches`), so `lowres_batch` below has
# the shape of `highres_batch`; validation scores whole photographs.

# %%
train_pairs = patches.PairedPatches(train_images, CONFIG.degradation, scale=CONFIG.scale, patch_size=CONFIG.patch_size,
                                    length=CONFIG.batch_size * 50, upsample_input=True, seed=CONFIG.seed)
valid_inputs, valid_targets = patches.degrade_photos(valid_images, CONFIG.degradation, CONFIG.scale, seed=CONFIG.seed)
lowres_batch, highres_batch = train_pairs.batch(range(4))
print("one batch: lowres", lowres_batch.shape, "highres", highres_batch.shape)

# %% [markdown]
# ## Model: the original auto-encoder, rebuilt
#
# An *auto-encoder* squeezes its input through a bottleneck and rebuilds it. Here the encoder is
# two 3x3 convolutions, a max-pool, two more convolutions, another max-pool and one more
# convolution; the decoder mirrors it with upsampling. The *skip additions* (the encoder's
# feature maps added to the decoder's at the same resolution) let fine detail bypass the
# bottleneck. In Keras's functional API, each layer is called on the previous one's output:

# %%
def build_autoencoder(filters=(64, 128, 256), residual=False, dtype_policy=None, name="autoencoder"):
    small, medium, large = filters
    policy = {"dtype": dtype_policy} if dtype_policy else {}

    def conv(width, **options):
        return layers.Conv2D(width, 3, padding="same", activation="relu", **(options or policy))

    inputs = keras.Input(shape=(None, None, 3), name="lowres")             # any size divisible by 4
    stage1 = conv(small)(conv(small)(inputs))                               # full resolution
    x = layers.Dropout(0.3, **policy)(layers.MaxPooling2D(padding="same", **policy)(stage1))
    stage2 = conv(medium)(conv(medium)(x))                                  # 1/2
    x = conv(large)(layers.MaxPooling2D(padding="same", **policy)(stage2))  # 1/4: the bottleneck
    x = conv(medium)(conv(medium)(layers.UpSampling2D(**policy)(x)))        # back to 1/2
    x = layers.Add(**policy)([stage2, x])                                   # skip addition
    x = conv(small)(conv(small)(layers.UpSampling2D(**policy)(x)))          # back to full resolution
    x = layers.Add(**policy)([x, stage1])                                   # skip addition
    if residual:  # the network predicts the detail; the input is added back (both in float32)
        detail = layers.Conv2D(3, 3, padding="same", dtype="float32")(x)
        x = layers.Add(name="highres", dtype="float32")([inputs, detail])
    else:
        x = layers.Conv2D(3, 3, padding="same", activation="relu", name="highres", dtype="float32")(x)
    return keras.Model(inputs, x, name=name)

# %% [markdown]
# With the original widths it has exactly the original's 1,110,403 parameters:

# %%
# NBVAL_CHECK_OUTPUT
original = build_autoencoder(filters=(64, 128, 256), residual=False)
print(f"{original.count_params():,} parameters")

# %% [markdown]
# Two changes from the original. It built its second model out of the first one's layers, and a
# Keras layer called twice uses the same weights, so the "two" models it compared were one; this
# function makes new layers at each call. And we train it **residually** (`residual=True`): the
# input is added back to the output, so the network starts from "return the bicubic image" and
# only has to learn the detail bicubic misses. A plain auto-encoder must first learn to copy its
# input before it can improve on it, and in a short run that is most of what it learns.
#
# The speed benchmark and the zoo build the same network with `srlib.keras.models.build_autoencoder`
# (the tests check that, given the same weights, both compute the same thing). This run's widths:

# %%
ours = build_autoencoder(CONFIG.filters, residual=CONFIG.residual)
print(f"this run: filters {CONFIG.filters}, residual={CONFIG.residual}, {ours.count_params():,} parameters")

# %% [markdown]
# ## The losses
#
# Each loss compares the network's output with the original, pixel by pixel or through a filter:
#
# | loss | what it measures |
# |---|---|
# | MSE | mean squared error: what PSNR scores, so the "obvious" choice |
# | L1 | mean absolute error: punishes small errors more and large ones less than MSE |
# | SSIM loss | 1 - SSIM: local agreement of brightness, contrast and structure (Wang et al., 2004) |
# | PSNR loss | -PSNR per image: MSE on a log scale, so well-restored images keep a gradient |
# | HFEN | squared error after a Laplacian-of-Gaussian filter: only edges and fine detail count |
# | MSE + 10 HFEN | the original tutorial's mix |
# | MS-SSIM + L1 | Zhao et al. (2017): 0.84 (1 - MS-SSIM) + 0.16 L1 |
#
# MSE, L1 and the PSNR loss are one line each. The two that need a filter are written here with
# `keras.ops`.
#
# **SSIM** compares two images window by window: with Gaussian-weighted local means `mu`,
# variances `sigma^2` and covariance `sigma_xy` (an 11x11 window, sigma 1.5),
# `SSIM = (2 mu_x mu_y + c1) / (mu_x^2 + mu_y^2 + c1) * (2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2)`:
# luminance times contrast-and-structure, 1 for identical windows. The loss is 1 minus its mean.
#
# **HFEN** (high-frequency error norm) filters the error with a Laplacian of Gaussian, which is
# zero on flat areas and large on edges and fine texture, and takes the mean square. Dividing by
# the filter's largest gain squared keeps it at most the MSE, so weights like "MSE + 10 HFEN" mean
# what they say.

# %%
def filter_each_channel(images, kernel):
    """Valid 2-D convolution of every channel of NHWC `images` with the same kernel."""
    weight = np.repeat(kernel.astype("float32")[:, :, None, None], images.shape[-1], axis=2)
    return ops.depthwise_conv(images, ops.convert_to_tensor(weight, dtype=images.dtype), padding="valid")


def ssim_loss(y_true, y_pred, window=kernels.gaussian_window(11, 1.5)):
    c1, c2 = 0.01**2, 0.03**2                                # for images in [0, 1]
    mu_t, mu_p = filter_each_channel(y_true, window), filter_each_channel(y_pred, window)
    var_t = filter_each_channel(y_true * y_true, window) - mu_t**2
    var_p = filter_each_channel(y_pred * y_pred, window) - mu_p**2
    covariance = filter_each_channel(y_true * y_pred, window) - mu_t * mu_p
    ssim_map = ((2 * mu_t * mu_p + c1) / (mu_t**2 + mu_p**2 + c1)) * ((2 * covariance + c2) / (var_t + var_p + c2))
    return 1.0 - ops.mean(ssim_map, axis=(1, 2, 3))          # one value per image


LOG_KERNEL = kernels.laplacian_of_gaussian(13, 1.5)           # MATLAB's fspecial('log', 13, 1.5)


def hfen_loss(y_true, y_pred, kernel=LOG_KERNEL):
    filtered = filter_each_channel(y_pred - y_true, kernel)   # the filter is linear: filter the error
    return ops.mean(filtered**2, axis=(1, 2, 3)) / kernels.operator_norm(kernel) ** 2

# %% [markdown]
# `srlib.keras.losses` holds these two and the study's other five as Keras `Loss` classes (with
# PyTorch twins in `srlib.torch.losses`). On a batch of bicubic inputs against their originals,
# ours and the library's must agree:

# %%
targets, inputs = (ops.convert_to_tensor(array) for array in (highres_batch, lowres_batch))
for name, ours_loss, library_loss in (("SSIM loss", ssim_loss, losses_keras.SSIMLoss()),
                                      ("HFEN", hfen_loss, losses_keras.HFENLoss())):
    value, library_value = float(ops.mean(ours_loss(targets, inputs))), float(library_loss(targets, inputs))
    print(f"{name:>9}: {value:.6f} (ours), {library_value:.6f} (srlib.keras.losses)")
    assert np.isclose(value, library_value, rtol=1e-5)

# %% [markdown]
# ## Train: one model per loss
#
# From here on the notebook uses the library's losses (`srlib.keras.losses.LOSSES`) with its own
# `build_autoencoder`. For each loss: seed everything with `CONFIG.seed`, build the model (so all
# seven start from the same weights), rewind the crops to the first epoch (so all see the same
# batches), and train with Adam, the learning rate decaying along a cosine from 1e-3 to 1% of that
# (`srlib.keras.training.fit`: Keras's `compile` and `fit`, in epochs of 50 steps). Then predict every
# validation photo and save the weights. `train_keras.dtype_policy` picks Keras's `mixed_bfloat16`
# where the processor computes bfloat16 natively, float32 elsewhere.
#
# **Interrupting is safe.** After every epoch `fit` saves the whole training state (weights, Adam's
# moments, the dropout layers' random state, the history) under `models/checkpoints/`; run the
# notebook again and each loss resumes where it stopped, ending with the weights an uninterrupted
# run gives.

# %%
histories, predictions, models = {}, {}, {}
policy = train_keras.dtype_policy(CONFIG.precision)
checkpoint_dir = course.MODELS_DIR / "checkpoints" / f"01_autoencoder_keras_{MODE}"
for name in LOSSES:
    config.set_seed(CONFIG.seed)
    model = build_autoencoder(CONFIG.filters, residual=CONFIG.residual, dtype_policy=policy, name=f"autoencoder_{name}")
    train_pairs.set_epoch(0)
    histories[name] = train_keras.fit(model, losses_keras.LOSSES[name](), train_pairs, num_steps=CONFIG.num_steps,
                                      batch_size=CONFIG.batch_size, learning_rate=CONFIG.learning_rate,
                                      seed=CONFIG.seed, description=f"{LOSS_LABELS[name]:>14}",
                                      checkpoint=checkpoint_dir / f"{name}.npz",
                                      settings={**vars(CONFIG), "loss": name, "dtype_policy": policy,
                                                "backend": keras.backend.backend()})
    predictions[name] = {photo: train_keras.predict_image(model, image) for photo, image in valid_inputs.items()}
    models[name] = model
    course.MODELS_DIR.mkdir(exist_ok=True)  # the weights, to rebuild with build_autoencoder(CONFIG.filters, ...)
    model.save_weights(course.MODELS_DIR / f"autoencoder_{name}_{MODE}.weights.h5")
print(f"trained {len(LOSSES)} models, {histories['mse']['steps']} steps each, policy {policy}; weights in models/")

# %% [markdown]
# Each point below is Keras's running mean of the loss over the epoch so far, so it restarts every
# 50 steps. Each curve is divided by its first value, so that losses in different units share the
# axes; the PSNR loss, which is negative, is shifted instead (1 + (loss - first) / |first|).
#
# In the first few steps the squared-error losses shoot up (MSE to almost seven times its first
# value): Adam's first update moves every weight by the full learning rate, and here that
# overshoots. The sharp drop at step 50 is the running mean restarting, not sudden learning;
# after it the curves are nearly flat.

# %%
plotting.plot_histories({LOSS_LABELS[name]: history for name, history in histories.items()},
                        title=f"training loss ({MODE} run)", path=course.figure_path(f"autoencoder_{MODE}_curves.png"));

# %% [markdown]
# ## Evaluate against bicubic
#
# Three scores, averaged over the five validation photos (`srlib.metrics`,
# `srlib.evaluation.evaluate`):
#
# - **PSNR** (peak signal-to-noise ratio), `10 log10(1 / MSE)` for pixels in [0, 1], in decibels:
#   +1 dB is a fifth less squared error, +3 dB half as much. Higher is better.
# - **SSIM** (structural similarity, up to 1): how well local means, contrasts and patterns agree,
#   in 11-pixel windows. Higher is better.
# - **HFEN** (high-frequency error norm): the error after the Laplacian-of-Gaussian filter above,
#   relative to the original's, so it counts edges and fine detail only. Lower is better.
#
# PSNR and SSIM are taken on the luma (Y, the brightness channel of YCbCr, where the eye sees most
# detail) with `scale` pixels of border cropped, as SR papers report them. `evaluate` adds
# bicubic, the baseline, itself; "input" is the network's input, which for the bicubic
# degradation *is* bicubic, so the two rows agree.

# %%
table = evaluation.evaluate(valid_targets, {"input": valid_inputs} | {LOSS_LABELS[n]: p for n, p in predictions.items()},
                            scale=CONFIG.scale, crop_border=CONFIG.scale)
print(table.to_markdown())

# %% [markdown]
# **Every loss beats bicubic on average, but HFEN alone only just (+0.05 dB)**, though its HFEN
# (0.1166) is nearly the best of all (MSE + 10 HFEN's is 0.1160) and its SSIM is well above
# bicubic's. A Laplacian of Gaussian sums to
# zero, so a flat area gives no response: a constant colour offset, or a cast that varies slowly
# across the image, costs the HFEN loss nothing, and nothing holds the network's colours in place.
# SSIM, which compares local structure, hardly minds; PSNR pays for every level of offset. The next
# cell measures the drift: how far the average colour of each output is from the original's, in
# 8-bit levels (per channel, averaged over the three channels and the five photos):

# %%
colour_shift = {LOSS_LABELS[name]: float(np.mean([
    np.abs(images[photo].mean(axis=(0, 1)) - valid_targets[photo].mean(axis=(0, 1))).mean() * 255
    for photo in valid_targets])) for name, images in predictions.items()}
for label, shift in colour_shift.items():
    print(f"{label:>14}: {shift:5.1f} levels")

# %% [markdown]
# Numbers hide what the eye sees. Zoomed crops of two validation photos (pixels enlarged without
# smoothing): every trained model gives the butterfly's white spots and the parrot's black face
# stripes crisper edges than bicubic, while the differences between losses, a few tenths of a dB,
# are hard to see at this size.

# %%
boxes = {"monarch": (170, 260, 72), "kodim23": (185, 175, 72)}
rows = {name: {"original": valid_targets[name], "bicubic": valid_inputs[name],
               **{LOSS_LABELS[loss]: predictions[loss][name] for loss in LOSSES}} for name in boxes}
plotting.compare_crops(rows, boxes, size=1.7, path=course.figure_path(f"autoencoder_{MODE}_crops.png"));

# %% [markdown]
# ## What the numbers say
#
# Each loss's PSNR gain over bicubic, and the same table ranked, with each photo's gain:

# %%
means = table.mean()
plotting.bar_chart({label: values["psnr"] for label, values in means.items() if label not in ("bicubic", "input")},
                   "PSNR (dB), Y channel", baseline=means["bicubic"]["psnr"],
                   title=f"validation PSNR gain over bicubic, by training loss ({MODE} run)",
                   path=course.figure_path(f"autoencoder_{MODE}_psnr.png"));

# %%
psnr = {(row["method"], row["image"]): row["psnr"] for row in table.rows}
photos = list(valid_targets)
bicubic = means["bicubic"]
trained = {label: values for label, values in means.items() if label not in ("bicubic", "input")}
for label, values in sorted(trained.items(), key=lambda item: -item[1]["psnr"]):
    gains = " ".join(f"{psnr[label, photo] - psnr['bicubic', photo]:+.2f}" for photo in photos)
    print(f"{label:>14}: PSNR {values['psnr']:.2f} dB ({values['psnr'] - bicubic['psnr']:+.2f} over bicubic; "
          f"per photo {gains}), SSIM {values['ssim']:.4f}, HFEN {values['hfen']:.4f}")
print(f"{'bicubic':>14}: PSNR {bicubic['psnr']:.2f} dB, SSIM {bicubic['ssim']:.4f}, HFEN {bicubic['hfen']:.4f}")
print(f"photos: {', '.join(photos)}; L1 - MSE per photo: "
      + " ".join(f"{psnr['L1', photo] - psnr['MSE', photo]:+.2f}" for photo in photos))
print(f"best PSNR: {max(trained, key=lambda m: trained[m]['psnr'])}; best SSIM: "
      f"{max(trained, key=lambda m: trained[m]['ssim'])}; best HFEN: {min(trained, key=lambda m: trained[m]['hfen'])}")
print("average colour shift (8-bit levels): " + ", ".join(
    f"{label} {shift:.1f}" for label, shift in sorted(colour_shift.items(), key=lambda item: -item[1])))

# %% [markdown]
# - **Every loss but HFEN beats bicubic clearly**, on average and on each of the five photos, and
#   cuts bicubic's HFEN by a third to a half. HFEN alone falls below bicubic on two of the photos.
# - **The loss that wins on PSNR is not MSE**: L1 beats it, on every photo, although PSNR is a
#   function of MSE. MSE's gradient grows with each pixel's error, so the few large errors (at
#   edges) dominate every update; L1's gradient has the same size for every pixel. Zhao et al.
#   (2017) found the same: L1 beat L2 even on L2's own metric. The PSNR loss, which is MSE rescaled
#   per image (well-restored images weigh more), lands between the two on average: ahead of MSE on
#   two photos, behind it on three. Adam divides every update by the gradient's recent size, which undoes much of
#   a rescaling, so the two stay close.
# - **The SSIM loss wins on SSIM, narrowly**, with the smallest PSNR gain after HFEN's.
# - **HFEN alone is a poor loss**: blind to flat areas, it lets colours drift (the colour-shift
#   line: more than any other loss, and over ten times the pixel losses' drift). Mixed with MSE,
#   the original tutorial's choice, the colours hold, and the mix has the best HFEN of all and a
#   PSNR a little above MSE's, still below L1's.
# - **MS-SSIM + L1**, Zhao et al.'s recommendation, comes fifth of seven on PSNR, with our 3-scale
#   MS-SSIM (five scales would need crops of 176 pixels, not 48).
#
# In short: for this network and data, train with **L1** when the metric is PSNR, with the SSIM
# loss when it is SSIM. None of them brings back texture the downscale destroyed, which is what
# the perceptual and adversarial losses of tutorials 3 and 4 are for. Next,
# `02_unet_pixel_loss.ipynb` swaps the auto-encoder for a U-Net with a pretrained encoder.

# %% [markdown]
# The run's record (`course.finish`): its results file and its rows of the table of every tutorial's methods that `make results` writes (`results/summary.md`);
# in a short run, the zoo's `autoencoder-x2` (the L1 model of a full run) scored beside this run's.

# %%
baseline = "bicubic" if CONFIG.degradation == "bicubic" else "input"
course.finish("01_autoencoder_keras", {
    "config": vars(CONFIG), "rows": table.rows, "markdown": table.to_markdown(), "histories": histories,
    "seconds": sum(history["seconds"] for history in histories.values()), "parameters": ours.count_params(),
    "colour_shift": colour_shift, "keras_backend": keras.backend.backend(), "dtype_policy": policy},
    summary=course.Summary(
        "autoencoder", f"{CONFIG.degradation} x{CONFIG.scale}", valid_targets,
        {baseline: valid_inputs} | {f"auto-encoder, {LOSS_LABELS[n]}": p for n, p in predictions.items()},
        crop_border=CONFIG.scale,
        predict={f"auto-encoder, {LOSS_LABELS[n]}": (lambda image, model=models[n]: train_keras.predict_image(model, image),
                                                     valid_inputs) for n in LOSSES},
        parameters={f"auto-encoder, {LOSS_LABELS[n]}": ours.count_params() for n in LOSSES},
        training_seconds={f"auto-encoder, {LOSS_LABELS[n]}": histories[n]["seconds"] for n in LOSSES},
        baseline=baseline, bicubic_scale=CONFIG.scale),
    zoo=course.ZooModel("autoencoder-x2", valid_inputs, valid_targets, {"input": valid_inputs, "L1 (this run)": predictions["l1"]},
                        f"trained {histories['l1']['steps']} steps here ({MODE} mode, filters {CONFIG.filters}, "
                        f"{histories['l1']['seconds'] / 60:.1f} min)", dict(scale=CONFIG.scale, crop_border=CONFIG.scale)),
    checkpoints=checkpoint_dir)
