"""Training and inference helpers for Keras models (imports keras).

Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

import time

import keras
import numpy as np
from tqdm import tqdm

from srlib.arrays import pad_to_multiple
from srlib.data_keras import KerasPairs
from srlib.patches import PairedPatches


def dtype_policy(precision: str = "auto") -> str:
    """The Keras dtype policy for ``precision``: ``"mixed_bfloat16"`` or ``"float32"``.

    ``"auto"`` means bfloat16 where it is native: on the TensorFlow backend (this project's
    tensorflow-cpu) when the CPU has AVX-512-BF16 or AMX-BF16 (:func:`srlib.config.native_bfloat16_flags`); on
    the torch backend as :func:`srlib.precision.resolve` decides for its default device. Keras's
    ``mixed_bfloat16`` computes in bfloat16 and keeps float32 weights, like PyTorch's autocast.
    Measured in ``results/benchmarks/speed.md``.
    """
    from srlib.config import check_precision, native_bfloat16_flags, precision_setting

    if check_precision(precision) == "auto":
        precision = precision_setting()
    if precision == "auto":
        if keras.backend.backend() == "torch":
            from srlib.precision import resolve
            from srlib.upscale import default_device

            precision = resolve("auto", default_device())
        else:
            precision = "bf16" if native_bfloat16_flags() else "fp32"
    return "mixed_bfloat16" if precision == "bf16" else "float32"


class ProgressBar(keras.callbacks.Callback):
    """One tqdm bar over all training steps, showing the running loss; no per-batch log lines.

    Pass ``verbose=0`` to ``fit`` and this callback instead. The bar redraws in place, so a saved
    notebook keeps only its final state. Whether shown or not (``enabled``), it records the
    loss after every step in ``.step_losses`` (Keras's running mean over the epoch so far).
    """

    def __init__(self, total_steps: int, description: str = "training", enabled: bool = True):
        super().__init__()
        self.total_steps, self.description, self.enabled = total_steps, description, enabled
        self.bar, self.step_losses = None, []

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.total_steps, desc=self.description, leave=True, mininterval=1.0,
                        disable=not self.enabled,
                        bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {n}/{total} [{elapsed}<{remaining}] {postfix}")

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if logs and "loss" in logs:
            self.step_losses.append(float(logs["loss"]))
            self.bar.set_postfix_str(f"loss {self.step_losses[-1]:.4g}", refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()


def fit(model: keras.Model, loss, pairs: PairedPatches, num_steps: int, batch_size: int = 16,
        learning_rate: float = 1e-3, metrics=None, seed: int = 0, description: str = "training",
        progress: bool = True) -> dict:
    """Train ``model`` for about ``num_steps`` batches of ``pairs`` with Adam and a cosine-decayed rate.

    The steps are split into equal epochs of at most one pass over ``pairs`` each (the total is
    rounded up to a multiple of the epoch count). Returns ``{"loss": [mean loss per epoch],
    ..., "step_loss": [running loss every step_stride steps], "seconds": wall time,
    "steps": steps taken}``.
    """
    batches_per_pass = len(KerasPairs(pairs, batch_size=batch_size))
    num_epochs = max(1, -(-num_steps // batches_per_pass))
    steps_per_epoch = -(-num_steps // num_epochs)  # at most one pass; total within num_epochs of num_steps
    dataset = KerasPairs(pairs, batch_size=batch_size, shuffle=True, seed=seed, batches_per_epoch=steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=num_epochs * steps_per_epoch,
                                                      alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=metrics or [])
    bar = ProgressBar(num_epochs * steps_per_epoch, description, enabled=progress)
    started = time.perf_counter()
    history = model.fit(dataset, epochs=num_epochs, verbose=0, callbacks=[bar])
    stride = max(1, len(bar.step_losses) // 250)  # keep at most ~250 points
    return {**{key: [float(v) for v in values] for key, values in history.history.items()},
            "step_loss": bar.step_losses[::stride], "step_stride": stride,
            "seconds": time.perf_counter() - started, "steps": num_epochs * steps_per_epoch}


def predict_image(model: keras.Model, image: np.ndarray, multiple: int = 4) -> np.ndarray:
    """Run a fully convolutional model on one HWC image in [0, 1]; returns HWC float32 in [0, 1].

    The image is padded by reflection to a multiple of ``multiple`` (the model's total
    downsampling) and the output cropped back, so any size works.
    """
    height, width = image.shape[:2]
    padded = pad_to_multiple(image, multiple)
    output = keras.ops.convert_to_numpy(keras.ops.cast(model(padded[None].astype(np.float32), training=False),
                                                       "float32"))[0]
    return np.clip(output[:height, :width], 0.0, 1.0)


def predict_images(model: keras.Model, images: dict, multiple: int = 4) -> dict:
    """:func:`predict_image` on each ``{name: image}``; returns ``{name: prediction}``."""
    return {name: predict_image(model, image, multiple) for name, image in images.items()}
