"""Training and inference helpers for Keras models (imports keras).

Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from srlib.arrays import pad_to_multiple
from srlib.io import atomic_write, settings_match, settings_text
from srlib.keras.data import KerasPairs
from srlib.patches import PairedPatches


def dtype_policy(precision: str = "auto") -> str:
    """The Keras dtype policy for ``precision``: ``"mixed_bfloat16"`` or ``"float32"``.

    ``"auto"`` means bfloat16 where it is native: on the TensorFlow backend (this project's
    tensorflow-cpu) when the CPU has AVX-512-BF16 or AMX-BF16 (:func:`srlib.config.native_bfloat16_flags`); on
    the torch backend the same, or with a GPU ``torch.cuda.is_bf16_supported()``. Keras's
    ``mixed_bfloat16`` computes in bfloat16 and keeps float32 weights, like PyTorch's autocast.
    Measured in ``results/benchmarks/speed.md``.
    """
    from srlib.config import check_precision, native_bfloat16_flags, precision_setting

    if check_precision(precision) == "auto":
        precision = precision_setting()
    if precision == "auto":
        native = bool(native_bfloat16_flags())
        if keras.backend.backend() == "torch":
            import torch  # Keras's backend here: its device is PyTorch's

            if torch.cuda.is_available():
                native = torch.cuda.is_bf16_supported()
        precision = "bf16" if native else "fp32"
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
        self.bar, self.step_losses, self.initial = None, [], 0

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.total_steps, initial=self.initial, desc=self.description, leave=True,
                        mininterval=1.0, disable=not self.enabled,
                        bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {n}/{total} [{elapsed}<{remaining}] {postfix}")

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        if logs and "loss" in logs:
            self.step_losses.append(float(logs["loss"]))
            self.bar.set_postfix_str(f"loss {self.step_losses[-1]:.4g}", refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()


def save_backup(path, arrays: dict, state: dict, settings: dict) -> Path:
    """Write a Keras run's backup atomically to ``path``: ``arrays`` (name -> NumPy array) and
    ``state`` and ``settings`` (JSON-able) in one NumPy ``.npz`` file (nothing executable: it is
    read back with ``allow_pickle=False``). Framework-free, so a Keras run needs no PyTorch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = {"state": np.array(json.dumps(state)), "settings": np.array(settings_text(settings))}

    def write(temporary):
        with open(temporary, "wb") as file:
            np.savez(file, **arrays, **texts)

    atomic_write(path, write)
    return path


def load_backup(path, settings: dict) -> tuple[dict, dict] | None:
    """``(arrays, state)`` that :func:`save_backup` wrote to ``path`` with the same ``settings``;
    ``None`` when there is no file, or one of other settings (then the run starts afresh, and says
    so). A file that cannot be read is a ``ValueError`` naming it."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        saved_settings, state = str(arrays.pop("settings")), json.loads(str(arrays.pop("state")))
    except Exception as error:  # zipfile, NumPy and JSON raise several kinds for a damaged file
        raise ValueError(f"{path}: not a readable Keras backup ({type(error).__name__}: {error}); "
                         "delete it to start afresh") from None
    return (arrays, state) if settings_match(path, saved_settings, settings) else None


class EpochBackup(keras.callbacks.Callback):
    """Save a Keras fit's whole state after every epoch, so that an interrupted fit resumes.

    The state is the model's variables (the dropout layers' seed states included), the
    optimiser's (Adam's moments and its step count, which places the cosine schedule), the
    history so far, the progress bar's per-step losses, the training seconds and Python's and
    NumPy's global random generators; :func:`save_backup` writes it atomically to ``path`` with
    ``settings``. :func:`fit` with ``checkpoint=path`` creates one; :meth:`restore` returns how many
    epochs the file holds (0 when there is none, or one of other settings).
    Keras's own ``BackupAndRestore`` keeps the weights and the epoch but not the history or the
    crops' epoch, which the resumed run needs to equal an uninterrupted one.
    """

    def __init__(self, path, settings: dict, dataset: KerasPairs, bar: ProgressBar):
        super().__init__()
        self.path, self.settings = path, settings
        self.dataset, self.bar = dataset, bar
        self.history, self.seconds_before, self.started = {}, 0.0, None

    def restore(self, model: keras.Model) -> int:
        backup = load_backup(self.path, self.settings)
        if backup is None:
            return 0
        arrays, state = backup
        model.optimizer.build(model.trainable_variables)
        for group, variables in (("model", model.variables), ("optimizer", model.optimizer.variables)):
            if state["counts"][group] != len(variables):
                raise ValueError(f"{self.path}: {state['counts'][group]} {group} variables, this model has "
                                 f"{len(variables)}; delete it to start afresh")
            for index, variable in enumerate(variables):
                variable.assign(arrays[f"{group}_{index}"])
        version, internal, gauss = state["random"]["python"]
        random.setstate((version, tuple(internal), gauss))
        name, position, has_gauss, cached = state["random"]["numpy"]
        np.random.set_state((name, arrays["numpy_keys"], position, has_gauss, cached))
        self.history, self.bar.step_losses = state["history"], list(state["step_losses"])
        self.seconds_before = float(state["seconds"])
        epochs = int(state["epochs"])
        self.dataset.epoch = epochs - 1
        self.dataset.on_epoch_end()  # the crops and order of epoch `epochs`
        print(f"{self.path}: resuming after epoch {epochs} ({self.seconds_before:.0f} s of training)")
        return epochs

    @property
    def seconds(self) -> float:
        return self.seconds_before + (time.perf_counter() - self.started if self.started else 0.0)

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        arrays = {f"{group}_{index}": np.array(keras.ops.convert_to_numpy(variable))
                  for group, variables in (("model", self.model.variables), ("optimizer", self.model.optimizer.variables))
                  for index, variable in enumerate(variables)}
        name, keys, position, has_gauss, cached = np.random.get_state()
        arrays["numpy_keys"] = keys
        save_backup(self.path, arrays, {
            "epochs": epoch + 1, "history": self.history, "step_losses": self.bar.step_losses, "seconds": self.seconds,
            "counts": {"model": len(self.model.variables), "optimizer": len(self.model.optimizer.variables)},
            "random": {"python": random.getstate(), "numpy": [name, position, has_gauss, cached]}}, self.settings)


def fit(model: keras.Model, loss, pairs: PairedPatches, num_steps: int, batch_size: int = 16,
        learning_rate: float = 1e-3, metrics=None, seed: int = 0, description: str = "training",
        progress: bool = True, checkpoint=None, settings: dict | None = None, callbacks=()) -> dict:
    """Train ``model`` for about ``num_steps`` batches of ``pairs`` with Adam and a cosine-decayed rate.

    The steps are split into equal epochs of at most one pass over ``pairs`` each (the total is
    rounded up to a multiple of the epoch count). Returns ``{"loss": [mean loss per epoch],
    ..., "step_loss": [running loss every step_stride steps], "seconds": training time,
    "steps": steps taken, "resumed_after": epochs read from the checkpoint}``.

    With ``checkpoint`` (a file path), the whole state is saved there after every epoch
    (:class:`EpochBackup`) and a fit that finds one written with the same ``settings`` resumes from
    it, ending with the weights an uninterrupted fit would have; one that finds all its epochs
    done trains nothing and returns the saved history. ``callbacks`` run after the backup.
    """
    batches_per_pass = len(KerasPairs(pairs, batch_size=batch_size))
    num_epochs = max(1, -(-num_steps // batches_per_pass))
    steps_per_epoch = -(-num_steps // num_epochs)  # at most one pass; total within num_epochs of num_steps
    dataset = KerasPairs(pairs, batch_size=batch_size, shuffle=True, seed=seed, batches_per_epoch=steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=num_epochs * steps_per_epoch,
                                                      alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss, metrics=metrics or [])
    bar = ProgressBar(num_epochs * steps_per_epoch, description, enabled=progress)
    backup, initial_epoch = None, 0
    if checkpoint is not None:
        backup = EpochBackup(checkpoint, {**(settings or {}), "num_steps": num_steps, "batch_size": batch_size,
                                          "learning_rate": learning_rate, "seed": seed}, dataset, bar)
        initial_epoch = backup.restore(model)
    bar.initial = initial_epoch * steps_per_epoch
    started = time.perf_counter()
    history = model.fit(dataset, epochs=num_epochs, initial_epoch=initial_epoch, verbose=0,
                        callbacks=[bar] + ([backup] if backup else []) + list(callbacks))
    epochs = backup.history if backup else history.history
    stride = max(1, len(bar.step_losses) // 250)  # keep at most ~250 points
    return {**{key: [float(v) for v in values] for key, values in epochs.items()},
            "step_loss": bar.step_losses[::stride], "step_stride": stride,
            "seconds": backup.seconds if backup else time.perf_counter() - started,
            "steps": num_epochs * steps_per_epoch, "resumed_after": initial_epoch}


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
