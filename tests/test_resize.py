"""srlib.resize: MATLAB's bicubic imresize, checked by exact properties and against Pillow."""
import numpy as np
import pytest
from PIL import Image

from srlib.degrade import bicubic, resize, upscale_bicubic
from srlib.resize import cubic_kernel, imresize, resize_weights
from tests.conftest import synthetic_photo


def test_kernel_is_interpolating():
    assert cubic_kernel(np.array([0.0]))[0] == 1.0
    np.testing.assert_allclose(cubic_kernel(np.array([-2.0, -1.0, 1.0, 2.0, 2.5])), 0.0)


def test_weights_rows_sum_to_one():
    for scale in (0.25, 0.5, 1 / 3, 2, 3):
        matrix = resize_weights(17, int(np.ceil(17 * scale)), scale)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


def test_output_size_is_ceil_like_matlab():
    image = synthetic_photo(33, 47)
    assert imresize(image, scale=0.5).shape == (17, 24, 3)
    assert imresize(image, size=(10, 11)).shape == (10, 11, 3)
    assert bicubic(image, 2).shape == (16, 23, 3)  # mod-cropped first: 32x46 -> 16x23


def test_constant_image_stays_constant():
    image = np.full((12, 9, 3), 0.3, np.float32)
    for scale in (0.5, 0.25, 2, 3):
        np.testing.assert_allclose(imresize(image, scale=scale), 0.3, atol=1e-6)


def test_linear_ramp_lands_at_matlab_coordinates():
    # Cubic convolution reproduces linear functions, so the interior of a downscaled ramp shows
    # where each output pixel samples the input: pixel j (0-based) of a x1/2 resize sits at
    # input coordinate 2j + 0.5, MATLAB's convention.
    width = 64
    ramp = np.tile(np.arange(width, dtype=np.float64) / width, (8, 1))
    out = imresize(ramp, scale=0.5)
    expected = (2 * np.arange(width // 2) + 0.5) / width
    np.testing.assert_allclose(out[2, 3:-3], expected[3:-3], atol=1e-6)


def test_close_to_pillow_bicubic_reduce():
    photo = np.round(synthetic_photo(96, 128, seed=4) * 255).astype(np.uint8)
    ours = imresize(photo, scale=0.5)
    pillow = np.asarray(Image.fromarray(photo).resize((64, 48), Image.BICUBIC), dtype=np.float64) / 255
    difference = np.abs(ours - pillow)[2:-2, 2:-2]  # borders: Pillow clamps, MATLAB mirrors
    assert difference.mean() < 0.5 / 255 and difference.max() < 3 / 255


def test_upscale_then_compare_with_float_pillow():
    small = synthetic_photo(24, 32, seed=5)
    ours = upscale_bicubic(small, 2)
    pillow = resize(small, (48, 64), "bicubic")
    assert np.abs(ours - pillow)[4:-4, 4:-4].mean() < 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        imresize(synthetic_photo(), scale=2, size=(4, 4))
    with pytest.raises(ValueError, match="smaller than the scale"):
        bicubic(np.zeros((3, 3, 3), np.float32), 4)
