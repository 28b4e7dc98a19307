"""Degradations: how a high-resolution photo becomes the low-quality input a model learns to undo.

All functions take and return HWC RGB float32 images in [0, 1]. Random ones take ``seed``
(an int, a ``numpy.random.Generator``, or None for fresh entropy) so every pair is reproducible.

- :func:`bicubic`: the classic SR benchmark degradation, MATLAB ``imresize`` bicubic with
  antialiasing (Dong et al., SRCNN, 2014; Lim et al., EDSR, 2017). Output is ``scale`` times smaller.
- :func:`downup`: the original auto-encoder tutorial's recipe (ilopezfr/image-superres):
  bilinear down by ``scale`` then back up, so input and target have the same size.
- :func:`crappify`: fast.ai course-v3 lesson 7: shorter side to 96 px (bilinear), JPEG at a
  random quality in [10, 70], that number written in white at a random place in the top-left
  quarter. Output is small; models upsample it back.
- :func:`realistic`: a first-order version of Real-ESRGAN's pipeline (Wang et al., 2021): blur,
  bicubic downscale, Gaussian noise, JPEG, each with random strength.
- :func:`second_order`: Real-ESRGAN's second-order pipeline: isotropic and anisotropic blur, random resize modes, Gaussian and Poisson
  noise (colour or grey), JPEG, all twice, then a sinc filter; output ``scale`` times smaller.
- :func:`mixed_order`: half the time the second order, else the first order alone (milder
  photos too): the degradation the zoo's ``real-x4`` was trained on.
- :func:`ladder`: the damage ladder for camera-like inputs, ``clean``, ``mild``, ``moderate``,
  ``heavy`` (:data:`LADDER`, :data:`RUNGS`); every rung below ``heavy`` reduces with a program
  people use, drawn per image (:func:`reduce_with`, :data:`REDUCTIONS`: MATLAB's and Pillow's
  antialiased bicubic, OpenCV's ``INTER_LINEAR``, ``INTER_CUBIC``, ``INTER_AREA``, nearest);
  :func:`ladder_mix` draws a rung per image (:data:`LADDER_MIX`), a training mix.
- Building blocks to compose more: :func:`gaussian_blur`, :func:`add_gaussian_noise`,
  :func:`jpeg`, :func:`resize`, :func:`reduce_with`.

:func:`degrade` calls one by its name in :data:`srlib.registry.DEGRADATIONS` (the ladder's rungs
by their level names, and ``ladder-mix``), which says what each takes.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` and ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from srlib.arrays import check_image, mod_crop, to_float, to_uint8
from srlib.registry import DEGRADATIONS
from srlib.resize import imresize

PIL_FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "lanczos": Image.LANCZOS, "box": Image.BOX}


def as_generator(seed) -> np.random.Generator:
    """A NumPy ``Generator`` from an int seed, an existing generator, or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def resize(image, size: tuple[int, int], method: str = "bicubic") -> np.ndarray:
    """Resize to ``size = (height, width)`` with Pillow's ``method`` on float channels (no 8-bit
    rounding). ``method='matlab'`` uses :func:`srlib.resize.imresize` instead."""
    array = to_float(image, "image to resize")
    if method == "matlab":
        return imresize(array, size=size)
    if method not in PIL_FILTERS:
        raise ValueError(f"unknown resize method {method!r}; choose from {sorted(PIL_FILTERS) + ['matlab']}")
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    channels = [
        np.asarray(Image.fromarray(array[..., c], mode="F").resize((width, height), PIL_FILTERS[method]))
        for c in range(array.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def bicubic(highres, scale: int = 2) -> np.ndarray:
    """Downscale by an integer ``scale`` with MATLAB bicubic (antialiased).

    The image is first cropped to a multiple of ``scale`` (:func:`srlib.arrays.mod_crop`), so the
    output is exactly ``(H // scale, W // scale)``; pair it with ``mod_crop(highres, scale)``.
    """
    array = mod_crop(to_float(highres, "highres"), scale)
    return imresize(array, scale=1.0 / scale)


def downup(highres, scale: int = 2, method: str = "bilinear") -> np.ndarray:
    """Down by ``scale`` then up again with the same filter: blurred, same size as the input.

    The original tutorial's auto-encoder data (x0.5 then x2, bilinear). The image is cropped to a
    multiple of ``scale`` first, so input and output sizes match.
    """
    array = mod_crop(to_float(highres, "highres"), scale)
    height, width = array.shape[:2]
    small = resize(array, (height // scale, width // scale), method)
    return resize(small, (height, width), method)


def gaussian_blur(image, sigma: float) -> np.ndarray:
    """Isotropic Gaussian blur of each channel (scipy, reflected borders, 4 sigma support)."""
    array = to_float(image)
    if sigma <= 0:
        return array.copy()
    return ndimage.gaussian_filter(array, sigma=(sigma, sigma, 0), mode="reflect").astype(np.float32)


def add_gaussian_noise(image, sigma: float, seed=None) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` (on the [0, 1] scale), clipped."""
    array = to_float(image)
    noise = as_generator(seed).normal(0.0, sigma, size=array.shape)
    return np.clip(array + noise, 0.0, 1.0).astype(np.float32)


def jpeg(image, quality: int) -> np.ndarray:
    """Round-trip through Pillow's JPEG encoder at ``quality`` (1-95); blocks and ringing."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0


def crappify(highres, seed=None, size: int = 96, quality_range: tuple[int, int] = (10, 70),
             return_quality: bool = False):
    """fast.ai lesson 7's "crappifier": small, JPEG-damaged, with the quality number written on it.

    The shorter side is resized to ``size`` pixels (bilinear, aspect kept), the JPEG quality is
    drawn uniformly from ``quality_range`` (inclusive), the number is drawn in white with Pillow's
    default font at a random point of the top-left quarter, and the image is JPEG-compressed.
    Returns the small image (and the quality when ``return_quality``).
    """
    rng = as_generator(seed)
    array = to_float(highres, "highres")
    height, width = array.shape[:2]
    ratio = size / min(height, width)
    small = Image.fromarray(to_uint8(array)).resize(
        (max(1, round(width * ratio)), max(1, round(height * ratio))), Image.BILINEAR)
    quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
    small_width, small_height = small.size
    position = (int(rng.integers(0, small_width // 2 + 1)), int(rng.integers(0, small_height // 2 + 1)))
    ImageDraw.Draw(small).text(position, str(quality), fill=(255, 255, 255))
    result = jpeg(np.asarray(small), quality)
    return (result, quality) if return_quality else result


def realistic(highres, scale: int = 4, seed=None) -> np.ndarray:
    """Blur (sigma 0.2-3), bicubic down by ``scale``, noise (sigma 1-25 levels), JPEG (30-95).

    A simplified first-order Real-ESRGAN degradation (Wang et al., 2021, section 3.1): the same
    operations and ranges, without the second order, sinc filters or random resize modes.
    """
    rng = as_generator(seed)
    array = mod_crop(to_float(highres, "highres"), scale)
    array = gaussian_blur(array, float(rng.uniform(0.2, 3.0)))
    array = imresize(array, scale=1.0 / scale)
    array = add_gaussian_noise(array, float(rng.uniform(1, 25)) / 255.0, rng)
    return jpeg(array, int(rng.integers(30, 96)))


def _filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) convolved with the odd square ``kernel``, borders reflected (the edge
    pixel repeated, scipy's ``reflect``). The padding is explicit: scipy 1.17's 2-D convolve reads
    memory outside the image, at random, when the kernel is larger than the image (a 21-pixel
    kernel on the 2x2 image of a small crop reduced twice), and returns NaN now and then."""
    radius = kernel.shape[0] // 2
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    filtered = ndimage.convolve(padded, kernel[:, :, None], mode="constant")[radius:radius + image.shape[0],
                                                                             radius:radius + image.shape[1]]
    return np.clip(filtered, 0.0, 1.0).astype(np.float32)


def _random_blur_kernel(rng: np.random.Generator, sigma_range: tuple[float, float],
                        sinc_probability: float) -> np.ndarray:
    """A Real-ESRGAN blur kernel: odd size 7-21; with ``sinc_probability`` a circular sinc, else a
    Gaussian, isotropic (probability 0.65) or anisotropic with a random angle."""
    from srlib.kernels import anisotropic_gaussian

    if rng.random() < sinc_probability:
        return circular_sinc_kernel(rng)
    size = int(rng.choice(np.arange(7, 22, 2)))
    if rng.random() < 0.65:
        sigma = float(rng.uniform(*sigma_range))
        return anisotropic_gaussian(size, sigma, sigma)
    return anisotropic_gaussian(size, float(rng.uniform(*sigma_range)), float(rng.uniform(*sigma_range)),
                                float(rng.uniform(-np.pi, np.pi)))


def _resize_factor(rng: np.random.Generator, probabilities, factor_range) -> float:
    """Up (from 1 to the range's top), down (from its bottom to 1) or kept, with ``probabilities``."""
    direction = rng.choice(3, p=probabilities)
    if direction == 0:
        return float(rng.uniform(1, factor_range[1]))
    return float(rng.uniform(factor_range[0], 1)) if direction == 1 else 1.0


def _random_mode(rng: np.random.Generator) -> str:
    """Area (box), bilinear or bicubic: the resize modes Real-ESRGAN draws from."""
    return str(rng.choice(["box", "bilinear", "bicubic"]))


def circular_sinc_kernel(rng: np.random.Generator) -> np.ndarray:
    """Real-ESRGAN's final sinc: size 7-21, cutoff between pi/3 (pi/5 for 13 and more) and pi."""
    from srlib.kernels import circular_sinc

    size = int(rng.choice(np.arange(7, 22, 2)))
    return circular_sinc(size, float(rng.uniform(np.pi / 3 if size < 13 else np.pi / 5, np.pi)))


def _random_noise(image: np.ndarray, rng: np.random.Generator, gaussian_range, poisson_range) -> np.ndarray:
    """Gaussian noise (sigma in levels of 255) or Poisson noise (scale), each half the time; grey
    (the same in every channel) 40% of the time, as Real-ESRGAN's configuration."""
    grey = rng.random() < 0.4
    shape = image.shape[:2] + (1,) if grey else image.shape
    if rng.random() < 0.5:
        noise = rng.normal(0.0, float(rng.uniform(*gaussian_range)) / 255.0, size=shape)
    else:
        scale = float(rng.uniform(*poisson_range))
        base = image.mean(axis=2, keepdims=True) if grey else image
        levels = np.clip(base, 0, 1) * 255.0
        noise = (rng.poisson(levels) - levels) / 255.0 * scale
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def second_order(highres, scale: int = 4, seed=None) -> np.ndarray:
    """Real-ESRGAN's second-order degradation (Wang et al., ICCV-W 2021, section 3 and its
    ``train_realesrnet_x4plus.yml``): ``(H, W)`` -> ``(H // scale, W // scale)``, HWC [0, 1].

    Twice: a random blur (Gaussian, isotropic or anisotropic, sigma 0.2-3 then 0.2-1.5, the second
    time with probability 0.8; a sinc 10% of the time), a resize by a random factor and mode
    (0.15-1.5 of the photo, then 0.3-1.2 of the final size), Gaussian (1-30 then 1-25 levels) or
    Poisson noise (scale 0.05-3 then 0.05-2.5), colour or grey, and JPEG (quality 30-95): after the
    first order at once, after the second in random order with the resize to the final size and
    a sinc filter (probability 0.8). Left out: the "generalised" and "plateau" kernel shapes (a
    fifth of the paper's kernels) and its GPU batching.
    """
    rng = as_generator(seed)
    array = mod_crop(to_float(highres, "highres"), scale)
    target = (array.shape[0] // scale, array.shape[1] // scale)
    array = _first_order(array, rng)
    # Second order: the same with milder ranges; the resize is relative to the final size.
    if rng.random() < 0.8:
        array = _filter(array, _random_blur_kernel(rng, (0.2, 1.5), sinc_probability=0.1))
    factor = _resize_factor(rng, (0.3, 0.4, 0.3), (0.3, 1.2))
    array = resize(array, (max(1, int(target[0] * factor)), max(1, int(target[1] * factor))), _random_mode(rng))
    array = _random_noise(array, rng, (1, 25), (0.05, 2.5))
    # Last: resize to the final size with a sinc filter (probability 0.8), and JPEG, in random order.
    sinc = circular_sinc_kernel(rng) if rng.random() < 0.8 else None
    quality, jpeg_first, mode = int(rng.integers(30, 96)), rng.random() < 0.5, _random_mode(rng)
    if jpeg_first:
        array = jpeg(array, quality)
    array = resize(array, target, mode)
    if sinc is not None:
        array = _filter(array, sinc)
    return array if jpeg_first else jpeg(array, quality)


def _first_order(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Real-ESRGAN's first order: blur, resize by a random factor of the photo, noise, JPEG."""
    array = _filter(array, _random_blur_kernel(rng, (0.2, 3.0), sinc_probability=0.1))
    factor = _resize_factor(rng, (0.2, 0.7, 0.1), (0.15, 1.5))
    array = resize(array, (max(1, round(array.shape[0] * factor)), max(1, round(array.shape[1] * factor))),
                   _random_mode(rng))
    return jpeg(_random_noise(array, rng, (1, 30), (0.05, 3.0)), int(rng.integers(30, 96)))


def mixed_order(highres, scale: int = 4, seed=None) -> np.ndarray:
    """Real-ESRGAN's degradation with milder photos kept in: ``(H, W)`` -> ``(H // scale, W // scale)``.

    Half the time :func:`second_order` (the same draws as ``second_order`` with this generator);
    otherwise its first order alone (random blur, resize by a random factor and mode, Gaussian or
    Poisson noise, JPEG), then a resize to the final size by a random mode. The second order
    alone makes every training input heavily damaged, and a model trained on it alone takes the
    mild damage of most camera photos for heavy damage (as BSRGAN, Zhang et al. 2021, argues for a
    wider degradation space, we keep both).
    """
    rng = as_generator(seed)
    if rng.random() < 0.5:
        return second_order(highres, scale, rng)
    array = mod_crop(to_float(highres, "highres"), scale)
    target = (array.shape[0] // scale, array.shape[1] // scale)
    return resize(_first_order(array, rng), target, _random_mode(rng))


def opencv():
    """The ``cv2`` module, imported when first needed: OpenCV is an optional dependency of srlib
    (``opencv-python-headless``, in ``requirements.txt`` and ``srlib[all]``)."""
    try:
        import cv2
    except ModuleNotFoundError:
        raise ModuleNotFoundError("OpenCV's reductions need the opencv-python-headless package: "
                                  "pip install opencv-python-headless") from None
    return cv2


#: The programs people shrink photos with, by the name :func:`reduce_with` takes: MATLAB's
#: antialiased bicubic (:func:`srlib.resize.imresize`, what :func:`bicubic` uses), Pillow's
#: antialiased bicubic (``Image.resize``), and OpenCV's ``cv2.resize`` with ``INTER_LINEAR`` (its
#: default: no antialiasing, how most Python code shrinks an image), ``INTER_CUBIC`` (no
#: antialiasing either), ``INTER_AREA`` (the mean of each ``scale`` x ``scale`` block) and
#: ``INTER_NEAREST`` (the top-left pixel of each block).
REDUCTIONS = ("matlab-bicubic", "pillow-bicubic", "opencv-linear", "opencv-cubic", "opencv-area", "opencv-nearest")
_OPENCV_FLAGS = {"opencv-linear": "INTER_LINEAR", "opencv-cubic": "INTER_CUBIC", "opencv-area": "INTER_AREA",
                 "opencv-nearest": "INTER_NEAREST"}


def reduce_with(highres, scale: int = 4, program: str = "matlab-bicubic") -> np.ndarray:
    """``highres`` (HWC RGB, uint8 or float in [0, 1]) cropped to a multiple of ``scale``
    (:func:`srlib.arrays.mod_crop`) and reduced ``scale`` times by ``program``, one of
    :data:`REDUCTIONS`: float32 ``(H // scale, W // scale, 3)`` in [0, 1], computed on float
    samples (no 8-bit rounding) and clipped (OpenCV's cubic overshoots). At x2 OpenCV computes
    ``INTER_LINEAR`` as ``INTER_AREA`` (its special case for halving), so the two agree there.
    """
    if program not in REDUCTIONS:
        raise ValueError(f"unknown reduction {program!r}; choose from {', '.join(REDUCTIONS)}")
    array = mod_crop(to_float(highres, "highres"), scale)
    target = (array.shape[0] // scale, array.shape[1] // scale)
    if program == "matlab-bicubic":
        return imresize(array, scale=1.0 / scale)
    if program == "pillow-bicubic":
        return resize(array, target, "bicubic")
    cv2 = opencv()
    reduced = cv2.resize(np.ascontiguousarray(array), (target[1], target[0]),
                         interpolation=getattr(cv2, _OPENCV_FLAGS[program]))
    return np.clip(reduced, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Rung:
    """The damage of one rung of the ladder, each drawn uniformly from its range (None: none):
    a Gaussian blur of the photo before the reduction (sigma in pixels of the photo), Gaussian
    noise after it (sigma in levels of 255, the same sigma in every channel) and JPEG last
    (quality, inclusive range)."""

    blur_sigma: tuple[float, float] | None = None
    noise_levels: tuple[float, float] | None = None
    jpeg_quality: tuple[int, int] | None = None


#: The damage ladder for camera-like x2/x4 inputs, mildest first. ``clean``: a reduction by one of
#: :data:`REDUCTIONS` only. ``mild``: a phone photo shared once (a slight blur, sensor noise of 1-6
#: levels, JPEG 55-95). ``moderate``: between it and ``heavy`` (blur up to 2.5, noise up to 15
#: levels, JPEG 35-75). ``heavy``: Real-ESRGAN's second order (:func:`second_order`, whose own
#: random resizes stand in for the reduction).
RUNGS = {
    "clean": Rung(),
    "mild": Rung(blur_sigma=(0.2, 1.5), noise_levels=(1.0, 6.0), jpeg_quality=(55, 95)),
    "moderate": Rung(blur_sigma=(0.2, 2.5), noise_levels=(1.0, 15.0), jpeg_quality=(35, 75)),
}
#: The ladder's rungs, mildest first (registered in :data:`srlib.registry.DEGRADATIONS`).
LADDER = DEGRADATIONS.names(rung=True)
#: How often :func:`ladder_mix` picks each rung: a training mix that keeps clean and mild photos
#: common (a model trained on heavy damage alone takes every photo for a badly damaged one).
LADDER_MIX = {"clean": 0.2, "mild": 0.3, "moderate": 0.3, "heavy": 0.2}


def ladder(highres, level: str = "mild", scale: int = 4, seed=None, return_draws: bool = False):
    """One rung of the damage ladder: ``(H, W)`` -> ``(H // scale, W // scale)``, HWC float32 [0, 1].

    ``level`` is one of :data:`LADDER`. Below ``heavy`` (:data:`RUNGS`): the program that reduces
    is drawn from :data:`REDUCTIONS` (uniformly), then, where the rung has them, the blur sigma,
    the noise sigma and its seed, and the JPEG quality; the photo is blurred, reduced with
    :func:`reduce_with`, given noise (:func:`add_gaussian_noise`) and JPEG (:func:`jpeg`), in
    that order. ``heavy`` is :func:`second_order` with this seed. With ``return_draws``, also
    returns what was drawn: ``{"level", "reduction", "blur_sigma", "noise_levels", "noise_seed",
    "jpeg_quality"}`` (those the rung has; only ``level`` for ``heavy``).
    """
    if level not in LADDER:
        raise ValueError(f"unknown ladder level {level!r}; choose from {', '.join(LADDER)}")
    rng = as_generator(seed)
    if level == "heavy":
        result, draws = second_order(highres, scale, rng), {"level": level}
        return (result, draws) if return_draws else result
    rung = RUNGS[level]
    draws = {"level": level, "reduction": str(rng.choice(REDUCTIONS))}
    if rung.blur_sigma:
        draws["blur_sigma"] = float(rng.uniform(*rung.blur_sigma))
    if rung.noise_levels:
        draws["noise_levels"] = float(rng.uniform(*rung.noise_levels))
        draws["noise_seed"] = int(rng.integers(2**32))
    if rung.jpeg_quality:
        draws["jpeg_quality"] = int(rng.integers(rung.jpeg_quality[0], rung.jpeg_quality[1] + 1))
    array = mod_crop(to_float(highres, "highres"), scale)
    if "blur_sigma" in draws:
        array = gaussian_blur(array, draws["blur_sigma"])
    array = reduce_with(array, scale, draws["reduction"])
    if "noise_levels" in draws:
        array = add_gaussian_noise(array, draws["noise_levels"] / 255.0, draws["noise_seed"])
    if "jpeg_quality" in draws:
        array = jpeg(array, draws["jpeg_quality"])
    return (array, draws) if return_draws else array


def ladder_mix(highres, scale: int = 4, seed=None, return_draws: bool = False):
    """A rung of the ladder drawn for each image with the probabilities of :data:`LADDER_MIX`
    (first draw of the generator), then :func:`ladder` at that rung with the same generator: the
    training mix for camera-photo models. ``(H, W)`` -> ``(H // scale, W // scale)``, HWC float32
    [0, 1]; ``return_draws`` as :func:`ladder`."""
    rng = as_generator(seed)
    level = str(rng.choice(list(LADDER_MIX), p=list(LADDER_MIX.values())))
    return ladder(highres, level, scale, rng, return_draws)


def degrade(highres, name: str, scale: int = 2, seed=None) -> np.ndarray:
    """Apply the degradation called ``name`` (one of :data:`srlib.registry.DEGRADATIONS`), with
    ``scale`` where it takes one and ``seed`` where it is random."""
    function, facts = DEGRADATIONS.get(name), DEGRADATIONS.info(name)
    arguments = dict(facts.get("arguments", {}))
    if facts.get("scale"):
        arguments["scale"] = scale
    if facts.get("random"):
        arguments["seed"] = seed
    return function(check_image(highres, "highres"), **arguments)

