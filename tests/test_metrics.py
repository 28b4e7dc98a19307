"""srlib.metrics: BasicSR's conventions, pinned against scikit-image and hand-computed cases."""
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srlib.arrays import rgb_to_y
from srlib.degrade import add_gaussian_noise, gaussian_blur
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
