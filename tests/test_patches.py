"""srlib.patches: aligned, seeded, augmented pairs."""
import numpy as np
import pytest

from srlib.patches import PairedPatches, degrade_pair, make_pairs
from srlib.resize import imresize
from tests.conftest import synthetic_photo


@pytest.fixture
def images():
    return {"a": synthetic_photo(80, 96, seed=1), "b": synthetic_photo(72, 100, seed=2)}


def test_shapes(images):
    pairs = PairedPatches(images, "bicubic", scale=2, patch_size=32, length=10)
    lowres, highres = pairs[0]
    assert lowres.shape == (16, 16, 3) and highres.shape == (32, 32, 3) and len(pairs) == 10
    assert lowres.dtype == highres.dtype == np.float32
    batch_lowres, batch_highres = pairs.batch([0, 1, 2])
    assert batch_lowres.shape == (3, 16, 16, 3) and batch_highres.shape == (3, 32, 32, 3)


@pytest.mark.parametrize("augment", [False, True])
def test_patches_are_aligned(images, augment):
    # The interior of a lowres patch must equal the bicubic downscale of its highres patch.
    pairs = PairedPatches(images, "bicubic", scale=2, patch_size=48, length=6, augment=augment)
    for index in range(6):
        lowres, highres = pairs[index]
        np.testing.assert_allclose(imresize(highres, scale=0.5)[4:-4, 4:-4], lowres[4:-4, 4:-4], atol=1e-5)


def test_seeded_and_changing_with_the_epoch(images):
    pairs = PairedPatches(images, "bicubic", scale=2, patch_size=32, length=4, seed=7)
    same = PairedPatches(images, "bicubic", scale=2, patch_size=32, length=4, seed=7)
    np.testing.assert_array_equal(pairs[1][1], same[1][1])
    first = pairs[1][1]
    pairs.set_epoch(1)
    assert not np.array_equal(first, pairs[1][1])


def test_upsampled_input_and_same_size_degradations(images):
    lowres, highres = PairedPatches(images, "bicubic", scale=4, patch_size=32, upsample_input=True)[0]
    assert lowres.shape == highres.shape == (32, 32, 3)
    lowres, highres = PairedPatches(images, "downup", scale=2, patch_size=32)[0]
    assert lowres.shape == highres.shape
    lowres, highres = PairedPatches(images, "crappify", scale=1, patch_size=32)[0]
    assert lowres.shape == highres.shape  # crappify's small output is resized back


def test_image_smaller_than_the_patch(images):
    with pytest.raises(ValueError, match="tiny: 20x20 is smaller than the patch size 32"):
        PairedPatches({**images, "tiny": synthetic_photo(20, 20)}, "bicubic", scale=2, patch_size=32)
    with pytest.raises(ValueError, match="multiple of scale"):
        PairedPatches(images, "bicubic", scale=3, patch_size=32)


def test_whole_image_pairs(images):
    pairs = make_pairs(images, "bicubic", scale=2)
    assert pairs["b"][1].shape == (72, 100, 3) and pairs["b"][0].shape == (36, 50, 3)
    lowres, highres = degrade_pair(images["a"], "bicubic", 4, upsample_input=True)
    assert lowres.shape == highres.shape == (80, 96, 3)


def test_pad_to_multiple_reflects_and_keeps_the_original():
    from srlib.arrays import pad_to_multiple

    image = synthetic_photo(30, 45)
    padded = pad_to_multiple(image, 8)
    assert padded.shape == (32, 48, 3)
    np.testing.assert_array_equal(padded[:30, :45], image)
    np.testing.assert_array_equal(padded[30, :45], image[28])  # reflection, not zeros
    assert pad_to_multiple(padded, 8) is padded


def test_tile_pyramid_whole_photo_plus_tiles_of_closer_views():
    from srlib.patches import tile_pyramid

    photo = synthetic_photo(100, 160, seed=3)
    pyramid = tile_pyramid({"p": photo}, 24, levels=(1, 2, 4, 8))
    assert pyramid["p@24"].shape == (24, 38, 3)  # whole photo, shorter side 24
    level2 = [name for name in pyramid if name.startswith("p@48_")]
    level4 = [name for name in pyramid if name.startswith("p@96_")]
    assert len(level2) == 2 * 3 and len(level4) == 4 * 6  # 48x77 and 96x154 cut into 24-pixel squares
    assert all(pyramid[name].shape == (24, 24, 3) for name in level2 + level4)
    assert not any(name.startswith("p@192") for name in pyramid)  # never enlarged
    # the level-4 tiles are the photo shrunk to 96x154, cut on a centred grid
    scaled = imresize(photo, size=(96, 154))
    np.testing.assert_allclose(pyramid["p@96_1_2"], scaled[24:48, 5 + 48: 5 + 72], atol=1e-6)


def test_fresh_damage_degrades_again_at_each_epoch():
    photos = {"a": synthetic_photo(200, 220, seed=6), "b": synthetic_photo(210, 200, seed=7)}
    once = PairedPatches(photos, "crappify", scale=1, patch_size=64, length=4, upsample_input=True, seed=3)
    fresh = PairedPatches(photos, "crappify", scale=1, patch_size=64, length=4, upsample_input=True, seed=3,
                          fresh_damage=True)
    assert all(np.array_equal(once[i][0], fresh[i][0]) for i in range(4))  # epoch 0: the same damage
    for pairs in (once, fresh):
        pairs.set_epoch(1)
    assert all(np.array_equal(once[i][1], fresh[i][1]) for i in range(4))  # the same crops of the originals
    assert not all(np.array_equal(once[i][0], fresh[i][0]) for i in range(4))  # new damage
    expected = degrade_pair(photos["b"], "crappify", 1, True, seed=[3, 1, 1])[0]
    assert np.array_equal(fresh._lowres(1), expected)
    fresh.set_epoch(1)
    again = fresh[1][0]
    fresh.set_epoch(2)
    fresh.set_epoch(1)
    assert np.array_equal(fresh[1][0], again)  # seeded: epoch 1 gives the same damage every time
