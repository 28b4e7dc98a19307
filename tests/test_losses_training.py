"""One training step with every loss, in a Keras model and in a fastai Learner."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import fastai.callback.progress  # noqa: E402,F401  (Learner.no_bar)
from fastai.learner import Learner  # noqa: E402

from srlib.keras import losses as lk  # noqa: E402
from srlib.keras.data import KerasPairs  # noqa: E402
from srlib.patches import PairedPatches  # noqa: E402
from srlib.torch import losses as lt  # noqa: E402
from srlib.torch.data import dataloaders  # noqa: E402
from tests.conftest import synthetic_photo  # noqa: E402

NAMES = sorted(lt.LOSSES)


@pytest.fixture(scope="module")
def pairs():
    images = {f"p{s}": synthetic_photo(96, 96, seed=s) for s in range(2)}
    return PairedPatches(images, "downup", scale=2, patch_size=48, length=4, seed=0)


@pytest.mark.parametrize("name", NAMES)
def test_one_fastai_step(pairs, name):
    torch.manual_seed(0)
    loss = lt.LOSSES[name]()
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 3, 3, padding=1), torch.nn.Sigmoid())
    metrics = lt.loss_term_metrics(loss) if hasattr(loss, "terms") else []
    learner = Learner(dataloaders(pairs, pairs, batch_size=2, device="cpu"), model, loss_func=loss, metrics=metrics)
    before = [p.detach().clone() for p in model.parameters()]
    with learner.no_bar(), learner.no_logging():
        learner.fit(1, 1e-3)
    values = learner.recorder.values[-1]  # [train loss, valid loss, *term metrics]
    assert all(np.isfinite(v) for v in values)
    assert len(values) == 2 + len(metrics)
    if metrics:
        assert sum(values[2:]) == pytest.approx(values[1], rel=1e-4)  # the terms add up to the loss
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("name", NAMES)
def test_one_keras_step(pairs, name):
    keras.utils.set_random_seed(0)
    loss = lk.LOSSES[name]()
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")])
    metrics = loss.metrics() if hasattr(loss, "metrics") else []
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=metrics)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(KerasPairs(pairs, batch_size=2), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    if metrics:
        assert {metric.name for metric in metrics} <= set(history.history)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
