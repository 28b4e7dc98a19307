"""Tutorial 1's library code: the Keras auto-encoder, its training helper and the loss study."""
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from srlib import autoencoder_study  # noqa: E402
from srlib.autoencoder_study import StudyConfig, run_study  # noqa: E402
from srlib.models_keras import build_autoencoder  # noqa: E402
from srlib.patches import PairedPatches  # noqa: E402
from srlib.train_keras import fit, predict_image  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402


def test_original_parameter_count_and_fresh_layers():
    first, second = build_autoencoder(), build_autoencoder()
    assert first.count_params() == 1_110_403  # the original tutorial's model
    # The original's bug: a second model built from the first one's layers shared its weights.
    assert not any(a is b for a, b in zip(first.weights, second.weights))


def test_fully_convolutional_and_residual_starts_near_identity():
    keras.utils.set_random_seed(0)
    model = build_autoencoder((4, 8, 8), residual=True)
    image = synthetic_photo(30, 45)  # not a multiple of 4: predict_image pads and crops
    output = predict_image(model, image)
    assert output.shape == image.shape and output.dtype == np.float32
    assert 0 <= output.min() and output.max() <= 1
    assert np.abs(output - image).mean() < 0.2  # input + a small random correction
    with pytest.raises(ValueError, match="three entries"):
        build_autoencoder((8, 16))


def test_fit_takes_the_requested_steps_and_records_them():
    keras.utils.set_random_seed(0)
    pairs = PairedPatches({"a": synthetic_photo(64, 64)}, "downup", scale=2, patch_size=16, length=8)
    model = build_autoencoder((4, 8, 8), residual=True)
    history = fit(model, "mse", pairs, num_steps=6, batch_size=2, progress=False)
    assert history["steps"] == 6 and len(history["step_loss"]) == 6 and len(history["loss"]) == 2
    assert all(np.isfinite(history["step_loss"]))


def test_study_is_seeded_and_resumes(tmp_path, monkeypatch):
    images = {f"p{s}": synthetic_photo(64, 64, seed=s) for s in range(2)}
    monkeypatch.setattr(autoencoder_study, "load_split", lambda split, folder=None: images)
    config = StudyConfig(filters=(4, 8, 8), patch_size=16, batch_size=2, num_steps=3)
    output = tmp_path / "study.json"
    first = run_study(config, losses=["mse"], progress=False, output=output)
    assert [row["method"] for row in first["rows"]].count("MSE") == 2  # one row per image
    saved = json.loads(output.read_text())
    assert list(saved["histories"]) == ["mse"]
    # Resuming with one more loss trains only that one and keeps the first result as it was.
    second = run_study(config, losses=["mse", "l1"], progress=False, output=output)
    assert second["histories"]["mse"] == first["histories"]["mse"]
    assert {row["method"] for row in second["rows"]} == {"bicubic", "input", "MSE", "L1"}
    # Same seed, same numbers.
    again = run_study(config, losses=["mse"], progress=False)
    mse = lambda result: [row["psnr"] for row in result["rows"] if row["method"] == "MSE"]  # noqa: E731
    assert mse(again) == pytest.approx(mse(first), abs=1e-9)


def test_full_results_file_matches_the_study_config():
    from srlib.config import PROJECT_ROOT

    full = json.loads((PROJECT_ROOT / "results" / "full" / "autoencoder_study.json").read_text())
    config = json.loads(json.dumps(StudyConfig.for_mode("full").__dict__))
    # The committed full run predates the precision setting: it ran in float32 (Keras's default
    # policy). Everything else must match.
    assert config.pop("precision") == "auto" and "precision" not in full["config"]
    assert full["config"] == config
    assert set(full["histories"]) == set(autoencoder_study.STUDY_LOSSES)
    assert full["parameters"] == 1_110_403
