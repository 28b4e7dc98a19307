# %% [markdown]
# # 7. Measuring super-resolution honestly
#
# Tutorials 1-6 each ended with a table of PSNR and SSIM against bicubic. This one asks how far
# such numbers can be trusted. It trains nothing: it takes the model zoo's eight models
# (pixel-loss, perceptual, GAN, VAE and classic networks, at x2 and x4, for clean photos, web
# images and camera photos) and measures them four ways.
#
# 1. **Why PSNRs disagree.** One model, scored with one choice flipped at a time: Y or RGB, the
#    border, the bicubic that made the input, rounding to 8 bits, SSIM's window and data range.
# 2. **Consistency with the input.** Reduce each output again and compare it with the input
#    (LR-PSNR).
# 3. **The perception-distortion plane** (Blau and Michaeli, 2018): PSNR against two perceptual
#    distances to the original, model by model, photo by photo.
# 4. **Is a difference real?** A bootstrap interval and a sign-flip test for the difference between
#    two methods over five photos: when is +0.1 dB noise?
#
# Each measure is written from scratch in the cells below; `srlib.metrics` has the same functions.
# A run takes minutes on a CPU, less on a GPU.

# %% [markdown] tags=["provenance"]
# *Outputs shown: written from the results file when a run is published.*

# %% [markdown]
# ## Setup

# %%
import itertools
import time
from types import SimpleNamespace

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm
from PIL import Image
from scipy import signal
from skimage.metrics import structural_similarity

import srlib
import course
from srlib import config, evaluation, metrics, plotting, samples, zoo
from srlib.arrays import to_float
from srlib.kernels import gaussian_window
from srlib.resize import imresize, upscale_bicubic
from srlib.torch import perceptual

started = time.perf_counter()
print(f"srlib {srlib.__version__}, OpenCV {cv2.__version__}")

# %% [markdown]
# ## Parameters
#
# `SRLIB_MODE` (`srlib.config.run_mode`; by default `full` on a GPU, `fast` on a CPU) sets the
# run's size: `full` uses whole photos and 8 damages per photo in section 4; `fast`, a central
# 256-pixel crop for the perceptual distances and 4 damages; `test`, less.

# %% tags=["parameters"]
MODE = config.run_mode()                 # "test", "fast" or "full": see srlib.config
BUDGETS = {"test": dict(perceptual_crop=64, draws=2),      # the test suite's: every cell runs
           "fast": dict(perceptual_crop=256, draws=4),     # central 256x256 crop for the networks
           "full": dict(perceptual_crop=None, draws=8)}    # whole photos
CONFIG = SimpleNamespace(resamples=10000, confidence=0.95, seed=0, **BUDGETS[MODE])
config.set_seed(CONFIG.seed)
print(MODE, CONFIG)

# %% [markdown]
# ## The models and their inputs
#
# The zoo's models were trained on four tasks. Each is scored on its own, and two also on the other
# x4 task, to show a mismatch's cost: `edsr-x4` (trained on clean inputs) on camera inputs,
# `real-x4` (trained mostly on damaged photos) on clean ones. Each task damages the five validation photos
# one way (`srlib.zoo.degrade_like`, seed `[draw, index]` for photo number `index`, draw 0 until
# section 4): a clean MATLAB-bicubic reduction (the benchmark task) at x2 and x4;
# `srlib.degrade.realistic`, a camera-like damage that no zoo model trained on, for the camera
# models (Gaussian blur, MATLAB-bicubic reduction, noise, JPEG);
# and tutorial 2's *crappify* for the U-Nets. Crappify shrinks the photo (MATLAB's bicubic) to a
# 192-pixel shorter side, the target; `srlib.degrade.crappify` halves that (Pillow's bilinear),
# draws a JPEG quality from 10 to 70, writes that number in white at a random point of the top-left
# quarter (as fast.ai's lesson 7 does), and saves a JPEG of that quality. Each task's baseline is
# bicubic enlargement of its input. The damage is drawn with other seeds than in tutorials 2-4, and
# the border cropped is the scale (2 pixels at x2, where those tutorials crop 4), so the U-Nets' task
# scores differently here: bicubic 27.93 dB in the tables below, against 27.30 dB there.

# %%
TASKS = {  # task: (its degradation, the scale, the zoo's models for it)
    "x2 clean": ("bicubic", 2, ("autoencoder-x2", "edsr-x2")),
    "x2 web (crappify)": ("crappify", 2, ("unet-pixel", "unet-perceptual", "gan")),
    "x4 clean": ("bicubic", 4, ("vae-x4", "edsr-x4", "real-x4")),
    "x4 camera (realistic)": ("realistic", 4, ("edsr-x4", "real-x4")),
}
photos = samples.load_split("valid")
models = {name: zoo.load_model(name) for name in sorted({m for _, _, names in TASKS.values() for m in names})}
recipes = {"bicubic": {"name": "bicubic"}, "realistic": {"name": "realistic"},
           "crappify": models["unet-pixel"][1]["degradation"]}


def make_inputs(degradation: str, scale: int, draw: int = 0) -> tuple[dict, dict]:
    """``({photo: lowres}, {photo: highres})``: the validation photos degraded one task's way."""
    recipe = {"name": f"{degradation} x{scale}", "scale": scale, "degradation": recipes[degradation]}
    pairs = {name: zoo.degrade_like(recipe, image, seed=[draw, index]) for index, (name, image) in enumerate(photos.items())}
    return {name: pair[0] for name, pair in pairs.items()}, {name: pair[1] for name, pair in pairs.items()}


def enlarge(method: str, lowres: dict, scale: int) -> dict:
    """Every photo of ``lowres`` enlarged ``scale`` times by bicubic or a zoo model."""
    if method == "bicubic":
        return {name: upscale_bicubic(image, scale) for name, image in lowres.items()}
    model, metadata = models[method]
    return {name: zoo.upscale(model, metadata, image, tile=None) for name, image in lowres.items()}


inputs, targets, outputs = {}, {}, {}
for task, (degradation, scale, names) in TASKS.items():
    inputs[task], targets[task] = make_inputs(degradation, scale)
    outputs[task] = {method: enlarge(method, inputs[task], scale) for method in ("bicubic", *names)}
    print(f"{task}: {', '.join(outputs[task])}; highres {targets[task]['kodim23'].shape[1]}x"
          f"{targets[task]['kodim23'].shape[0]} (kodim23)")

# %% [markdown]
# ## 1. Why PSNRs disagree
#
# PSNR is `10 log10(255² / MSE)`, but which pixels, on what scale, of which output? Here it is as
# BasicSR's `calculate_psnr` computes it: the images on the [0, 255] scale in float64,
# `crop_border` pixels removed from every side, and, with `test_y_channel`, only the luma Y, not
# RGB. Y is a weighted sum of R, G and B with the weights of the ITU-R BT.601 television standard,
# in the *studio range* of MATLAB's `rgb2ycbcr`: black is 16 and white 235, so Y spans 219 grey
# levels instead of 255 (the weights in `y_channel` sum to 219).

# %%
def y_channel(image_255: np.ndarray) -> np.ndarray:
    """Luma of an HWC RGB image on [0, 255], as MATLAB's rgb2ycbcr: 16 (black) to 235 (white)."""
    return image_255 @ np.array([65.481, 128.553, 24.966]) / 255.0 + 16.0


def psnr_255(a: np.ndarray, b) -> float:
    """PSNR in dB of two float arrays on the [0, 255] scale."""
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def psnr_like_basicsr(highres, output, crop_border: int, test_y_channel: bool) -> float:
    a, b = (np.asarray(image, dtype=np.float64) for image in (highres, output))   # uint8 HWC RGB
    if crop_border:
        a, b = a[crop_border:-crop_border, crop_border:-crop_border], b[crop_border:-crop_border, crop_border:-crop_border]
    if test_y_channel:
        a, b = y_channel(a), y_channel(b)
    return psnr_255(a, b)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8, rounded: what saving a PNG does (and BasicSR's tensor2img)."""
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


highres_8bit, output_8bit = to_uint8(targets["x4 clean"]["kodim23"]), to_uint8(outputs["x4 clean"]["edsr-x4"]["kodim23"])
for border, y in ((4, True), (0, False)):
    ours = psnr_like_basicsr(highres_8bit, output_8bit, border, y)
    assert abs(ours - metrics.psnr(highres_8bit, output_8bit, crop_border=border, y_channel=y)) < 1e-9
    print(f"border {border}, {'Y' if y else 'RGB'}: {ours:.3f} dB here, the same with srlib.metrics.psnr")

# %% [markdown]
# SSIM (Wang et al., 2004) compares local means, variances and covariance in a sliding window.
# The paper's window is a Gaussian of 11x11 pixels with sigma 1.5, and its constants are
# `(0.01 L)²` and `(0.03 L)²` for a data range `L` (255 for 8-bit images). scikit-image's
# `structural_similarity` uses a uniform 7x7 window unless told otherwise. Both windows, written
# once, checked against `srlib.metrics.ssim` (Gaussian) and scikit-image (uniform):

# %%
def ssim_one_channel(a: np.ndarray, b: np.ndarray, window: np.ndarray, data_range: float) -> float:
    """Mean SSIM of two 2-D arrays over the positions where ``window`` fits."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def local_mean(x):
        return signal.correlate(x, window, mode="valid")

    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a, var_b = local_mean(a * a) - mu_a**2, local_mean(b * b) - mu_b**2
    covariance = local_mean(a * b) - mu_a * mu_b
    return float(np.mean((2 * mu_a * mu_b + c1) * (2 * covariance + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))))


GAUSSIAN_11 = gaussian_window(11, 1.5)
UNIFORM_7 = np.full((7, 7), 1 / 49)
a_y = y_channel(highres_8bit.astype(np.float64))[4:-4, 4:-4]
b_y = y_channel(output_8bit.astype(np.float64))[4:-4, 4:-4]
gaussian_here = ssim_one_channel(a_y, b_y, GAUSSIAN_11, 255)
uniform_here = ssim_one_channel(a_y, b_y, UNIFORM_7, 255)
assert abs(gaussian_here - metrics.ssim(highres_8bit, output_8bit, crop_border=4, y_channel=True)) < 1e-9
assert abs(uniform_here - structural_similarity(a_y, b_y, win_size=7, data_range=255, use_sample_covariance=False)) < 1e-9
print(f"SSIM Gaussian 11x11: {gaussian_here:.4f} (= srlib.metrics.ssim); uniform 7x7: {uniform_here:.4f} "
      "(= scikit-image)")

# %% [markdown]
# Now the experiment. `edsr-x4` was trained on inputs made by MATLAB's bicubic. The first row is
# the benchmark convention: the input saved as an 8-bit PNG (as a dataset's files are), the output
# rounded to 8 bits (BasicSR's `tensor2img`), PSNR and SSIM on Y with a border of `scale` pixels.
# Each other row flips one choice (mean over the five photos; *PSNR change* is from the first row).
# Bicubic goes through the same pipeline: the *gain* column shows whether the model's lead moves.
#
# Two rows change the bicubic that makes the input. Bicubic weighs the 4x4 nearest pixels with
# Keys' (1981) cubic kernel, whose parameter `a` sets the depth of its negative lobes: MATLAB and
# Pillow use a = -0.5, OpenCV a = -0.75. When shrinking, an *antialiased* resize stretches the
# kernel by the reduction factor, so each new pixel averages all the pixels it covers (a low-pass
# filter). Without that, detail finer than the new grid folds into false patterns (jagged edges,
# moiré): the image is *aliased*.

# %%
def reduce_photo(highres: np.ndarray, scale: int, how: str) -> np.ndarray:
    """The low-resolution input, made the way some codebase makes it."""
    height, width = highres.shape[0] // scale, highres.shape[1] // scale
    if how == "MATLAB":            # srlib.resize.imresize: MATLAB's imresize, antialiased, then an 8-bit PNG
        return to_float(to_uint8(imresize(highres, size=(height, width))))
    if how == "MATLAB, float":     # the same, kept in float (never saved)
        return imresize(highres, size=(height, width))
    if how == "Pillow":            # Image.resize(BICUBIC) on the 8-bit photo: antialiased, a = -0.5
        return to_float(np.asarray(Image.fromarray(to_uint8(highres)).resize((width, height), Image.BICUBIC)))
    if how == "OpenCV":            # cv2.resize(INTER_CUBIC): a = -0.75 and no antialiasing when shrinking
        return to_float(cv2.resize(to_uint8(highres), (width, height), interpolation=cv2.INTER_CUBIC))
    raise ValueError(how)


def full_range_luma(image_255: np.ndarray) -> np.ndarray:
    """Pillow's convert("L") and OpenCV's gray: 0.299 R + 0.587 G + 0.114 B, 0 to 255."""
    return image_255 @ np.array([0.299, 0.587, 0.114])


def score_pair(highres, output, scale: int, channel="Y", border=None, ssim_window=GAUSSIAN_11, ssim_scale=255.0,
               ssim_range=255.0) -> tuple[float, float]:
    """(PSNR, SSIM) of one output under one set of conventions; the defaults are the benchmark's.

    ``ssim_scale`` is the scale SSIM sees the images on (1.0: as [0, 1] floats); ``ssim_range`` is
    the data range ``L`` in SSIM's constants. A mismatch of the two is the last row's mistake."""
    border = scale if border is None else border
    a, b = (to_float(image).astype(np.float64) * 255.0 for image in (highres, output))
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    convert = {"Y": y_channel, "Y full range": full_range_luma, "RGB": None}[channel]
    a, b = (convert(a), convert(b)) if convert else (a, b)
    psnr = psnr_255(a, b)
    a, b = (a[..., None], b[..., None]) if a.ndim == 2 else (a, b)
    ssim = np.mean([ssim_one_channel(a[..., c] * ssim_scale / 255, b[..., c] * ssim_scale / 255, ssim_window, ssim_range)
                    for c in range(a.shape[2])])
    return float(psnr), float(ssim)


CONVENTIONS = {  # row: (how the input is made, round the output to 8 bits, scoring options)
    "benchmark: MATLAB bicubic input (8-bit), 8-bit output, Y, border 4": ("MATLAB", True, {}),
    "output kept in float, not rounded": ("MATLAB", False, {}),
    "input kept in float, not rounded": ("MATLAB, float", True, {}),
    "RGB instead of Y": ("MATLAB", True, dict(channel="RGB")),
    "full-range luma (Pillow's 'L') instead of Y": ("MATLAB", True, dict(channel="Y full range")),
    "no border removed": ("MATLAB", True, dict(border=0)),
    "input reduced by Pillow's bicubic": ("Pillow", True, {}),
    "input reduced by OpenCV's bicubic": ("OpenCV", True, {}),
    "SSIM: uniform 7x7 window (scikit-image's default)": ("MATLAB", True, dict(ssim_window=UNIFORM_7)),
    "SSIM: images in [0, 1], data range left at 255": ("MATLAB", True, dict(ssim_scale=1.0)),
}
scale, highres_x4 = 4, targets["x4 clean"]
edsr_x4 = models["edsr-x4"]
convention_rows, by_input = [], {}
for row, (how, round_output, options) in CONVENTIONS.items():
    if how not in by_input:
        lowres = {name: reduce_photo(image, scale, how) for name, image in highres_x4.items()}
        by_input[how] = {"bicubic": enlarge("bicubic", lowres, scale), "edsr-x4": enlarge("edsr-x4", lowres, scale)}
    scores = {}
    for method, predictions in by_input[how].items():
        pairs = [score_pair(highres_x4[name], to_uint8(image) if round_output else image, scale, **options)
                 for name, image in predictions.items()]
        scores[method] = np.mean(pairs, axis=0)
    convention_rows.append({"convention": row, "edsr-x4 psnr": scores["edsr-x4"][0], "edsr-x4 ssim": scores["edsr-x4"][1],
                            "bicubic psnr": scores["bicubic"][0],
                            "gain": scores["edsr-x4"][0] - scores["bicubic"][0]})
reference = convention_rows[0]
print("| convention (one change from the first row) | edsr-x4 PSNR (dB) | PSNR change (dB) | bicubic PSNR (dB) | gain (dB) "
      "| edsr-x4 SSIM |\n|---|---|---|---|---|---|")
for row in convention_rows:
    change = "" if row is reference else f"{row['edsr-x4 psnr'] - reference['edsr-x4 psnr']:+.2f}"
    print(f"| {row['convention']} | {row['edsr-x4 psnr']:.2f} | {change} | {row['bicubic psnr']:.2f} | "
          f"{row['gain']:+.2f} | {row['edsr-x4 ssim']:.4f} |")

# %% [markdown]
# One model, one set of photos: the scoring choices alone (the rows whose input MATLAB's bicubic
# made) put `edsr-x4` anywhere from 30.02 to 31.57 dB, a wider span than most of section 4's
# differences between models. The OpenCV row (25.39 dB) is not a scoring choice: it changes the
# task.
#
# - **Y or RGB, and which Y.** Y leaves out the colour channels' errors. Full-range luma (0.299 R +
#   0.587 G + 0.114 B, 0 to 255) has MATLAB's weights times 255/219, and PSNR keeps 255 as the peak
#   for both: MATLAB's Y shrinks every error by 219/255, which adds `20 log10(255 / 219)` = 1.32 dB
#   (the table's -1.32). Both move bicubic's PSNR as much as the model's, so the gain hardly moves
#   (+1.88 and +1.92 against +1.92 dB).
# - **The input's bicubic** changes the *task*. OpenCV's `INTER_CUBIC` does not antialias when it
#   shrinks; its aliased input is unlike anything `edsr-x4` learned to undo, and the network falls
#   3.24 dB below bicubic. Pillow's bicubic, antialiased with MATLAB's kernel, gives the same
#   number.
# - **The border and 8-bit rounding** move these photos' numbers by 0.08 dB at most. Keeping the
#   border raises both PSNRs here (31.57 and 29.66 against 31.50 and 29.58): these photos' borders
#   come out better than average. Cropping is a convention; say whether you did.
# - **SSIM** shifts with its window (0.8970 uniform, 0.8879 Gaussian). The last row puts the images
#   in [0, 1] (`ssim_scale=1`) but leaves the data range `L` of SSIM's constants (`ssim_range`) at
#   255: the constants swamp every variance, SSIM collapses to 1, and every method looks perfect.
#
# Codebases differ: EDSR's own code (`calc_psnr` in EDSR-PyTorch's `src/utility.py`) scores
# benchmark sets on Y with a border of `scale`, DIV2K's validation images on RGB with a border of
# `scale + 6`; BasicSR's EDSR test configurations, RGB (`test_y_channel: false`) with `crop_border`
# equal to the scale; MMagic, RGB with a border of `scale` (its `configs/edsr/README.md`);
# scikit-image's `peak_signal_noise_ratio`, what it is given (RGB, no border). To reproduce the
# first row for a model of this collection, give it MATLAB-bicubic inputs saved to 8 bits
# (`srlib.degrade.bicubic`, then rounded), round its output to 8 bits, and call
#
#     srlib.metrics.psnr(highres_uint8, output_uint8, crop_border=scale, y_channel=True)
#     srlib.metrics.ssim(highres_uint8, output_uint8, crop_border=scale, y_channel=True)
#
# Compare a model with bicubic (or two models) through one pipeline, and say which it was.

# %% [markdown]
# ### A published table, reproduced
#
# To put a model beside someone else's numbers, score it their way, and first check that their
# baseline comes out to the digit. OpenCV's `dnn_superres` module publishes a table for `monarch`
# at x4 (`modules/dnn_superres/README.md` of opencv_contrib). Its benchmark program
# (`samples/dnn_superres_benchmark_quality.cpp`) crops the photo to a multiple of 4, shrinks it
# with `cv2.resize`'s default, `INTER_LINEAR`, which does not antialias, enlarges it, and takes
# `cv::PSNR` of the 8-bit output: RGB, every pixel, no border. `srlib.evaluation.opencv_protocol`
# follows those steps. Here "bicubic" is OpenCV's: `cv2.resize` with `INTER_CUBIC` enlarging that
# reduction. The three interpolation rows (`cv2.resize` enlargements) must match the published ones
# before the networks' rows mean anything. OpenCV's networks are not run here: their rows are the
# published numbers. The zoo's `real-x4` was trained on photos reduced by several programs,
# OpenCV's `INTER_LINEAR` among them; `edsr-x4` and `vae-x4` on MATLAB's bicubic only:

# %%
X4_MODELS = ("edsr-x4", "real-x4", "vae-x4")
opencv_scores = evaluation.opencv_protocol(photos["monarch"], 4, {
    name: (lambda lowres, name=name: enlarge(name, {"monarch": lowres}, 4)["monarch"]) for name in X4_MODELS})
published = evaluation.OPENCV_MONARCH_X4
for method in evaluation.OPENCV_ENLARGEMENTS:      # bicubic, nearest, Lanczos: reproduced, or the protocol is wrong
    assert abs(opencv_scores[method] - published[method]["psnr"]) < 1e-4, method
print("| method | PSNR (dB), here | PSNR (dB), published |\n|---|---|---|")
for method in evaluation.OPENCV_ENLARGEMENTS:
    print(f"| {method} (`cv2.resize`) | {opencv_scores[method]:.4f} | {published[method]['psnr']:.4f} |")
for method in sorted(set(published) - set(evaluation.OPENCV_ENLARGEMENTS), key=lambda m: published[m]["psnr"]):
    print(f"| {method} (OpenCV's model) | | {published[method]['psnr']:.4f} |")
for name in X4_MODELS:
    print(f"| `{name}` (this collection's zoo) | {opencv_scores[name]:.4f} | |")

# %% [markdown]
# The interpolation rows match to the last published digit, so the protocol is theirs. Under it
# `edsr-x4`, 1.92 dB above bicubic on MATLAB's reductions (the table above), falls 2 dB below
# OpenCV's bicubic, and `vae-x4` 0.4 dB: the reduction is unfiltered, like the OpenCV row of the
# table above (there `INTER_CUBIC`, here `INTER_LINEAR`), a task they never learned. `real-x4` is
# ahead of OpenCV's ESPCN, FSRCNN and LapSRN, and behind its EDSR (the full EDSR, 43 M parameters
# trained on DIV2K, against `real-x4`'s 1.5 M). This is one photo: its 0.13 dB over LapSRN is a
# margin section 4 would call noise. A published number is a number under a protocol: the same network can sit above or below
# a table's rows depending on how the photo was shrunk.

# %% [markdown]
# ## 2. Consistency with the input
#
# A super-resolved image is one of many that reduce to the input. **LR-PSNR** asks whether the
# model's output is one of them: reduce the output by MATLAB's bicubic and take its PSNR, on Y,
# against the input. A model that only adds what the reduction removed scores high; one that
# changed or invented content scores lower. From scratch:

# %%
def departure(lowres: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Y(output reduced like its input) - Y(input) in grey levels, HxW at the input's size."""
    reduced = imresize(output, size=lowres.shape[:2])            # the output, reduced like its input
    return y_channel(reduced.astype(np.float64) * 255) - y_channel(lowres.astype(np.float64) * 255)


def lr_psnr_here(lowres: np.ndarray, output: np.ndarray) -> float:
    return psnr_255(departure(lowres, output), 0.0)              # the departure is the error


example = lr_psnr_here(inputs["x4 clean"]["kodim23"], outputs["x4 clean"]["edsr-x4"]["kodim23"])
print(f"edsr-x4 on kodim23: LR-PSNR {example:.2f} dB")

# %% [markdown]
# `srlib.metrics.lr_psnr`, the same computation, gives the table below, with the original photo for
# reference. `departure` always reduces with MATLAB's bicubic, the clean tasks' reduction, so there
# the original gives its input back exactly. The damaged inputs were made otherwise (crappify:
# Pillow's bilinear, the number, JPEG; camera: blur, bicubic, noise, JPEG), and no reduction undoes
# that. There the original's own LR-PSNR holds all of it (the damage and, for crappify, the other
# kernel; nothing here separates them): read those tasks' LR-PSNRs against the original's row.

# %%
consistency, psnr_per_photo = {}, {}   # psnr_per_photo: (task, method) -> one PSNR per photo (the plane's too)
for task, (degradation, scale, names) in TASKS.items():
    rows = {"original": targets[task], **outputs[task]}
    for method, predictions in rows.items():
        psnr_per_photo[task, method] = [metrics.psnr(targets[task][p], predictions[p], scale, True) for p in photos]
        consistency[task, method] = {
            "psnr": np.mean(psnr_per_photo[task, method]),
            "lr_psnr": np.mean([metrics.lr_psnr(inputs[task][p], predictions[p], scale) for p in photos])}
print("| task | method | PSNR (dB) | LR-PSNR (dB) |\n|---|---|---|---|")
for (task, method), values in consistency.items():
    print(f"| {task} | {method} | {values['psnr']:.2f} | {values['lr_psnr']:.2f} |")

# %% [markdown]
# (The PSNR column matches section 1's row "input kept in float": these inputs are never saved to 8
# bits.) On the clean tasks the classic networks keep closest to their input (65.13 dB at x2, 59.79
# at x4): trained with L1 on exact reductions, they add only what the reduction took away. Bicubic
# departs more (43.22 at x2, 41.53 at x4: enlarging and reducing again blurs a little); the
# auto-encoder (52.06) and the VAE (49.59) lie between. `real-x4` departs most, a little further
# than bicubic (41.19 dB), and is still 0.89 dB above bicubic on PSNR (30.47 against 29.58):
# trained to remove blur and noise, it smooths a little where a clean input has none, and stays
# 1.04 dB below `edsr-x4`, the specialist of this task. On the damaged tasks the original itself is
# far from its input (30.54 and 30.56 dB), so a model removing the damage must depart too: the
# U-Nets (33.73 to 34.28 dB) sit much nearer the original's value than bicubic's (42.43). `edsr-x4`
# on camera inputs is as faithful as on clean ones (60.48 dB): it keeps the noise and the blocks,
# and falls below bicubic (26.47 against 26.74 dB). `real-x4` departs (39.24 dB) and is 0.42 dB
# above bicubic (27.16). LR-PSNR checks that a model did not invent; it cannot say that it
# repaired.

# %% [markdown]
# Where each model departs from its input, on `monarch`: the Y difference between the reduced
# output and the input, in grey levels, one square-root colour scale for all panels (brighter is
# further; the original first; titles give each map's mean). The clean original reduces exactly to
# its input: its panel is black. `edsr-x4` stays dark in both its rows (0.20 and 0.21 grey levels
# on average), `real-x4` glows faintly on the clean input (1.50) along the wings' edges, and on the
# damaged tasks the other models' maps are fainter copies of the original's (about 2.6 against 5.65
# for the U-Nets, 3.04 against 9.85 for `real-x4`): they go part of the way back to the photo.

# %%
map_rows = {"x4 clean": "monarch", "x2 web (crappify)": "monarch", "x4 camera (realistic)": "monarch"}
maps = {(task, method): np.abs(departure(inputs[task][photo], targets[task][photo] if method == "original"
                                         else outputs[task][method][photo]))
        for task, photo in map_rows.items() for method in ["original", *TASKS[task][2]]}
top = np.percentile(np.concatenate([m.ravel() for m in maps.values()]), 99.5) or 1.0   # one scale for all rows
figure, axes = plt.subplots(len(map_rows), 4, figsize=(12, 2.5 * len(map_rows)), squeeze=False)
for axis in axes.ravel():
    axis.axis("off")                                   # a row with fewer models leaves its last panel empty
for row, task in enumerate(map_rows):
    for column, method in enumerate(["original", *TASKS[task][2]]):
        values = maps[task, method]
        shown = axes[row, column].imshow(values, cmap="magma", norm=PowerNorm(0.5, vmin=0, vmax=top))
        title = f"{task}\n" if column == 0 else "\n"
        axes[row, column].set_title(f"{title}{method}: mean {values.mean():.2f}", fontsize=9)
figure.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.6, label="|departure|, grey levels (Y), square-root scale")
figure.suptitle(f"How far each output, reduced again, is from its input: {', '.join(sorted(set(map_rows.values())))}",
                fontsize=11)
plotting.save(figure, course.figure_path(f"measuring_{MODE}_consistency.png"));

# %% [markdown]
# ## 3. The perception-distortion plane
#
# Blau and Michaeli (2018) separate two kinds of measure. A *full-reference* one compares the
# output with its original; they call any such measure a *distortion* (MSE, so PSNR, is one). A
# *no-reference* one judges the output alone, and their *perceptual quality* is of that kind: how
# far the outputs' distribution is from real photos', as estimated by a judge who never sees the
# original (people asked "real or not?", a GAN's critic, NIQE). They proved that no method can be
# best at both: past a point, one is bought with the other.
#
# The two distances here are full-reference, so in those terms they are distortions too: the LPIPS
# recipe (Zhang et al., 2018) without its learned weights (`srlib.torch.perceptual`, taught in tutorial
# 3). Both images go through a network pretrained on ImageNet; its activations at a few layers are
# normalised and their squared differences averaged: 0 for identical images, lower is better. Zhang
# et al. found such distances closer than PSNR to people's judgements of similarity. One network is
# VGG-16, which tutorial 3's loss also uses; the other is MobileNetV2, which no loss here uses. The
# plane below (PSNR on Y, border `scale`) shows which models look closer to the original to a
# network; Blau and Michaeli's bound needs a no-reference judge, and none is computed here.

# %%
def central_crop(image: np.ndarray, size) -> np.ndarray:
    """The central ``size`` x ``size`` pixels (the whole image when ``size`` is None or larger)."""
    if size is None:
        return image
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top: top + size, left: left + size]


plane = {}     # (task, method) -> {"psnr": [...], "vgg": [...], "mobilenet": [...]}, one value per photo
for task, (degradation, scale, names) in TASKS.items():
    for method, predictions in outputs[task].items():
        values = {"psnr": psnr_per_photo[task, method], "vgg": [], "mobilenet": []}
        for photo in photos:
            highres, output = targets[task][photo], predictions[photo]
            crop_a, crop_b = central_crop(highres, CONFIG.perceptual_crop), central_crop(output, CONFIG.perceptual_crop)
            values["vgg"].append(perceptual.vgg_distance(crop_a, crop_b))
            values["mobilenet"].append(perceptual.mobilenet_distance(crop_a, crop_b))
        plane[task, method] = values
print("| task | method | PSNR (dB) | VGG distance | MobileNetV2 distance |\n|---|---|---|---|---|")
for (task, method), values in plane.items():
    print(f"| {task} | {method} | {np.mean(values['psnr']):.2f} | {np.mean(values['vgg']):.4f} | "
          f"{np.mean(values['mobilenet']):.4f} |")

# %%
COLOURS = {"bicubic": "grey", "autoencoder-x2": "tab:olive", "edsr-x2": "tab:blue", "edsr-x4": "tab:blue",
           "unet-pixel": "tab:green", "unet-perceptual": "tab:orange", "gan": "tab:red", "vae-x4": "tab:purple",
           "real-x4": "tab:brown"}
MARKERS = dict(zip(photos, "osD^v"))      # one shape per photo, one colour per method
figure, axes = plt.subplots(2, len(TASKS), figsize=(4.2 * len(TASKS), 8.2))
for column, task in enumerate(TASKS):
    methods = [method for plane_task, method in plane if plane_task == task]
    for row, (distance, label) in enumerate((("vgg", "VGG-16 distance"), ("mobilenet", "MobileNetV2 distance"))):
        axis = axes[row, column]
        for index, photo in enumerate(photos):      # a thin line joins one photo's marks, method to method
            axis.plot([plane[task, method]["psnr"][index] for method in methods],
                      [plane[task, method][distance][index] for method in methods], color="grey", lw=0.6, alpha=0.5)
        for order, method in enumerate(methods):
            values = plane[task, method]
            for photo, x, y in zip(photos, values["psnr"], values[distance]):
                axis.scatter(x, y, s=24, alpha=0.85, color=COLOURS[method], marker=MARKERS[photo], zorder=2)
            axis.scatter(np.mean(values["psnr"]), np.mean(values[distance]), s=170 - 35 * order,   # later means
                         color=COLOURS[method], edgecolor="black", label=method, zorder=3)    # smaller: none hidden
        axis.set_xlabel("PSNR against the original (dB, Y)  better →")
        axis.set_ylabel(f"{label} to the original  better ↓")
        axis.grid(alpha=0.3)
        if row == 0:
            axis.set_title(task)
            axis.legend(fontsize=8)
figure.legend(handles=[plt.Line2D([], [], marker=marker, color="black", linestyle="none", label=photo)
                       for photo, marker in MARKERS.items()],
              loc="lower center", ncol=len(MARKERS), fontsize=9, title="small marks: one photo each", title_fontsize=9)
figure.suptitle(f"PSNR against two perceptual distances: the zoo's models on the {len(photos)} validation photos "
                f"(large: the mean over the photos)", fontsize=11)
figure.tight_layout(rect=(0, 0.06, 1, 1))
plotting.save(figure, course.figure_path(f"measuring_{MODE}_plane.png"));

# %% [markdown]
# Small marks are single photos (a grey line joins each photo's marks), large ones the table's
# means. The photos spread further than the methods: at x2 clean, `coffee` (squares) sits 2 to 6 dB
# below the other photos for every method. Yet within each photo the clean tasks keep the means'
# order (classic network, auto-encoder or VAE, bicubic; `real-x4` is above bicubic on four photos,
# below on `chelsea`), so comparisons should pair the photos (section 4).
#
# Sharing VGG-16 with tutorial 3's loss did not favour `unet-perceptual`: by VGG it is slightly
# farther from the originals than `unet-pixel` on average (0.4132 against 0.4094; photo by photo
# it is nearer on three of the five, and `flower` decides the mean). The loss is another
# function of the network: L1 between raw activations at three deep layers and between their Gram
# matrices, where the distance compares unit-normalised activations at five layers, shallow ones
# included.
#
# Blau and Michaeli's trade-off bounds the best possible methods; giving up PSNR does not by itself
# buy perception. A method is *dominated* when another of its task is at least as good on both
# axes, here by the means over the photos. Some verdicts rest on differences section 4 finds within
# noise (`gan` against `unet-perceptual`, +0.03 dB): read "dominated" as "ahead on neither axis",
# not "worse":

# %%
def dominated_by(task: str, method: str, distance: str) -> list[str]:
    """The methods of ``task`` with at least the PSNR and at most the distance of ``method``."""
    mine = plane[task, method]
    return [other for other in outputs[task] if other != method
            and np.mean(plane[task, other]["psnr"]) >= np.mean(mine["psnr"])
            and np.mean(plane[task, other][distance]) <= np.mean(mine[distance])]


dominance = {}
for task in TASKS:
    for method in outputs[task]:
        dominance[task, method] = {distance: dominated_by(task, method, distance) for distance in ("vgg", "mobilenet")}
        if any(dominance[task, method].values()):
            print(f"{task}: {method} is dominated on VGG by {dominance[task, method]['vgg'] or 'none'}, "
                  f"on MobileNetV2 by {dominance[task, method]['mobilenet'] or 'none'}")

# %% [markdown]
# ## 4. Is a difference real?
#
# Five photos are a small sample. A model 0.1 dB ahead on average may be ahead on every photo, or
# far ahead on one and behind on the rest. Two tools, both on the per-photo differences (A's score
# minus B's):
#
# - The **paired bootstrap** asks how far the mean difference would move with other photos like
#   these: draw five of the five photos *with replacement* (some twice, some not at all), take
#   their mean difference, repeat 10 000 times. The **percentile** interval is the central 95 % of
#   those means (2.5th to 97.5th percentile). Photos, not pixels, are resampled: one photo's pixels
#   are not independent.
# - The **sign-flip test** gives a **p-value**: how likely a mean difference at least as large (in
#   absolute value) as the one observed would be if A and B were equally good. Each photo's
#   difference would then be as likely positive as negative, so the test flips the five signs in
#   all 2⁵ = 32 ways and counts the share of means that reach the observed one. The customary bar
#   is p below 0.05.
#
# With five photos p has a floor: when all five differences share a sign, only two of the 32
# patterns reach the observed size (the observed one and all five flipped), so p is at least 2/32 =
# 0.0625 (the second line below), and no comparison over five photos can pass 0.05. From scratch:

# %%
def bootstrap_interval(differences: np.ndarray, resamples: int, confidence: float, seed) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(differences), size=(resamples, len(differences)))   # photos drawn with replacement
    means = differences[picks].mean(axis=1)
    tail = (1 - confidence) / 2
    return tuple(np.quantile(means, [tail, 1 - tail]))


def sign_flip_p_value(differences: np.ndarray) -> float:
    """Exact two-sided sign-flip test: under "no difference", each photo's sign is a coin toss."""
    observed = abs(differences.mean())
    flips = np.array(list(itertools.product((1, -1), repeat=len(differences))))
    return float(np.mean(np.abs((flips * differences).mean(axis=1)) >= observed - 1e-12))


gains = np.array(plane["x4 clean", "edsr-x4"]["psnr"]) - np.array(plane["x4 clean", "bicubic"]["psnr"])
here = bootstrap_interval(gains, CONFIG.resamples, CONFIG.confidence, CONFIG.seed)
print(f"edsr-x4 - bicubic: {gains.mean():+.2f} dB, 95 % interval [{here[0]:+.2f}, {here[1]:+.2f}]")
print(f"with {len(gains)} photos the smallest possible sign-flip p-value is {2 / 2 ** len(gains):.4f}")

# %% [markdown]
# `srlib.metrics.paired_bootstrap` is the same resampling. It gives the comparisons below, each
# over the five photos; for the camera task, first with one damage per photo, as tutorial 6 did,
# then with each photo's mean over `CONFIG.draws` damages. The last row compares MobileNetV2
# distances, negated so that, as in the PSNR rows, a positive difference means A is better: its
# negative mean and "0 of 5" say that A, `unet-perceptual`, is farther from the originals than
# `unet-pixel` on every photo. The figure shows the PSNR rows, red where the interval includes 0:

# %%
def per_photo(task, method, key="psnr"):
    return np.array(plane[task, method][key])


camera_draws = {method: [psnr_per_photo["x4 camera (realistic)", method]]    # draw 0: the damage scored above
                for method in ("bicubic", "real-x4", "edsr-x4")}
for draw in range(1, CONFIG.draws):
    lowres, highres = make_inputs("realistic", 4, draw)
    for method in camera_draws:
        predictions = enlarge(method, lowres, 4)
        camera_draws[method].append([metrics.psnr(highres[p], predictions[p], 4, True) for p in photos])
camera_mean = {method: np.mean(scores, axis=0) for method, scores in camera_draws.items()}   # per photo

COMPARISONS = {  # label: (scores of A, scores of B, what is measured)
    "edsr-x4 vs bicubic (x4 clean)": (per_photo("x4 clean", "edsr-x4"), per_photo("x4 clean", "bicubic"), "dB"),
    "edsr-x4 vs vae-x4 (x4 clean)": (per_photo("x4 clean", "edsr-x4"), per_photo("x4 clean", "vae-x4"), "dB"),
    "edsr-x2 vs autoencoder-x2 (x2 clean)": (per_photo("x2 clean", "edsr-x2"), per_photo("x2 clean", "autoencoder-x2"), "dB"),
    "unet-pixel vs unet-perceptual (x2 web)": (per_photo("x2 web (crappify)", "unet-pixel"),
                                               per_photo("x2 web (crappify)", "unet-perceptual"), "dB"),
    "gan vs unet-perceptual (x2 web)": (per_photo("x2 web (crappify)", "gan"),
                                        per_photo("x2 web (crappify)", "unet-perceptual"), "dB"),
    "real-x4 vs bicubic (camera, 1 damage)": (per_photo("x4 camera (realistic)", "real-x4"),
                                              per_photo("x4 camera (realistic)", "bicubic"), "dB"),
    f"real-x4 vs bicubic (camera, {CONFIG.draws} damages)": (camera_mean["real-x4"], camera_mean["bicubic"], "dB"),
    f"real-x4 vs edsr-x4 (camera, {CONFIG.draws} damages)": (camera_mean["real-x4"], camera_mean["edsr-x4"], "dB"),
    "unet-perceptual vs unet-pixel, MobileNetV2 distance (lower wins)": (
        -per_photo("x2 web (crappify)", "unet-perceptual", "mobilenet"),
        -per_photo("x2 web (crappify)", "unet-pixel", "mobilenet"), "distance"),
}
comparisons = {}
print("| A vs B | mean | median | 95 % interval | photos where A wins | sign-flip p |\n|---|---|---|---|---|---|")
for label, (scores_a, scores_b, unit) in COMPARISONS.items():
    result = metrics.paired_bootstrap(scores_a, scores_b, CONFIG.resamples, CONFIG.confidence, CONFIG.seed)
    result["p"] = sign_flip_p_value(scores_a - scores_b)
    comparisons[label] = result
    digits = 2 if unit == "dB" else 4
    print(f"| {label} | {result['mean']:+.{digits}f} | {result['median']:+.{digits}f} | [{result['low']:+.{digits}f}, "
          f"{result['high']:+.{digits}f}] | {result['wins']} of {result['count']} | {result['p']:.3f} |")

# %%
psnr_labels = [label for label, (_, _, unit) in COMPARISONS.items() if unit == "dB"]
figure, axis = plt.subplots(figsize=(8, 0.45 * len(psnr_labels) + 1))
for position, label in enumerate(reversed(psnr_labels)):
    result, (scores_a, scores_b, _) = comparisons[label], COMPARISONS[label]
    colour = "tab:red" if result["low"] <= 0 <= result["high"] else "black"    # red: the interval includes 0
    axis.plot([result["low"], result["high"]], [position, position], color=colour, lw=2)
    axis.scatter(scores_a - scores_b, [position] * len(scores_a), s=14, color="tab:blue", alpha=0.5,
                 label="one photo" if position == 0 else None)
    axis.scatter(result["mean"], position, s=50, color=colour, zorder=3)
axis.scatter([], [], s=50, color="black", label="mean, 95 % interval")
axis.axvline(0, color="grey", lw=1)
axis.set_yticks(range(len(psnr_labels)), [f"{label}, p {comparisons[label]['p']:.3f}" for label in reversed(psnr_labels)],
               fontsize=8)
axis.set_xlabel("PSNR difference A - B (dB, Y)")
axis.legend(fontsize=8, loc="lower right")
axis.set_title(f"Paired bootstrap over the {len(gains)} validation photos; red: interval includes 0; p: sign-flip "
               f"test (never below {2 / 2 ** len(gains):.4f} with {len(gains)} photos)", fontsize=9)
figure.tight_layout()
plotting.save(figure, course.figure_path(f"measuring_{MODE}_intervals.png"));

# %% [markdown]
# The classic networks' leads (+1.00 to +1.93 dB) and `unet-pixel`'s +0.28 dB over
# `unet-perceptual` hold on all five photos, with intervals clear of 0 and p at its floor (0.0625,
# printed 0.062).
# The GAN over the perceptual U-Net (+0.03 dB, ahead on 3 of 5, p 0.812) is within noise. `real-x4`
# over bicubic with one damage per photo (+0.42 dB, interval [+0.23, +0.68]) holds on every photo,
# but one draw of a random damage is luck as well as model. Averaging eight damages per photo
# reduces that luck: the mean moves to +0.70 dB, outside the one-damage interval (a first sign
# that these intervals come out too narrow, below), and the interval is narrower, [+0.60, +0.81];
# `real-x4` is then +1.75 dB ahead of `edsr-x4`. An interval can be wide even when every photo agrees:
# `edsr-x4`'s gain over bicubic is +0.64 dB on one photo and +3.39 on another.
#
# Which verdict to trust? Neither alone. The percentile interval is optimistic: five photos make
# only 126 distinct resamples (the ways to pick five of five with repeats, order aside), none holds
# a photo unlike these, and the interval comes out too narrow. The sign-flip p is exact but cannot
# go below its floor. A 5-of-5 row with an interval clear of 0, such as the +0.28 dB, is the
# strongest evidence five photos can give: consistent, not established. The cure is more photos,
# and more damages per photo where the damage is random.

# %% [markdown]
# ## Conclusion
#
# What the tables above say, in a few printed lines (section 4's table holds the comparisons):

# %%
scoring = [row for row in convention_rows  # the scoring choices: every PSNR row whose input MATLAB's bicubic made
           if CONVENTIONS[row["convention"]][0].startswith("MATLAB") and "SSIM" not in row["convention"]]
spread = [row["edsr-x4 psnr"] for row in scoring]
print(f"one model, one set of photos: edsr-x4 from {min(spread):.2f} to {max(spread):.2f} dB across the scoring "
      f"conventions, its gain over bicubic from {min(r['gain'] for r in scoring):+.2f} to "
      f"{max(r['gain'] for r in scoring):+.2f} dB; inputs from another library's bicubic: "
      + "; ".join(f"{row['convention']}: {row['edsr-x4 psnr']:.2f} dB, gain {row['gain']:+.2f}"
                  for row in convention_rows if not CONVENTIONS[row["convention"]][0].startswith("MATLAB")))
for task, (_, _, names) in TASKS.items():
    best = max(names, key=lambda method: consistency[task, method]["psnr"])
    print(f"{task}: the original's LR-PSNR {consistency[task, 'original']['lr_psnr']:.2f} dB; the best model by PSNR, "
          f"{best}, {consistency[task, best]['lr_psnr']:.2f} dB")
for task in TASKS:
    best = {key: (max if key == "psnr" else min)(outputs[task], key=lambda method: np.mean(plane[task, method][key]))
            for key in ("psnr", "vgg", "mobilenet")}
    losers = [method for method in outputs[task] if all(dominance[task, method].values())]
    print(f"{task}: best PSNR {best['psnr']}, best VGG distance {best['vgg']}, best MobileNetV2 distance "
          f"{best['mobilenet']}; dominated on both judges: {', '.join(losers) or 'none'}")

# %% [markdown]
# - **Say how a PSNR was measured, and compare through one pipeline.** The scoring conventions
#   alone move one model's PSNR by more than a decibel while its gain over bicubic barely moves
#   (the first line above), which is why every tutorial here reports the gain over bicubic beside
#   the PSNR. The bicubic that made
#   the input is not a scoring choice: OpenCV's unfiltered reduction changes the task, and there
#   `edsr-x4` falls below bicubic (the same line).
# - **Faithful to the input is not the same as good.** On the clean tasks the models that win on
#   PSNR also keep closest to their input; on damaged inputs the original itself is far from the
#   input, the best model by PSNR departs from it too, part of the way back to the photo (the
#   LR-PSNR lines above), and a model that stays faithful keeps the damage (`edsr-x4` on camera inputs, section 2).
# - **On the plane, this collection shows no trade-off.** In every task the model with the best
#   PSNR is also nearest the originals for both networks (the "best" lines above). Tutorial 3's and
#   4's fine-tunes gave up PSNR without coming closer to the originals, on average, in either
#   network's eyes. Of their "dominated" verdicts, section 4 confirms `unet-pixel` over
#   `unet-perceptual` on every photo by PSNR and by MobileNetV2 (by VGG, photo by photo, they split), finds `gan` against `unet-perceptual` within noise, and leaves `unet-pixel` against
#   `gan` untested. Part of this is what was measured: both judges are distances to the original,
#   while Blau and Michaeli's bound concerns a no-reference judge, not computed here.
# - **Five photos decide little.** Large gains (the classic networks over bicubic, on every photo)
#   stand clear of the noise; a few hundredths of a decibel (the GAN over the perceptual U-Net) do
#   not. Where the damage is random, one damage per photo is a draw of luck too, and several
#   damages per photo give a steadier answer (section 4's two rows of `real-x4` against bicubic). Even a win on every photo only reaches the sign-flip test's
#   floor, above the customary bar.
# - **Score a model under the protocol of the table you compare with.** OpenCV's interpolation rows
#   come out to the last digit before its networks' rows mean anything; under its unfiltered
#   reduction the bicubic specialist `edsr-x4` falls below bicubic and `real-x4` passes OpenCV's
#   ESPCN, FSRCNN and LapSRN on its one photo (section 1's last table).

# %% [markdown]
# The run's results file, for the collection's tables (`course.finish`):

# %%
plane_rows = [{"task": task, "method": method, **{key: float(np.mean(values[key])) for key in values}}
              for (task, method), values in plane.items()]
plane_markdown = "\n".join(
    ["| task | method | PSNR (dB) | LR-PSNR (dB) | VGG distance | MobileNetV2 distance |", "|---|---|---|---|---|---|"] +
    [f"| {row['task']} | {row['method']} | {row['psnr']:.2f} | {consistency[row['task'], row['method']]['lr_psnr']:.2f} "
     f"| {row['vgg']:.4f} | {row['mobilenet']:.4f} |" for row in plane_rows])
course.finish("07_measuring_sr", {
    "config": vars(CONFIG), "rows": plane_rows, "markdown": plane_markdown,
    "conventions": convention_rows, "opencv_monarch_x4": opencv_scores,
    "consistency": [{"task": task, "method": method,   # None: infinite (the original of a clean task)
                     **{key: value if np.isfinite(value) else None for key, value in values.items()}}
                    for (task, method), values in consistency.items()],
    "plane": [{"task": task, "method": method, **values} for (task, method), values in plane.items()],
    "comparisons": comparisons,
    "seconds": time.perf_counter() - started})
