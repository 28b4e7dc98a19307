"""Bicubic resizing exactly as MATLAB's ``imresize`` (antialiased when shrinking).

MATLAB's ``imresize(image, scale, 'bicubic')`` is the degradation behind nearly every classic SR
benchmark number (SRCNN, VDSR, EDSR, and BasicSR's ``matlab_functions.imresize``): a cubic
convolution kernel with a = -0.5 (Keys, 1981), stretched by ``1 / scale`` when shrinking so it
also low-pass filters (antialiasing), with mirrored ("symmetric") image borders. Pillow's
``Image.resize(..., BICUBIC)`` uses the same kernel and antialiasing but rounds to 8 bits; the
tests compare the two.

Implementation: per axis, each output pixel is a weighted sum of a few input pixels (4 taps when
enlarging, ``4 / scale`` when shrinking), stored as a band (``indices``, ``weights``) of shape
(output length x taps) and applied one tap at a time. Cost and memory grow linearly with the
number of pixels (``make benchmark`` measures it in ``results/benchmarks/speed.md``). It is
applied in float32; the result stays within 1e-6 of the dense (output x input) matrix product in
float64 that srlib used before, and a test pins it to outputs saved from that version.
"""
from __future__ import annotations

import math

import numpy as np

from srlib.arrays import check_image, to_float


def cubic_kernel(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5, as MATLAB's ``cubic`` (support [-2, 2])."""
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


def resize_band(in_length: int, out_length: int, scale: float, antialias: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, weights)``, both (out_length x taps): MATLAB's ``contributions`` for one axis.

    Output pixel ``i`` (1-based) sits at input coordinate ``u = i / scale + (1 - 1 / scale) / 2``;
    its weights are the kernel evaluated at the distances to the neighbouring input pixels,
    normalised to sum to one. ``indices`` are 0-based input positions, already mirrored back into
    the image (symmetric padding: -1 -> 0, -2 -> 1, n -> n - 1, ...).
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
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64), 2 * in_length)]
    keep = np.any(weights != 0, axis=0)  # MATLAB drops taps that are zero for every output pixel
    return indices[:, keep], weights[:, keep]


def resize_weights(in_length: int, out_length: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The same resampling as a dense (out_length x in_length) matrix (for tests and teaching).

    ``resize_weights(...) @ signal`` equals :func:`resize_along` on a 1-D signal; building it costs
    out_length x in_length memory, so :func:`imresize` uses the band instead.
    """
    indices, weights = resize_band(in_length, out_length, scale, antialias)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_length), indices.shape[1]), indices.ravel()), weights.ravel())
    return matrix


def resize_along(array: np.ndarray, axis: int, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Resample ``array`` along ``axis`` with a band from :func:`resize_band`, in ``array``'s dtype.

    One gather and one multiply-add per tap, into preallocated buffers: no (output x input) matrix.
    """
    shape = list(array.shape)
    shape[axis] = indices.shape[0]
    result = np.zeros(shape, dtype=array.dtype)
    gathered = np.empty_like(result)
    weight_shape = [1] * array.ndim
    weight_shape[axis] = -1
    for tap in range(indices.shape[1]):
        np.take(array, indices[:, tap], axis=axis, out=gathered)
        gathered *= weights[:, tap].astype(array.dtype).reshape(weight_shape)
        result += gathered
    return result


def imresize(image, scale: float | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> np.ndarray:
    """Resize an HWC (or HW) image with MATLAB's bicubic ``imresize``.

    Give either ``scale`` (output = ``ceil(input * scale)`` per side, as MATLAB) or
    ``size = (height, width)``. Input: float in [0, 1] or uint8. Returns float32 in [0, 1]:
    bicubic overshoot at edges is clipped, values are not rounded. Weights are
    computed in float64, applied in float32.
    """
    array = check_image(image, "image to resize", allow_gray=True)
    # float32 arithmetic: within 3e-7 of a float64 computation, and four times faster.
    array = array.astype(np.float32) / np.float32(255) if array.dtype == np.uint8 else array.astype(np.float32)
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
    # Resize the axis that shrinks the most first, so the second pass works on fewer pixels.
    passes = [(0, height, out_height, scale_h), (1, width, out_width, scale_w)]
    passes.sort(key=lambda item: item[3])
    result = array
    for axis, in_length, out_length, axis_scale in passes:
        result = resize_along(result, axis, *resize_band(in_length, out_length, axis_scale, antialias))
    return np.clip(result, 0.0, 1.0).astype(np.float32)


def shrink(image, shorter_side: int) -> np.ndarray:
    """``image`` resized (:func:`imresize`, antialiased) so its shorter side is ``shorter_side``
    pixels; an image already that small or smaller is returned unchanged (never enlarged).

    Lesson 7 trained on photos resized to a fixed size before crappifying; the U-Net tutorials
    and the zoo's ``crappify`` recipe use this with ``shorter_side`` = 192.
    """
    ratio = shorter_side / min(image.shape[:2])
    if ratio >= 1:
        return image
    return imresize(image, size=(round(image.shape[0] * ratio), round(image.shape[1] * ratio)))


def upscale_bicubic(lowres, scale: int = 2) -> np.ndarray:
    """The bicubic baseline every model is compared with: ``lowres`` (HWC, [0, 1] or uint8) enlarged
    ``scale`` times by MATLAB's bicubic :func:`imresize`; float32 in [0, 1]."""
    return imresize(to_float(lowres, "lowres"), scale=float(scale))
