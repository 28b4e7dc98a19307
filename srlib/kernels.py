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
