"""fastai callbacks of srlib (imports torch and fastai).

:class:`BFloat16Training` is fastai's ``MixedPrecision`` for bfloat16 on any device: fastai 2.8's
own callback enters CUDA autocast only, so on a CPU with native bfloat16 (AVX-512-BF16, AMX) it
does nothing. Used by the U-Net tutorials' learners (``notebooks/02`` and ``03``; tutorial 4's
critic and GAN game stay float32);
measured in ``results/benchmarks/speed.md``.
"""
from __future__ import annotations

import torch
from fastai.callback.core import Callback

from srlib import precision as precisions


class BFloat16Training(Callback):
    """bfloat16 autocast + channels-last for a fastai ``Learner``, where it pays (see :mod:`srlib.precision`).

    ``precision``: ``"auto"`` (bfloat16 where the hardware has it natively), ``"bf16"`` or
    ``"fp32"`` (the callback does nothing). The forward pass and the loss run under autocast;
    predictions are cast back to float32 before the loss, the weights and the optimizer stay
    float32, and no gradient scaling is needed (bfloat16 has float32's range).
    ``learn.precision`` says what was used.
    """

    order = 10  # where fastai's MixedPrecision runs: after the data reach the device

    def __init__(self, precision: str = "auto"):
        self.precision = precision
        self.resolved = None
        self._autocast = None

    def before_fit(self):
        device = self.dls.device if getattr(self.dls, "device", None) is not None else "cpu"
        self.device = torch.device(device)
        self.resolved = precisions.prepare_training(self.learn.model, self.precision, self.device)
        self.learn.precision = self.resolved

    def before_batch(self):
        if self.resolved != "bf16":
            return
        self.learn.xb = tuple(x.contiguous(memory_format=torch.channels_last) if torch.is_tensor(x) and x.ndim == 4
                              else x for x in self.xb)
        self._autocast = torch.autocast(self.device.type, dtype=torch.bfloat16)
        self._autocast.__enter__()

    def after_pred(self):
        if self.resolved == "bf16" and torch.is_tensor(self.pred) and self.pred.is_floating_point():
            self.learn.pred = self.pred.float()

    def _leave(self):
        if self._autocast is not None:
            self._autocast.__exit__(None, None, None)
            self._autocast = None

    def after_loss(self):
        self._leave()

    def after_cancel_batch(self):
        self._leave()

    def after_fit(self):
        self._leave()
        self.learn.model.to(memory_format=torch.contiguous_format)
