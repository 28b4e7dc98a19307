"""EDSR, its resumable trainer, and tiled inference (srlib.torch.edsr, srlib.train_sr, srlib.torch.inference)."""
import re

import numpy as np
import pytest
import torch

from srlib.train_sr import SRTrainConfig, train
from srlib.torch.edsr import EDSR, count_parameters
from srlib.torch.inference import upscale_array
from tests.conftest import synthetic_photo


@pytest.mark.parametrize("scale, parameters", [(2, 1_369_859), (4, 1_517_571)])
def test_edsr_baseline_size_and_shapes(scale, parameters):
    model = EDSR(scale=scale)
    assert count_parameters(model) == parameters  # EDSR-baseline: 1.37 M at x2 (Lim et al.)
    assert model(torch.rand(1, 3, 10, 13)).shape == (1, 3, 10 * scale, 13 * scale)


def test_edsr_refuses_an_unsupported_scale():
    with pytest.raises(ValueError, match="scales 2, 3, 4"):
        EDSR(scale=5)


def _images():
    return {f"p{seed}": synthetic_photo(64, 80, seed=seed) for seed in range(3)}


def _tiny(steps=6, **changes):
    return SRTrainConfig(**{"scale": 2, "features": 8, "blocks": 1, "steps": steps, "batch_size": 2,
                            "patch_size": 12, "checkpoint_every": 3, **changes})


def test_training_resumes_to_the_same_weights_as_an_uninterrupted_run(tmp_path, capsys):
    straight, _ = train(_tiny(), _images(), tmp_path / "straight", progress=False, report=True)
    # without a progress bar (a log file), a line per checkpoint
    logged = [line for line in capsys.readouterr().out.splitlines() if "checkpoint saved" in line]
    assert [re.match(r"step (\d+) of 6: (latest L1 [\d.]+, )?\d+ s, checkpoint saved$", line).group(1) for line in logged] == ["3", "6"]
    train(_tiny(), _images(), tmp_path / "interrupted", stop_after=3, progress=False)
    assert (tmp_path / "interrupted" / "checkpoint.pt").exists()
    resumed, record = train(_tiny(), _images(), tmp_path / "interrupted", progress=False)
    assert record["step"] == 6
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_training_is_deterministic_and_learns(tmp_path):
    first, record = train(_tiny(steps=60, checkpoint_every=60), _images(), tmp_path / "a", progress=False)
    second, _ = train(_tiny(steps=60, checkpoint_every=60), _images(), tmp_path / "b", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    losses = [loss for _, loss in record["history"]]
    assert losses[-1] < losses[0]


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    train(_tiny(), _images(), tmp_path, stop_after=3, progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        train(_tiny(learning_rate=1e-3), _images(), tmp_path, progress=False)
    # Tutorial 6 replaces it instead: a fresh run, equal to one that never saw the old checkpoint.
    replaced, record = train(_tiny(learning_rate=1e-3), _images(), tmp_path, progress=False, replace_other=True)
    fresh, _ = train(_tiny(learning_rate=1e-3), _images(), tmp_path / "fresh", progress=False)
    assert record["step"] == 6
    assert all(torch.equal(a, b) for a, b in zip(replaced.state_dict().values(), fresh.state_dict().values()))


def test_photos_smaller_than_a_crop_are_named(tmp_path):
    with pytest.raises(ValueError, match="tiny: .* smaller than the patch size"):
        train(_tiny(), {"tiny": synthetic_photo(16, 16)}, tmp_path, progress=False)


@pytest.mark.parametrize("size", [(37, 53), (1, 1), (64, 7)])
def test_tiled_inference_matches_whole_image_inference(size):
    torch.manual_seed(0)
    model = EDSR(scale=2, features=8, blocks=2).eval()
    image = synthetic_photo(*size)
    whole = upscale_array(model, image, 2, tile=None)
    tiled = upscale_array(model, image, 2, tile=16)  # overlap: the receptive radius
    assert tiled.shape == (size[0] * 2, size[1] * 2, 3)
    assert np.abs(tiled - whole).max() < 1e-5


def test_tiles_without_enough_overlap_differ():
    torch.manual_seed(0)
    model = EDSR(scale=2, features=8, blocks=2).eval()
    image = synthetic_photo(40, 40)
    assert np.abs(upscale_array(model, image, 2, tile=8, overlap=0) - upscale_array(model, image, 2, tile=None)).max() > 1e-3


def test_a_random_degradation_is_made_afresh_for_each_crop_and_resumes(tmp_path):
    from srlib.train_sr import CropSampler, make_pairs

    pairs = make_pairs(_images(), 2)
    sampler = CropSampler(pairs, 2, 12, seed=1, degradation="second-order")
    lowres, highres = sampler.batch(4)
    assert lowres.shape == (4, 3, 12, 12) and highres.shape == (4, 3, 24, 24)
    again = CropSampler(pairs, 2, 12, seed=1, degradation="second-order").batch(4)
    assert torch.equal(lowres, again[0]) and torch.equal(highres, again[1])
    clean = CropSampler(pairs, 2, 12, seed=1).batch(4)
    assert not torch.equal(lowres, clean[0])  # not the bicubic reduction
    with pytest.raises(ValueError, match="unknown degradation 'crappify'"):
        CropSampler(pairs, 2, 12, seed=1, degradation="crappify")  # no scale: not for this trainer
    straight, _ = train(_tiny(degradation="second-order"), _images(), tmp_path / "straight", progress=False)
    train(_tiny(degradation="second-order"), _images(), tmp_path / "cut", stop_after=3, progress=False)
    resumed, _ = train(_tiny(degradation="second-order"), _images(), tmp_path / "cut", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))


def test_a_run_can_start_from_a_zoo_model():
    from srlib import zoo
    from srlib.train_sr import SRTrainConfig, build_model

    model = build_model(SRTrainConfig(scale=4, init="edsr-x4"))  # float16 in the zoo, float32 here
    shipped, _ = zoo.load_model("edsr-x4", device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), shipped.state_dict().values()))
    assert next(model.parameters()).dtype == torch.float32
    with pytest.raises(ValueError, match="unknown model 'edsr-x9'"):
        build_model(SRTrainConfig(scale=4, init="edsr-x9"))
