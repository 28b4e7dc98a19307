"""The one image form srlib uses, and the checks that keep bad arrays out.

Every function in srlib that takes an image takes an HWC RGB NumPy array, either

- ``float32``/``float64`` with values in [0, 1] (the library's own form), or
- ``uint8`` with values in [0, 255] (what files hold).

A float image with values far above 1 is almost always a [0, 255] image in the wrong dtype: the
checks here say so instead of letting a metric silently return nonsense.
"""
from __future__ import annotations

import numpy as np

# Rounding and interpolation overshoot are allowed this far outside [0, 1].
RANGE_TOLERANCE = 1e-3


def check_image(image, name: str = "image", allow_gray: bool = False) -> np.ndarray:
    """Validate an image array and return it as a NumPy array (no copy when possible).

    Raises ``ValueError`` naming ``name`` when the array is not HWC with 3 channels (or HW / HW1
    with ``allow_gray``), is empty, holds NaN or infinity, or a float array lies outside [0, 1].
    """
    array = np.asarray(image)
    shape_ok = array.ndim == 3 and array.shape[2] == 3
    if allow_gray:
        shape_ok = shape_ok or array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1)
    if not shape_ok:
        expected = "HxWx3 (RGB)" + (", HxW or HxWx1" if allow_gray else "")
        raise ValueError(f"{name}: expected an array of shape {expected}, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty (shape {array.shape})")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name}: expected uint8 or float pixels, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name}: integer dtype {array.dtype} is ambiguous; pass uint8 in [0, 255] "
            "or float in [0, 1]"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if high > 1 + RANGE_TOLERANCE or low < -RANGE_TOLERANCE:
        hint = " (it looks like a [0, 255] image: divide by 255 or pass uint8)" if high > 2 else ""
        raise ValueError(f"{name}: float values must lie in [0, 1], found [{low:.4g}, {high:.4g}]{hint}")
    return array


def to_float(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as float32 in [0, 1] (uint8 is divided by 255; floats are clipped)."""
    array = check_image(image, name, allow_gray=True)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    return np.clip(array, 0.0, 1.0).astype(np.float32, copy=False)


def to_uint8(image, name: str = "image") -> np.ndarray:
    """Return ``image`` as uint8 in [0, 255], rounding to nearest (floats are clipped first)."""
    array = check_image(image, name, allow_gray=True)
    if array.dtype == np.uint8:
        return array
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_255(image, name: str = "image", allow_gray: bool = False) -> np.ndarray:
    """Return ``image`` as float64 on the [0, 255] scale, without rounding (for metrics); grey
    (HW, HW1) too with ``allow_gray`` (:func:`check_image`)."""
    array = check_image(image, name, allow_gray)
    if array.dtype == np.uint8:
        return array.astype(np.float64)
    return array.astype(np.float64) * 255.0


def rgb_to_y(image_255: np.ndarray) -> np.ndarray:
    """Luma Y of an HWC RGB image on the [0, 255] scale, as MATLAB's ``rgb2ycbcr`` (BT.601).

    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B in [0, 255], so Y lies in
    [16, 235]. Returns HxW float64. This is BasicSR's ``rgb2ycbcr(y_only=True)``, the convention
    of SR papers' "Y channel" numbers.
    """
    weights = np.array([65.481, 128.553, 24.966]) / 255.0
    return np.asarray(image_255, dtype=np.float64) @ weights + 16.0


def mod_crop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop the bottom and right edges so that height and width are multiples of ``scale``."""
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    height, width = image.shape[:2]
    if height < scale or width < scale:
        raise ValueError(f"an image of {height}x{width} is smaller than the scale {scale}")
    return image[: height - height % scale, : width - width % scale]


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Pad an HWC image at the bottom and right by reflection so both sides are multiples of
    ``multiple`` (a fully convolutional model's total downsampling); crop outputs back with
    ``[:height, :width]``. Returns the image itself when no padding is needed."""
    pad_h, pad_w = -image.shape[0] % multiple, -image.shape[1] % multiple
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect") if pad_h or pad_w else image
