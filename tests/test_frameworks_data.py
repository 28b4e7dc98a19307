"""The same pairs reach PyTorch/fastai and Keras; `import srlib` stays framework-free."""
import subprocess
import sys

import numpy as np
import pytest

from srlib.patches import PairedPatches
from tests.conftest import synthetic_photo


@pytest.fixture
def pairs():
    images = {"a": synthetic_photo(64, 80, seed=1), "b": synthetic_photo(64, 64, seed=2)}
    return PairedPatches(images, "bicubic", scale=2, patch_size=16, length=8, seed=3)


def test_import_srlib_imports_no_framework():
    code = ("import sys, srlib, srlib.io, srlib.degrade, srlib.metrics, srlib.samples, srlib.patches, "
            "srlib.evaluation, srlib.cli, srlib.config; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'fastai') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_torch_and_fastai(pairs):
    torch = pytest.importorskip("torch")
    import fastai.callback.progress  # noqa: F401  (adds Learner.no_bar)
    from fastai.learner import Learner

    from srlib.torch import to_image, to_tensor
    from srlib.torch.data import TorchPairs, dataloaders

    lowres, highres = TorchPairs(pairs)[0]
    assert lowres.shape == (3, 8, 8) and highres.shape == (3, 16, 16)
    np.testing.assert_array_equal(to_image(highres), pairs[0][1])  # same pixels as the NumPy pairs
    assert to_tensor(np.zeros((2, 5, 6, 3))).shape == (2, 3, 5, 6)
    loaders = dataloaders(pairs, pairs, batch_size=4, device="cpu")
    batch_lowres, batch_highres = loaders.train.one_batch()
    assert batch_lowres.shape == (4, 3, 8, 8) and batch_highres.shape == (4, 3, 16, 16)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(3, 3, 3, padding=1))
    learner = Learner(loaders, model, loss_func=torch.nn.functional.mse_loss)
    with learner.no_bar(), learner.no_logging():
        learner.fit(1, 1e-3)
    assert np.isfinite(learner.recorder.losses[-1].item())


def test_keras_pydataset(pairs):
    keras = pytest.importorskip("keras")
    from srlib.keras.data import KerasPairs

    dataset = KerasPairs(pairs, batch_size=4, seed=0)
    assert len(dataset) == 2
    lowres, highres = dataset[0]
    assert lowres.shape == (4, 8, 8, 3) and highres.shape == (4, 16, 16, 3)
    first_order = dataset._order.copy()
    dataset.on_epoch_end()
    assert pairs.epoch == 1 and not np.array_equal(first_order, dataset._order)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.UpSampling2D(2),
                              keras.layers.Conv2D(3, 3, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(KerasPairs(pairs, batch_size=4), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
