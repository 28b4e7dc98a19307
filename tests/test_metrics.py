"""srlib.metrics: BasicSR's conventions, pinned against scikit-image and hand-computed cases."""
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srlib.arrays import rgb_to_y
from srlib.degrade import add_gaussian_noise, gaussian_blur
from srlib import metrics
from srlib.metrics import hfen, psnr, score, ssim
from tests.conftest import synthetic_photo


@pytest.fixture
def pair():
    highres = (synthetic_photo(40, 56, seed=1) * 255).round().astype(np.uint8)
    prediction = (synthetic_photo(40, 56, seed=2) * 255).round().astype(np.uint8)
    return highres, prediction


def test_identical_images():
    image = synthetic_photo()
    assert psnr(image, image) == float("inf")
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert hfen(image, image) == 0.0


def test_psnr_by_hand():
    a = np.zeros((16, 16, 3), np.uint8)
    b = a + 1  # MSE of exactly 1 on the [0, 255] scale
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2), abs=1e-12)  # 48.1308 dB


def test_psnr_matches_skimage(pair):
    highres, prediction = pair
    expected = peak_signal_noise_ratio(highres, prediction, data_range=255)
    assert psnr(highres, prediction) == pytest.approx(expected, abs=1e-6)


def test_ssim_matches_skimage_rgb(pair):
    highres, prediction = pair
    expected = structural_similarity(highres.astype(np.float64), prediction.astype(np.float64), data_range=255,
                                     channel_axis=2, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim(highres, prediction) == pytest.approx(expected, abs=1e-6)


def test_y_channel_and_crop_match_skimage(pair):
    highres, prediction = pair
    a, b = rgb_to_y(highres.astype(np.float64))[3:-3, 3:-3], rgb_to_y(prediction.astype(np.float64))[3:-3, 3:-3]
    assert psnr(highres, prediction, crop_border=3, y_channel=True) == pytest.approx(
        peak_signal_noise_ratio(a, b, data_range=255), abs=1e-6)
    assert ssim(highres, prediction, crop_border=3, y_channel=True) == pytest.approx(
        structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False), abs=1e-6)


def test_matlab_luma_range():
    assert rgb_to_y(np.zeros((1, 1, 3)))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.full((1, 1, 3), 255.0))[0, 0] == pytest.approx(235.0)


def test_uint8_and_float_inputs_agree(pair):
    highres, prediction = pair
    for metric in (psnr, ssim, hfen):
        assert metric(highres, prediction, y_channel=True) == pytest.approx(
            metric(highres / 255.0, prediction / 255.0, y_channel=True), rel=1e-12)


def test_hfen_prefers_noise_to_blur():
    image = synthetic_photo(64, 64, seed=3)
    blurred = gaussian_blur(image, 1.5)
    noisy = add_gaussian_noise(image, 0.01, seed=0)
    assert hfen(image, blurred) > hfen(image, noisy) > 0
    assert ssim(image, blurred) < 1 and psnr(image, noisy) > 30


def test_score_returns_all_metrics(pair):
    assert set(score(*pair)) == {"psnr", "ssim", "hfen"}


def test_mismatched_shapes(pair):
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(pair[0], pair[1][:-1])


def test_0_255_floats_are_detected(pair):
    with pytest.raises(ValueError, match=r"prediction.*\[0, 255\]"):
        ssim(pair[0] / 255.0, pair[1].astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(pair, bad):
    prediction = pair[1] / 255.0
    prediction[0, 0, 0] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        psnr(pair[0], prediction)


def test_wrong_layout_is_refused(pair):
    with pytest.raises(ValueError, match="HxWx3"):
        psnr(pair[0].transpose(2, 0, 1), pair[1].transpose(2, 0, 1))


def test_too_small_for_ssim_and_too_much_crop():
    tiny = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="11x11"):
        ssim(tiny, tiny)
    with pytest.raises(ValueError, match="crop_border"):
        psnr(tiny, tiny, crop_border=4)
    one = np.zeros((1, 1, 3), np.uint8)
    assert psnr(one, one + 3) == pytest.approx(10 * np.log10(255**2 / 9))


# LR-PSNR: consistency of an output with its input (PIRM 2018)

def test_lr_psnr_is_infinite_for_the_original_and_exact_for_a_uniform_offset():
    """Independent of the resampling: a reduction whose weights sum to one keeps a uniform RGB
    offset d unchanged, and the Y channel turns it into 219 d grey levels, so the LR-PSNR of
    (original + d) is 20 log10(255 / (219 d)) exactly."""
    from srlib.metrics import lr_psnr
    from srlib.resize import imresize

    highres = 0.2 + 0.6 * synthetic_photo(48, 64, seed=3)   # away from 0 and 1: no clipping
    for scale in (2, 4):
        lowres = imresize(highres, scale=1 / scale)
        assert lr_psnr(lowres, highres, scale) == float("inf")
        offset = 0.01
        assert lr_psnr(lowres, highres + offset, scale) == pytest.approx(20 * np.log10(255 / (219 * offset)), abs=2e-3)
        assert lr_psnr(lowres, highres + offset, scale, y_channel=False) == pytest.approx(
            20 * np.log10(1 / offset), abs=2e-3)


def test_lr_psnr_sees_invented_detail_that_the_reduction_keeps():
    from srlib.metrics import lr_psnr
    from srlib.resize import imresize

    highres = synthetic_photo(64, 64, seed=4)
    lowres = imresize(highres, scale=0.5)
    stripes = np.zeros_like(highres)
    stripes[::8] = 0.1          # low-frequency content: survives the reduction
    checker = np.zeros_like(highres)
    checker[::2, ::2] = checker[1::2, 1::2] = 0.05
    checker -= 0.025            # the highest frequency, zero mean: removed by the antialiasing
    assert lr_psnr(lowres, np.clip(highres + checker, 0, 1), 2) > lr_psnr(lowres, np.clip(highres + stripes, 0, 1), 2) + 10


def test_lr_psnr_names_a_size_mismatch():
    from srlib.metrics import lr_psnr

    with pytest.raises(ValueError, match=r"prediction is 30x40, but a x2 output of a 16x20 input is 32x40"):
        lr_psnr(synthetic_photo(16, 20), synthetic_photo(30, 40), 2)
    with pytest.raises(ValueError, match="positive integer"):
        lr_psnr(synthetic_photo(16, 20), synthetic_photo(32, 40), 1.5)


# Paired bootstrap: is a difference over a handful of photos real?

def test_paired_bootstrap_matches_the_exact_bootstrap_distribution():
    """For 4 photos the bootstrap distribution can be enumerated exactly (4^4 equally likely
    resamples); the sampled interval's ends must fall where the exact distribution puts them."""
    import itertools

    from srlib.metrics import paired_bootstrap

    a = np.array([30.0, 28.5, 33.2, 25.0])
    b = np.array([29.0, 28.9, 31.0, 24.6])
    differences = a - b
    exact = np.sort([differences[list(index)].mean() for index in itertools.product(range(4), repeat=4)])
    result = paired_bootstrap(a, b, resamples=200_000, seed=1)
    assert result["mean"] == pytest.approx(differences.mean()) and result["median"] == pytest.approx(np.median(differences))
    assert result["wins"] == 3 and result["count"] == 4
    assert np.quantile(exact, 0.015) <= result["low"] <= np.quantile(exact, 0.035)
    assert np.quantile(exact, 0.965) <= result["high"] <= np.quantile(exact, 0.985)
    assert paired_bootstrap(a, b, resamples=2000, seed=5) == paired_bootstrap(a, b, resamples=2000, seed=5)


def test_paired_bootstrap_interval_is_a_point_when_every_photo_agrees_and_grows_with_spread():
    from srlib.metrics import paired_bootstrap

    base = np.array([25.0, 27.0, 31.0, 29.0, 33.0])
    steady = paired_bootstrap(base + 0.1, base)
    assert steady["low"] == pytest.approx(0.1) and steady["high"] == pytest.approx(0.1) and steady["wins"] == 5
    noisy = paired_bootstrap(base + np.array([0.6, -0.4, 0.5, -0.3, 0.1]), base)
    assert noisy["mean"] == pytest.approx(0.1) and noisy["low"] < 0 < noisy["high"]


@pytest.mark.parametrize("a, b, message", [([1.0, 2.0], [1.0], "one length"), ([1.0], [2.0], "at least 2"),
                                           ([1.0, float("inf")], [1.0, 2.0], "finite")])
def test_paired_bootstrap_refuses_bad_scores(a, b, message):
    from srlib.metrics import paired_bootstrap

    with pytest.raises(ValueError, match=message):
        paired_bootstrap(a, b)


def _ring_spectrum_by_direct_dft(luma, bins):
    """The radial spectrum computed the slow way: the DFT as a matrix product, rings by a loop."""
    height, width = luma.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    x = (luma - luma.mean()) * window
    rows = np.exp(-2j * np.pi * np.outer(np.arange(height), np.arange(height)) / height)
    columns = np.exp(-2j * np.pi * np.outer(np.arange(width), np.arange(width)) / width)
    power = np.abs(rows @ x @ columns) ** 2 / (height * width)
    sums, counts = np.zeros(bins), np.zeros(bins)
    for u in range(height):
        for v in range(width):
            fy = u / height if u < height / 2 else u / height - 1
            fx = v / width if v < width / 2 else v / width - 1
            ring = int(np.floor(np.hypot(fy, fx) / 0.5 * bins))
            if ring < bins:
                sums[ring] += power[u, v]
                counts[ring] += 1
    return sums / np.maximum(counts, 1)


def test_radial_power_spectrum_is_the_direct_computation():
    from srlib.arrays import rgb_to_y

    image = np.random.default_rng(1).random((12, 10, 3))
    frequencies, power = metrics.radial_power_spectrum(image, bins=8)
    np.testing.assert_allclose(frequencies, (np.arange(8) + 0.5) / 16)
    np.testing.assert_allclose(power, _ring_spectrum_by_direct_dft(rgb_to_y(image * 255.0), 8), rtol=1e-9, atol=1e-9)


def test_a_sinusoid_s_energy_sits_at_its_frequency():
    columns = np.arange(96)
    for frequency in (0.1, 0.3):
        stripes = np.tile(0.5 + 0.4 * np.sin(2 * np.pi * frequency * columns), (64, 1))
        bands, power = metrics.radial_power_spectrum(np.repeat(stripes[..., None], 3, axis=2), bins=32)
        assert abs(bands[np.argmax(power)] - frequency) <= 0.5 / 32


def test_high_frequency_ratio_sees_blur_and_invented_noise():
    from srlib.degrade import bicubic
    from srlib.resize import upscale_bicubic

    rng = np.random.default_rng(2)
    texture = np.clip(0.5 + 0.2 * rng.standard_normal((64, 64, 3)), 0, 1)
    assert metrics.high_frequency_ratio(texture, texture) == pytest.approx(1.0)
    blurred = upscale_bicubic(bicubic(texture, 2), 2)
    assert metrics.high_frequency_ratio(texture, blurred) < 0.3  # interpolation loses the finest detail
    noisy = np.clip(texture + 0.2 * rng.standard_normal(texture.shape), 0, 1)
    assert metrics.high_frequency_ratio(texture, noisy) > 1.5    # more than the photo: noise, not texture
    with pytest.raises(ValueError, match="band must satisfy"):
        metrics.high_frequency_ratio(texture, texture, band=(0.3, 0.7))
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.high_frequency_ratio(texture, texture[:32])


def test_a_grey_image_s_spectrum_is_its_own_channel_s():
    grey = np.random.default_rng(3).random((20, 24))
    _, flat = metrics.radial_power_spectrum(grey, bins=8)
    _, with_channel = metrics.radial_power_spectrum(grey[..., None], bins=8)
    np.testing.assert_allclose(flat, with_channel)
    np.testing.assert_allclose(flat, _ring_spectrum_by_direct_dft(grey * 255.0, 8), rtol=1e-9, atol=1e-9)
