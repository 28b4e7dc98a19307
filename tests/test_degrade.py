"""srlib.degrade: shapes, seeds and the properties each degradation promises."""
import numpy as np
import pytest

from srlib.degrade import add_gaussian_noise, crappify, degrade, downup, gaussian_blur, jpeg, realistic
from srlib.metrics import psnr
from srlib.registry import DEGRADATIONS
from tests.conftest import synthetic_photo


def test_downup_keeps_the_size_and_blurs():
    image = synthetic_photo(50, 66)
    out = downup(image, 2)
    assert out.shape == image.shape
    assert 20 < psnr(image, out) < 60


def test_crappify_follows_the_fastai_recipe():
    image = synthetic_photo(200, 300)
    small, quality = crappify(image, seed=3, return_quality=True)
    assert small.shape == (96, 144, 3)  # shorter side to 96, aspect kept
    assert 10 <= quality <= 70
    again, quality_again = crappify(image, seed=3, return_quality=True)
    np.testing.assert_array_equal(small, again)
    assert quality == quality_again
    qualities = {crappify(image, seed=s, return_quality=True)[1] for s in range(30)}
    assert len(qualities) > 10 and min(qualities) >= 10 and max(qualities) <= 70


def test_crappify_writes_the_quality_on_the_image():
    flat = np.full((192, 192, 3), 0.2, np.float32)
    small = crappify(flat, seed=0)
    # White text on a dark flat image: some pixels in the top-left area become bright.
    assert small[:60, :60].max() > 0.8 and small[60:, 60:].max() < 0.5


def test_realistic_is_seeded_and_downscales():
    image = synthetic_photo(64, 64)
    a, b = realistic(image, 4, seed=1), realistic(image, 4, seed=1)
    assert a.shape == (16, 16, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, realistic(image, 4, seed=2))


def test_building_blocks():
    image = synthetic_photo()
    np.testing.assert_array_equal(gaussian_blur(image, 0), image)
    assert np.abs(gaussian_blur(image, 2) - image).mean() > 0.005
    noisy = add_gaussian_noise(image, 0.05, seed=0)
    np.testing.assert_array_equal(noisy, add_gaussian_noise(image, 0.05, seed=0))
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert psnr(image, jpeg(image, 90)) > psnr(image, jpeg(image, 10))
    with pytest.raises(ValueError, match="quality"):
        jpeg(image, 0)


@pytest.mark.parametrize("name", DEGRADATIONS.names())
def test_every_named_degradation_runs_on_uint8_and_keeps_its_registered_facts(name):
    """What the registry says of a degradation holds: ``scaled`` ones reduce by exactly the scale,
    ``random`` ones draw another damage for another seed and the same for the same seed."""
    image = np.round(synthetic_photo(100, 120) * 255).astype(np.uint8)
    out = degrade(image, name, scale=4, seed=0)
    assert out.dtype == np.float32 and out.ndim == 3 and 0 <= out.min() and out.max() <= 1
    facts = DEGRADATIONS.info(name)
    assert (out.shape[:2] == (25, 30)) == facts.get("scaled", False)
    np.testing.assert_array_equal(out, degrade(image, name, scale=4, seed=0))
    assert (not np.array_equal(out, degrade(image, name, scale=4, seed=1))) == facts.get("random", False)


def test_unknown_degradation():
    with pytest.raises(ValueError, match="unknown degradation 'blurry'"):
        degrade(synthetic_photo(), "blurry")


def test_second_order_is_seeded_exact_in_size_and_varied():
    from srlib.degrade import second_order
    from srlib.resize import upscale_bicubic

    image = synthetic_photo(101, 134)  # not a multiple of the scale: cropped first, as bicubic does
    first = second_order(image, 4, seed=3)
    assert first.shape == (25, 33, 3) and first.dtype == np.float32
    assert 0 <= first.min() and first.max() <= 1
    np.testing.assert_array_equal(first, second_order(image, 4, seed=3))
    outputs = [second_order(image, 4, seed=seed) for seed in range(12)]
    assert all(output.shape == (25, 33, 3) for output in outputs)
    # Random strengths: the damage differs a lot from seed to seed, and is worse than a clean
    # bicubic reduction on average (blur, noise and JPEG on top of the size).
    target = image[:100, :132]
    scores = [psnr(target, upscale_bicubic(output, 4)) for output in outputs]
    clean = psnr(target, upscale_bicubic(degrade(image, "bicubic", scale=4), 4))
    assert np.mean(scores) < clean and max(scores) - min(scores) > 1.0


def test_mixed_order_is_the_second_order_or_the_first_order_alone():
    from srlib.degrade import mixed_order, second_order

    image = synthetic_photo(101, 134)
    outputs = [mixed_order(image, 4, seed=seed) for seed in range(16)]
    assert all(output.shape == (25, 33, 3) and output.dtype == np.float32 for output in outputs)
    np.testing.assert_array_equal(outputs[5], mixed_order(image, 4, seed=5))
    both = []
    for seed, output in enumerate(outputs):  # with the generator's first draw < 0.5: the second order's draws
        rng = np.random.default_rng(seed)
        both.append(rng.random() < 0.5)
        if both[-1]:
            np.testing.assert_array_equal(output, second_order(image, 4, seed=rng))
        else:
            assert not np.array_equal(output, second_order(image, 4, seed=rng))
    assert 0 < sum(both) < len(both)
    # the first order alone damages less on average than the second order
    target = image[:100, :132]
    from srlib.resize import upscale_bicubic
    scores = [psnr(target, upscale_bicubic(output, 4)) for output in outputs]
    assert np.mean([s for s, b in zip(scores, both) if not b]) > np.mean([s for s, b in zip(scores, both) if b])


def test_blur_kernels():
    from srlib.kernels import anisotropic_gaussian, circular_sinc, gaussian_window

    np.testing.assert_allclose(anisotropic_gaussian(11, 1.5, 1.5), gaussian_window(11, 1.5), atol=1e-12)
    wide = anisotropic_gaussian(15, 3.0, 0.8)  # wide along x
    np.testing.assert_allclose(anisotropic_gaussian(15, 3.0, 0.8, np.pi / 2), wide.T, atol=1e-12)
    assert wide[7, :].sum() > wide[:, 7].sum()
    sinc = circular_sinc(13, np.pi / 3)
    assert np.isclose(sinc.sum(), 1) and np.allclose(sinc, sinc.T) and np.allclose(sinc, sinc[::-1, ::-1])
    assert sinc.min() < 0  # the ripples that make ringing
    with pytest.raises(ValueError, match="odd"):
        anisotropic_gaussian(8, 1, 1)


def test_reductions_are_the_programs_people_use():
    from srlib.degrade import REDUCTIONS, bicubic, reduce_with, resize

    image = synthetic_photo(42, 62)  # not multiples of 4: cropped first
    cropped = image[:40, :60]
    outputs = {program: reduce_with(image, 4, program) for program in REDUCTIONS}
    for program, output in outputs.items():
        assert output.shape == (10, 15, 3) and output.dtype == np.float32, program
        assert 0 <= output.min() and output.max() <= 1, program
    np.testing.assert_array_equal(outputs["matlab-bicubic"], bicubic(image, 4))
    np.testing.assert_array_equal(outputs["pillow-bicubic"], resize(cropped, (10, 15), "bicubic"))
    blocks = cropped.reshape(10, 4, 15, 4, 3)
    np.testing.assert_allclose(outputs["opencv-area"], blocks.mean(axis=(1, 3)), atol=1e-6)  # the mean of each block
    np.testing.assert_array_equal(outputs["opencv-nearest"], cropped[::4, ::4])  # its top-left pixel
    # no antialiasing: OpenCV's linear reduction reads 2x2 of each 4x4 block, so it is not the block mean
    assert np.abs(outputs["opencv-linear"] - outputs["opencv-area"]).max() > 0.01
    assert len({output.tobytes() for output in outputs.values()}) == len(REDUCTIONS)
    with pytest.raises(ValueError, match="unknown reduction 'gimp'"):
        reduce_with(image, 4, "gimp")


@pytest.mark.parametrize("name", ["clean", "mild", "moderate", "heavy", "ladder-mix"])
def test_ladder_is_seeded_and_reduces_exactly_by_the_scale(name):
    image = synthetic_photo(101, 134)
    for scale, shape in ((2, (50, 67, 3)), (4, (25, 33, 3))):
        first = degrade(image, name, scale=scale, seed=[5, 1])
        assert first.shape == shape and first.dtype == np.float32
        assert 0 <= first.min() and first.max() <= 1
        np.testing.assert_array_equal(first, degrade(image, name, scale=scale, seed=[5, 1]))
        assert not np.array_equal(first, degrade(image, name, scale=scale, seed=[5, 2]))


def test_the_clean_rung_is_one_of_the_reductions_exactly():
    from srlib.degrade import REDUCTIONS, ladder, reduce_with

    image = synthetic_photo(48, 64)
    reductions = {program: reduce_with(image, 4, program) for program in REDUCTIONS}
    chosen = []
    for seed in range(24):
        output, draws = ladder(image, "clean", 4, seed=seed, return_draws=True)
        assert set(draws) == {"level", "reduction"}
        np.testing.assert_array_equal(output, reductions[draws["reduction"]])
        chosen.append(draws["reduction"])
    assert len(set(chosen)) >= 5  # drawn per image among all six programs


@pytest.mark.parametrize("level", ["mild", "moderate"])
def test_mild_and_moderate_draw_within_their_ranges(level):
    from srlib.degrade import RUNGS, add_gaussian_noise, gaussian_blur, jpeg, ladder, reduce_with

    image = synthetic_photo(48, 64)
    rung = RUNGS[level]
    for seed in range(12):
        output, draws = ladder(image, level, 4, seed=seed, return_draws=True)
        assert rung.blur_sigma[0] <= draws["blur_sigma"] <= rung.blur_sigma[1]
        assert rung.noise_levels[0] <= draws["noise_levels"] <= rung.noise_levels[1]
        assert rung.jpeg_quality[0] <= draws["jpeg_quality"] <= rung.jpeg_quality[1]
        # the output is exactly those draws applied in the documented order
        expected = jpeg(add_gaussian_noise(reduce_with(gaussian_blur(image, draws["blur_sigma"]), 4, draws["reduction"]),
                                           draws["noise_levels"] / 255, draws["noise_seed"]), draws["jpeg_quality"])
        np.testing.assert_array_equal(output, expected)
    assert RUNGS["mild"].blur_sigma[1] == 1.5 and RUNGS["mild"].noise_levels[1] == 6
    assert RUNGS["mild"].jpeg_quality[0] == 55


def test_the_ladder_damages_more_at_each_rung():
    from srlib.degrade import LADDER, ladder, second_order
    from srlib.resize import upscale_bicubic

    image = synthetic_photo(96, 128)
    mean_psnr = {level: np.mean([psnr(image, upscale_bicubic(degrade(image, level, scale=4, seed=seed), 4))
                                 for seed in range(6)]) for level in LADDER}
    assert mean_psnr["clean"] > mean_psnr["mild"] > mean_psnr["moderate"] > mean_psnr["heavy"], mean_psnr
    np.testing.assert_array_equal(degrade(image, "heavy", scale=4, seed=7), second_order(image, 4, seed=7))
    with pytest.raises(ValueError, match="unknown ladder level 'severe'"):
        ladder(image, "severe")


def test_ladder_mix_draws_each_rung_as_often_as_stated():
    from srlib.degrade import LADDER_MIX, ladder, ladder_mix

    assert sum(LADDER_MIX.values()) == pytest.approx(1) and LADDER_MIX["clean"] > 0
    image = synthetic_photo(8, 8)
    levels = [ladder_mix(image, 4, seed=seed, return_draws=True)[1]["level"] for seed in range(300)]
    for level, probability in LADDER_MIX.items():
        assert abs(levels.count(level) / len(levels) - probability) < 0.08, level
    output, draws = ladder_mix(image, 4, seed=11, return_draws=True)
    rng = np.random.default_rng(11)
    rng.random()  # the rung's draw
    np.testing.assert_array_equal(output, ladder(image, draws["level"], 4, rng))


def test_blur_kernels_larger_than_the_image_reflect_the_image_as_often_as_needed():
    """Real-ESRGAN's kernels (up to 21 pixels) meet images of a few pixels when a small crop is
    reduced twice. The filter must be the convolution of the image reflected about its edges (the
    edge pixel repeated) as often as the kernel needs, computed here pixel by pixel; scipy's own
    border handling got a fifth of these wrong, and gave NaN now and then. Where the image is
    larger than the kernel it is scipy's ``reflect``."""
    from scipy import ndimage

    from srlib.degrade import _filter

    def direct(image, kernel):
        radius = kernel.shape[0] // 2
        padded = np.pad(image.astype(np.float64), ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
        window = 2 * radius + 1
        return np.clip([[np.einsum("ij,ijc->c", kernel[::-1, ::-1], padded[y:y + window, x:x + window])
                         for x in range(image.shape[1])] for y in range(image.shape[0])], 0, 1)

    rng = np.random.default_rng(0)
    for _ in range(300):
        size = int(rng.choice(np.arange(7, 22, 2)))
        image = rng.random((*rng.integers(1, 4, size=2), 3)).astype(np.float32)
        kernel = rng.random((size, size))
        kernel /= kernel.sum()
        np.testing.assert_allclose(_filter(image, kernel), direct(image, kernel), atol=1e-5)
    image, kernel = rng.random((40, 30, 3)).astype(np.float32), rng.random((21, 21))
    kernel /= kernel.sum()
    expected = np.clip(ndimage.convolve(image, kernel[:, :, None], mode="reflect"), 0, 1).astype(np.float32)
    np.testing.assert_array_equal(_filter(image, kernel), expected)
