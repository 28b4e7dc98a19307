"""Bicubic resizing exactly as MATLAB's ``imresize`` (antialiased when shrinking).

MATLAB's ``imresize(image, scale, 'bicubic')`` is the degradation behind nearly every classic SR
benchmark number (SRCNN, VDSR, EDSR, and BasicSR's ``matlab_functions.imresize``): a cubic
convolution kernel with a = -0.5 (Keys, 1981), stretched by ``1 / scale`` when shrinking so it
also low-pass filters (antialiasing), with mirrored ("symmetric") image borders. Pillow's
``Image.resize(..., BICUBIC)`` uses the same kernel and antialiasing but rounds to 8 bits; the
tests compare the two.

Implementation: per axis, a dense (output x input) weight matrix, applied by a matrix product.
Fine for photographs up to a few thousand pixels a side.
"""
from __future__ import annotations

import math

import numpy as np

from srlib.arrays import check_image


def cubic_kernel(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's ``cubic`` (support [-2, 2])."""
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


def resize_weights(in_length: int, out_length: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The (out_length x in_length) matrix that resizes one axis, MATLAB's ``contributions``.

    Output pixel ``i`` (1-based) sits at input coordinate ``u = i / scale + (1 - 1 / scale) / 2``;
    its weights are the kernel evaluated at the distances to the neighbouring input pixels,
    normalised to sum to one. Indices outside the image are mirrored back (symmetric padding).
    """
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * cubic_kernel(scale * x)  # noqa: E731
        kernel_width = kernel_width / scale
    else:
        kernel = cubic_kernel
    positions = np.arange(1, out_length + 1, dtype=np.float64) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(positions - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :] - 1  # 0-based input indices
    weights = kernel(positions[:, None] - indices - 1)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric padding: -1 -> 0, -2 -> 1, n -> n - 1, ...
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64), 2 * in_length)]
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps), indices.ravel()), weights.ravel())
    return matrix


def imresize(image, scale: float | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> np.ndarray:
    """Resize an HWC (or HW) image with MATLAB's bicubic ``imresize``.

    Give either ``scale`` (output = ``ceil(input * scale)`` per side, as MATLAB) or
    ``size = (height, width)``. Input: float in [0, 1] or uint8. Returns float32 in [0, 1]:
    bicubic overshoot at edges is clipped, values are not rounded.
    """
    array = check_image(image, "image to resize", allow_gray=True)
    array = array.astype(np.float64) / 255.0 if array.dtype == np.uint8 else array.astype(np.float64)
    height, width = array.shape[:2]
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale and size")
    if size is None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        out_height, out_width = math.ceil(height * scale), math.ceil(width * scale)
        scale_h = scale_w = float(scale)
    else:
        out_height, out_width = (int(s) for s in size)
        if out_height < 1 or out_width < 1:
            raise ValueError(f"size must be positive, got {size}")
        scale_h, scale_w = out_height / height, out_width / width
    rows = resize_weights(height, out_height, scale_h, antialias)
    cols = resize_weights(width, out_width, scale_w, antialias)
    if array.ndim == 2:
        result = rows @ array @ cols.T
    else:
        result = np.einsum("oh,hwc->owc", rows, array)
        result = np.einsum("pw,owc->opc", cols, result)
    return np.clip(result, 0.0, 1.0).astype(np.float32)
