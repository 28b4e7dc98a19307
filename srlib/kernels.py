"""Filter kernels shared by the metrics (NumPy) and the losses (Keras, PyTorch).

Defining them once is what makes ``srlib.metrics.ssim`` and the SSIM losses agree.
"""
from __future__ import annotations

import numpy as np


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 2-D Gaussian, the outer product of OpenCV's ``getGaussianKernel(size, sigma)``.

    The SSIM window of Wang et al. (2004) and BasicSR's ``calculate_ssim``: 11x11, sigma 1.5.
    Returns float64 (size, size) summing to 1.
    """
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    line = np.exp(-(offsets**2) / (2 * sigma**2))
    line /= line.sum()
    return np.outer(line, line)


def laplacian_of_gaussian(size: int = 15, sigma: float = 1.5) -> np.ndarray:
    """MATLAB's ``fspecial('log', size, sigma)``: a zero-sum Laplacian-of-Gaussian kernel.

    ``h = exp(-(x^2 + y^2) / (2 sigma^2))`` normalised to sum 1, times
    ``(x^2 + y^2 - 2 sigma^2) / sigma^4``, minus its mean so the kernel sums to zero (flat
    regions give exactly zero response). The HFEN of Ravishankar and Bresler (2011) uses 15x15,
    sigma 1.5; the original tutorial's loss used 13x13. Returns float64 (size, size).
    """
    radius = (size - 1) / 2
    y, x = np.mgrid[-radius: radius + 1, -radius: radius + 1]
    gaussian = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    gaussian[gaussian < np.finfo(float).eps * gaussian.max()] = 0
    gaussian /= gaussian.sum()
    kernel = gaussian * (x**2 + y**2 - 2 * sigma**2) / sigma**4
    return kernel - kernel.mean()


def operator_norm(kernel: np.ndarray, grid: int = 256) -> float:
    """The operator (spectral) norm of convolution by ``kernel``: the peak of its frequency response.

    Sampled on a ``grid`` x ``grid`` FFT. For the 13x13 (or 15x15) LoG with sigma 1.5 it is about
    0.327; dividing a filtered squared error by its square bounds the HFEN loss by the MSE.
    """
    return float(np.abs(np.fft.fft2(kernel, s=(grid, grid))).max())


#: Wang, Simoncelli and Bovik (2003), multi-scale SSIM: the weight of each of the five scales.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim_weights(num_scales: int) -> np.ndarray:
    """The first ``num_scales`` MS-SSIM weights, renormalised to sum to one."""
    if not 1 <= num_scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"num_scales must be in 1..5, got {num_scales}")
    weights = np.asarray(MS_SSIM_WEIGHTS[:num_scales], dtype=np.float64)
    return weights / weights.sum()


def anisotropic_gaussian(size: int, sigma_x: float, sigma_y: float, angle: float = 0.0) -> np.ndarray:
    """Normalised 2-D Gaussian blur kernel (size, size), ``size`` odd, with standard deviations
    ``sigma_x`` and ``sigma_y`` along axes turned by ``angle`` radians (isotropic when they are
    equal). The blur of Real-ESRGAN's degradations (Wang et al., 2021, eq. 2). Returns float64."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    if min(sigma_x, sigma_y) <= 0:
        raise ValueError(f"sigmas must be positive, got {sigma_x}, {sigma_y}")
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    covariance = rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T
    inverse = np.linalg.inv(covariance)
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    points = np.stack([x, y], axis=-1).astype(np.float64)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", points, inverse, points))
    return kernel / kernel.sum()


def circular_sinc(size: int, cutoff: float) -> np.ndarray:
    """Normalised 2-D ideal low-pass (circular sinc) kernel (size, size) with cutoff frequency
    ``cutoff`` in radians per pixel (pi: no filtering): ``cutoff * J1(cutoff * r) / (2 pi r)``.
    Real-ESRGAN's ringing and overshoot artefacts (Wang et al., 2021, eq. 4). Returns float64."""
    from scipy.special import j1

    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    radius = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * j1(cutoff * radius) / (2 * np.pi * radius)
    kernel[half, half] = cutoff**2 / (4 * np.pi)  # the limit at r = 0
    return kernel / kernel.sum()
