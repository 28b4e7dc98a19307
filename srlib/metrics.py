"""Image quality metrics as SR papers report them: PSNR, SSIM and HFEN; LR-PSNR; paired bootstrap.

All take ``(highres, prediction)``: HWC RGB arrays of equal shape, uint8 in [0, 255] or float in
[0, 1] (each is checked; a float image in [0, 255] raises ``ValueError``). Computation is in
float64 on the [0, 255] scale without rounding, following BasicSR's ``calculate_psnr`` and
``calculate_ssim`` (XPixelGroup/BasicSR, ``basicsr/metrics``):

- ``crop_border`` pixels are removed from every side first (SR papers crop ``scale`` pixels);
- ``y_channel=True`` scores only the luma Y of BT.601 as MATLAB's ``rgb2ycbcr`` (values 16-235),
  the "Y channel" convention of SR tables (:func:`srlib.arrays.rgb_to_y`).

Two more tools for honest comparisons, taught in ``notebooks/07_measuring_sr.ipynb``:

- :func:`lr_psnr`: how faithful an output is to its *input*: the output reduced again by MATLAB's
  bicubic and compared with the low-resolution image (the PIRM 2018 challenge's consistency
  check, Blau et al., 2018);
- :func:`paired_bootstrap`: a confidence interval for the mean difference between two methods
  scored on the same photos (Efron and Tibshirani, 1993), to tell a real gain from the spread of
  a handful of photos.

And a judge of texture that no loss here optimises: :func:`radial_power_spectrum`, how much of an
image's energy sits at each spatial frequency, and :func:`high_frequency_ratio`, the energy an
output has in the fine-detail band against the original's (1: as much detail as the photo; under
1: blurred; over 1: more than the photo, which is invented noise or ringing, not texture).

PSNR, SSIM and HFEN are taught in ``notebooks/01_autoencoder_keras.ipynb`` (Evaluate section).
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from srlib.arrays import check_image, rgb_to_y, to_255
from srlib.kernels import gaussian_window, laplacian_of_gaussian
from srlib.resize import imresize


def _prepare(highres, prediction, crop_border: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Checked, cropped float64 [0, 255] arrays, HxWxC (C = 1 for the Y channel)."""
    highres = check_image(highres, "highres")
    prediction = check_image(prediction, "prediction")
    if highres.shape != prediction.shape:
        raise ValueError(f"highres and prediction differ in shape: {highres.shape} vs {prediction.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    height, width = highres.shape[:2]
    if 2 * crop_border >= min(height, width):
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {height}x{width} image")
    a, b = to_255(highres, "highres"), to_255(prediction, "prediction")
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        a, b = rgb_to_y(a)[..., None], rgb_to_y(b)[..., None]
    return a, b


def psnr(highres, prediction, crop_border: int = 0, y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(255^2 / MSE)``; ``inf`` for identical images."""
    a, b = _prepare(highres, prediction, crop_border, y_channel)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / mse))


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of one [0, 255] channel: Gaussian 11x11 sigma 1.5 window, valid region only."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = gaussian_window(11, 1.5)

    def filtered(x):
        return signal.correlate(x, window, mode="valid", method="direct" if x.size < 4096 else "fft")

    mu_a, mu_b = filtered(a), filtered(b)
    var_a = filtered(a * a) - mu_a**2
    var_b = filtered(b * b) - mu_b**2
    covariance = filtered(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * covariance + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(highres, prediction, crop_border: int = 0, y_channel: bool = False) -> float:
    """Structural similarity (Wang et al., 2004), averaged over channels; 1 for identical images.

    K1 = 0.01, K2 = 0.03, data range 255, Gaussian window 11x11 with sigma 1.5, only positions
    where the window fits (so images must be at least 11x11 after cropping).
    """
    a, b = _prepare(highres, prediction, crop_border, y_channel)
    if min(a.shape[:2]) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels after cropping, got {a.shape[0]}x{a.shape[1]}")
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))


def hfen(highres, prediction, crop_border: int = 0, y_channel: bool = False, kernel_size: int = 15,
         sigma: float = 1.5) -> float:
    """High-frequency error norm (Ravishankar and Bresler, 2011), relative; 0 for identical images.

    ``HFEN = ||LoG * (prediction - highres)||_2 / ||LoG * highres||_2``: the Frobenius norm of the
    Laplacian-of-Gaussian-filtered error (15x15, sigma 1.5, MATLAB ``fspecial('log')``), over all
    channels, divided by that of the filtered original so it does not depend on the image's
    contrast or size. Only positions where the kernel fits are used (valid filtering). Lower is
    better; a blurry prediction loses edges and scores high.
    """
    a, b = _prepare(highres, prediction, crop_border, y_channel)
    if min(a.shape[:2]) < kernel_size:
        raise ValueError(f"HFEN needs at least {kernel_size}x{kernel_size} pixels, got {a.shape[0]}x{a.shape[1]}")
    kernel = laplacian_of_gaussian(kernel_size, sigma)
    error = np.stack([signal.correlate(b[..., c] - a[..., c], kernel, mode="valid") for c in range(a.shape[2])])
    reference = np.stack([signal.correlate(a[..., c], kernel, mode="valid") for c in range(a.shape[2])])
    reference_norm = np.linalg.norm(reference)
    if reference_norm == 0:
        raise ValueError("HFEN is undefined for a flat highres image (no high frequencies)")
    return float(np.linalg.norm(error) / reference_norm)


METRICS = {"psnr": psnr, "ssim": ssim, "hfen": hfen}
#: Whether a larger value is better, for tables and plots.
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "hfen": False}


def radial_power_spectrum(image, bins: int = 64, crop_border: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The radially averaged power spectrum of ``image``'s luma Y (BT.601, [0, 255] scale).

    ``image``: HWC RGB, or grey (HW or HW1, taken as it is), uint8 in [0, 255] or float in [0, 1]. The mean is removed and a
    2-D Hann window applied (so that the image's edges, where the periodic FFT wraps round, add no
    false high frequencies); the power ``|FFT|² / (H W)`` is then averaged over rings of equal
    spatial frequency ``sqrt(fx² + fy²)``. Returns ``(frequencies, power)``, each of ``bins``
    values: the rings' centres in cycles per pixel, from 0 to 0.5 (the Nyquist frequency; the
    corners beyond it are left out), and the mean power in each ring.
    """
    array = to_255(image, "image", allow_gray=True)
    if crop_border:
        array = array[crop_border:-crop_border, crop_border:-crop_border]
    luma = rgb_to_y(array) if array.ndim == 3 and array.shape[2] == 3 else array.reshape(array.shape[:2])
    height, width = luma.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    spectrum = np.abs(np.fft.fft2((luma - luma.mean()) * window)) ** 2 / (height * width)
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij"))
    edges = np.linspace(0.0, 0.5, bins + 1)
    ring = np.digitize(radius.ravel(), edges) - 1
    inside = ring < bins
    sums = np.bincount(ring[inside], weights=spectrum.ravel()[inside], minlength=bins)
    counts = np.bincount(ring[inside], minlength=bins)
    return (edges[:-1] + edges[1:]) / 2, sums / np.maximum(counts, 1)


def high_frequency_ratio(highres, prediction, band: tuple[float, float] = (0.25, 0.5), crop_border: int = 0,
                         bins: int = 64) -> float:
    """The energy of ``prediction`` in the frequency ``band`` (cycles per pixel) over ``highres``'s.

    Both spectra are :func:`radial_power_spectrum` of the luma; the band's default, a quarter to a
    half cycle per pixel, is the finest detail an image holds: what interpolation loses first and
    what texture-seeking losses try to put back. 1 means as much fine detail as the original (not
    necessarily the same detail); bicubic upscaling and pixel-loss networks score well under 1.
    """
    low, high = band
    if not 0.0 <= low < high <= 0.5:
        raise ValueError(f"band must satisfy 0 <= low < high <= 0.5 cycles per pixel, got {band}")
    if np.shape(highres) != np.shape(prediction):
        raise ValueError(f"highres and prediction differ in shape: {np.shape(highres)} vs {np.shape(prediction)}")
    frequencies, original = radial_power_spectrum(highres, bins, crop_border)
    _, output = radial_power_spectrum(prediction, bins, crop_border)
    chosen = (frequencies >= low) & (frequencies < high)
    return float(output[chosen].sum() / max(original[chosen].sum(), 1e-12))


def score(highres, prediction, crop_border: int = 0, y_channel: bool = True) -> dict[str, float]:
    """All of :data:`METRICS` for one image pair, as ``{'psnr': ..., 'ssim': ..., 'hfen': ...}``."""
    return {name: metric(highres, prediction, crop_border=crop_border, y_channel=y_channel)
            for name, metric in METRICS.items()}



def lr_psnr(lowres, prediction, scale: int, crop_border: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB between the input ``lowres`` (h x w) and ``prediction`` (h * scale x w * scale)
    reduced by MATLAB's bicubic (:func:`srlib.resize.imresize`, antialiased): does the output,
    shrunk the way the input was made, give the input back? High for a model that only adds what
    the reduction removed; lower where it changed or invented content (PIRM 2018 asked for at least
    45 dB on the Y channel). ``crop_border`` is in low-resolution pixels. HWC RGB, uint8 or float
    in [0, 1], like :func:`psnr`.
    """
    lowres = check_image(lowres, "lowres")
    prediction = check_image(prediction, "prediction")
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    expected = (lowres.shape[0] * scale, lowres.shape[1] * scale)
    if prediction.shape[:2] != expected:
        raise ValueError(f"prediction is {prediction.shape[0]}x{prediction.shape[1]}, but a x{scale} output of a "
                         f"{lowres.shape[0]}x{lowres.shape[1]} input is {expected[0]}x{expected[1]}")
    reduced = imresize(prediction, size=lowres.shape[:2])
    return psnr(lowres, reduced, crop_border=crop_border, y_channel=y_channel)


def paired_bootstrap(scores_a, scores_b, resamples: int = 10000, confidence: float = 0.95, seed=0) -> dict:
    """How sure is "A beats B"? A percentile-bootstrap confidence interval for the mean of the
    paired differences ``scores_a - scores_b`` (one score per photo, the same photos in the same
    order; Efron and Tibshirani, 1993, ch. 13).

    The photos are resampled with replacement ``resamples`` times (seeded), each resample's mean
    difference is kept, and the interval is the central ``confidence`` of those means. Returns
    ``{"mean", "median", "low", "high", "wins", "count"}``: the mean and median difference, the
    interval's ends, how many photos A scores higher on, and how many photos there are. With few
    photos the percentile interval is too narrow (five photos give at most 126 distinct
    resamples): read it as a lower bound on the uncertainty.
    """
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"need two 1-D sequences of scores of one length, got shapes {a.shape} and {b.shape}")
    if a.size < 2:
        raise ValueError(f"a bootstrap needs at least 2 paired scores, got {a.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite (a PSNR of identical images is inf: leave that photo out)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100, got {resamples}")
    differences = a - b
    rng = np.random.default_rng(seed)
    means = differences[rng.integers(0, differences.size, size=(resamples, differences.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {"mean": float(differences.mean()), "median": float(np.median(differences)), "low": float(low),
            "high": float(high), "wins": int(np.sum(differences > 0)), "count": int(differences.size)}
