"""PyTorch and fastai access to :class:`srlib.patches.PairedPatches` (imports torch).

Tensors are NCHW float32 in [0, 1]: ``(lowres, highres)`` batches for a fastai ``Learner``.
Taught in ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import torch

from srlib.patches import PairedPatches
from srlib.torch import to_tensor


class TorchPairs(torch.utils.data.Dataset):
    """A ``torch.utils.data.Dataset`` of ``(lowres, highres)`` CHW tensors from ``PairedPatches``.

    Each pass over the data (each ``__iter__`` of the loader built by :func:`dataloaders`)
    moves to a new epoch, so crops differ between epochs but are the same for a given seed.
    """

    def __init__(self, pairs: PairedPatches):
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index):
        lowres, highres = self.pairs[index]
        return to_tensor(lowres), to_tensor(highres)


def dataloaders(train: PairedPatches, valid: PairedPatches, batch_size: int = 16, device=None, seed: int = 0):
    """fastai ``DataLoaders`` over the two pair sets; training batches are shuffled.

    ``device`` defaults to the GPU when there is one. fastai's DataLoader calls
    ``before_iter`` at each epoch; we move the training pairs to the next epoch's crops there.
    """
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.torch_core import default_device

    class EpochDataLoader(DataLoader):
        epoch = -1

        def before_iter(self):
            super().before_iter()
            self.epoch += 1
            self.dataset.pairs.set_epoch(self.epoch)

    device = device if device is not None else default_device()
    train_loader = EpochDataLoader(TorchPairs(train), bs=batch_size, shuffle=True, drop_last=True,
                                   num_workers=0, device=device)
    train_loader.rng.seed(seed)  # fastai shuffles with this random.Random
    valid_loader = DataLoader(TorchPairs(valid), bs=batch_size, shuffle=False, num_workers=0, device=device)
    return DataLoaders(train_loader, valid_loader, device=device)


def paired_data(train_images: dict, valid_images: dict, degradation: str = "crappify", scale: int = 1,
                patch_size: int = 96, batch_size: int = 8, steps_per_epoch: int = 100,
                highres_size: int | None = None, seed: int = 0, device=None, fresh_damage: bool = False):
    """The U-Net tutorials' data in one call: ``(dls, valid_inputs, valid_targets)``.

    With ``highres_size``, training photos become a :func:`srlib.patches.tile_pyramid` of
    ``highres_size`` tiles (whole photos shrunk to that shorter side, plus tiles of closer views)
    and validation photos are shrunk to that shorter side (:func:`srlib.resize.shrink`); None
    keeps both as they are. ``dls`` are :func:`dataloaders` of ``steps_per_epoch * batch_size``
    training crops (seed ``seed``) and ``2 * batch_size`` validation crops (seed ``seed + 1``),
    inputs bicubic-upsampled to the target size (``fresh_damage``: the training images are
    degraded again at each epoch, see :class:`srlib.patches.PairedPatches`);
    ``valid_inputs``/``valid_targets`` are the whole
    validation photos (:func:`srlib.patches.degrade_photos`, seed ``seed``). Tutorial 2 builds
    the same thing step by step and checks it against this.
    """
    from srlib.patches import degrade_photos, tile_pyramid
    from srlib.resize import shrink

    if highres_size:
        train_images = tile_pyramid(train_images, highres_size)
        valid_images = {name: shrink(image, highres_size) for name, image in valid_images.items()}

    def crops(images, length, crop_seed, fresh=False):
        return PairedPatches(images, degradation, scale=scale, patch_size=patch_size, length=length,
                             upsample_input=True, seed=crop_seed, fresh_damage=fresh)

    dls = dataloaders(crops(train_images, steps_per_epoch * batch_size, seed, fresh_damage),
                      crops(valid_images, 2 * batch_size, seed + 1),
                      batch_size=batch_size, device=device, seed=seed)
    valid_inputs, valid_targets = degrade_photos(valid_images, degradation, scale, upsample_input=True, seed=seed)
    return dls, valid_inputs, valid_targets
