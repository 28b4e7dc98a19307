"""What tutorial 1 shares with the library: the Keras auto-encoder and its training helper. (The
loss study itself is the notebook, which the test command runs too.)"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from srlib.keras.models import build_autoencoder  # noqa: E402
from srlib.patches import PairedPatches  # noqa: E402
from srlib.keras.training import fit, predict_image  # noqa: E402
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


@pytest.mark.parametrize("residual", [True, False])
def test_the_pytorch_twin_computes_what_the_keras_model_computes(residual):
    """The zoo serves tutorial 1's model through PyTorch: same outputs from the same weights."""
    import torch

    from srlib.export import keras_autoencoder_to_torch

    keras.utils.set_random_seed(1)
    model = build_autoencoder((4, 8, 16), residual=residual)
    for weight in model.weights:  # random biases too, so a bias copied to the wrong layer shows
        weight.assign(np.random.default_rng(len(weight.path)).normal(0, 0.3, weight.shape).astype("float32"))
    images = np.random.default_rng(2).random((2, 12, 20, 3), dtype=np.float32)
    expected = np.asarray(model(images, training=False))
    twin = keras_autoencoder_to_torch(model, (4, 8, 16), residual=residual)
    with torch.no_grad():
        actual = twin(torch.from_numpy(images).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert np.abs(actual - expected).max() < 1e-4 * max(1.0, np.abs(expected).max())
    with pytest.raises(ValueError, match="kernel .* other filters"):
        keras_autoencoder_to_torch(model, (4, 8, 8), residual=residual)


def interrupted_fit(path, stop_after_epoch=None, settings=None):
    """Tutorial 1's fit (dropout, cosine schedule, fresh crops each epoch) with a checkpoint;
    ``stop_after_epoch``: raise what Ctrl-C raises once that epoch's checkpoint is written."""
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == stop_after_epoch:
                raise KeyboardInterrupt

    keras.utils.set_random_seed(1)
    images = {f"p{seed}": synthetic_photo(64, 64, seed=seed) for seed in range(2)}
    pairs = PairedPatches(images, "bicubic", scale=2, patch_size=16, length=8, upsample_input=True, seed=1)
    model = build_autoencoder((8, 8, 8), residual=True)
    history = fit(model, "mae", pairs, num_steps=8, batch_size=2, seed=1, progress=False, checkpoint=path,
                  settings=settings or {"run": 1}, callbacks=[Interrupt()])
    return model, history


def test_an_interrupted_fit_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    whole, whole_history = interrupted_fit(tmp_path / "whole.npz")
    with pytest.raises(KeyboardInterrupt):
        interrupted_fit(tmp_path / "cut.npz", stop_after_epoch=0)
    resumed, history = interrupted_fit(tmp_path / "cut.npz")
    assert history["resumed_after"] == 1 and whole_history["resumed_after"] == 0
    assert all(np.array_equal(a, b) for a, b in zip(whole.get_weights(), resumed.get_weights()))
    assert history["loss"] == whole_history["loss"] and history["step_loss"] == whole_history["step_loss"]
    # A finished fit found again trains nothing and gives back its model and history (tutorial 1's
    # losses done before an interruption are not trained again).
    again, again_history = interrupted_fit(tmp_path / "cut.npz")
    assert again_history["resumed_after"] == 2 and again_history["loss"] == whole_history["loss"]
    assert all(np.array_equal(a, b) for a, b in zip(whole.get_weights(), again.get_weights()))
    # Another run's settings: the checkpoint is not used.
    _, fresh = interrupted_fit(tmp_path / "cut.npz", settings={"run": 2})
    assert fresh["resumed_after"] == 0
