"""Keras access to :class:`srlib.patches.PairedPatches` (imports keras).

Batches are NHWC float32 in [0, 1], the layout Keras models use on every backend.
Taught in ``notebooks/01_autoencoder_keras.ipynb``.
"""
from __future__ import annotations

import numpy as np
import keras

from srlib.patches import PairedPatches


class KerasPairs(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` of ``(lowres, highres)`` NHWC batches.

    ``shuffle`` reorders the pairs each epoch (seeded); the crops themselves change each epoch
    through ``PairedPatches.set_epoch``. The last partial batch is dropped when ``shuffle``.
    ``batches_per_epoch`` shortens an epoch to that many batches (Keras's ``steps_per_epoch`` does not
    restart a ``PyDataset`` between epochs, so shorten the dataset instead).
    """

    def __init__(self, pairs: PairedPatches, batch_size: int = 16, shuffle: bool = True, seed: int = 0,
                 batches_per_epoch: int | None = None):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.pairs, self.batch_size, self.shuffle, self.seed = pairs, batch_size, shuffle, seed
        self.batches_per_epoch = batches_per_epoch
        self.epoch = 0
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        order = np.arange(len(self.pairs))
        if self.shuffle:
            np.random.default_rng([self.seed, self.epoch]).shuffle(order)
        return order

    def __len__(self) -> int:
        full = max(1, len(self.pairs) // self.batch_size) if self.shuffle else -(-len(self.pairs) // self.batch_size)
        return min(full, self.batches_per_epoch) if self.batches_per_epoch else full

    def __getitem__(self, batch_index: int):
        indices = self._order[batch_index * self.batch_size: (batch_index + 1) * self.batch_size]
        return self.pairs.batch(indices)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.pairs.set_epoch(self.epoch)
        self._order = self._make_order()
