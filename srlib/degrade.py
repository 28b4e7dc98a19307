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
- Building blocks to compose more: :func:`gaussian_blur`, :func:`add_gaussian_noise`,
  :func:`jpeg`, :func:`resize`.

``DEGRADATIONS`` maps each name to its function; :func:`degrade` calls one by name.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` and ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from srlib.arrays import check_image, mod_crop, to_float, to_uint8
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


def upscale_bicubic(lowres, scale: int = 2) -> np.ndarray:
    """The bicubic baseline every model is compared with: MATLAB bicubic up by ``scale``."""
    return imresize(to_float(lowres, "lowres"), scale=float(scale))


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


#: name -> (function, takes a scale, is random)
DEGRADATIONS = {
    "bicubic": (bicubic, True, False),
    "downup": (downup, True, False),
    "crappify": (crappify, False, True),
    "realistic": (realistic, True, True),
}


def degrade(highres, name: str, scale: int = 2, seed=None) -> np.ndarray:
    """Apply the degradation called ``name`` (see ``DEGRADATIONS``) with ``scale`` and ``seed``."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; choose from {sorted(DEGRADATIONS)}")
    function, takes_scale, is_random = DEGRADATIONS[name]
    kwargs = {}
    if takes_scale:
        kwargs["scale"] = scale
    if is_random:
        kwargs["seed"] = seed
    return function(check_image(highres, "highres"), **kwargs)

