"""srlib.resize: MATLAB's bicubic imresize, checked by exact properties and against Pillow."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srlib.degrade import bicubic, resize

from srlib.resize import upscale_bicubic
from srlib.resize import cubic_kernel, imresize, resize_along, resize_band, resize_weights
from tests.conftest import synthetic_photo

REFERENCE = Path(__file__).parent / "data" / "imresize_dense_reference.npz"


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


def _reference_inputs():
    """The inputs of tests/data/make_imresize_reference.py (same sizes and seeds)."""
    return {"photo": synthetic_photo(19, 26, seed=11), "gray": synthetic_photo(17, 23, seed=12)[..., 0],
            "uint8": np.round(synthetic_photo(20, 15, seed=13) * 255).astype(np.uint8)}


def _reference_call(key: str, inputs: dict) -> np.ndarray:
    source = inputs[key.split("_")[0]]
    argument = key.split("_")[-1]
    if "_noantialias_" in key:
        return imresize(source, scale=float(argument), antialias=False)
    if "_size_" in key:
        return imresize(source, size=tuple(int(side) for side in argument.split("x")))
    scale = float(argument)
    return imresize(source, scale=1 / 3 if abs(scale - 1 / 3) < 1e-3 else scale)


def test_banded_equals_saved_dense_outputs():
    # Outputs saved from the dense (output x input) matrix version of srlib 0.1 (float64): the
    # banded float32 version must stay within 1e-6 of them, shapes included.
    reference = np.load(REFERENCE)
    inputs = _reference_inputs()
    assert len(reference.files) == 24
    for key in reference.files:
        ours = _reference_call(key, inputs)
        assert ours.shape == reference[key].shape, key
        np.testing.assert_allclose(ours, reference[key], atol=1e-6, rtol=0, err_msg=key)


def test_band_applied_equals_dense_matrix():
    signal = np.random.default_rng(3).random((29, 2))
    for in_length, out_length, scale in ((29, 58, 2.0), (29, 10, 10 / 29), (29, 8, 0.25)):
        indices, weights = resize_band(in_length, out_length, scale)
        assert indices.shape == weights.shape and indices.shape[0] == out_length
        assert indices.min() >= 0 and indices.max() < in_length
        dense = resize_weights(in_length, out_length, scale) @ signal
        np.testing.assert_allclose(resize_along(signal, 0, indices, weights), dense, atol=1e-12)


def test_band_is_narrow():
    # Enlarging uses the 4 cubic taps (plus MATLAB's 2 spare ones at most); shrinking by 4
    # widens the kernel to 16 input pixels: never a whole row.
    assert resize_band(1000, 2000, 2.0)[0].shape[1] <= 6
    assert resize_band(1000, 250, 0.25)[0].shape[1] <= 18
