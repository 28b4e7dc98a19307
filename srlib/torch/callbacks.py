"""fastai callbacks of srlib (imports torch and fastai).

:class:`BFloat16Training` is fastai's ``MixedPrecision`` for bfloat16 on any device: fastai 2.8's
own callback enters CUDA autocast only, so on a CPU with native bfloat16 (AVX-512-BF16, AMX) it
does nothing. Used by the U-Net tutorials' learners (``notebooks/02`` and ``03``; tutorial 4's
critic and GAN game stay float32);
measured in ``results/benchmarks/speed.md``.

:class:`EpochCheckpoints` saves a fit's whole state after every epoch, so a full run that is
interrupted resumes where it stopped (tutorials 2, 3 and 4).

:func:`distributed` is fastai's ``distrib_ctx`` (DistributedDataParallel through Hugging Face
Accelerate, each process a shard of every epoch) for a learner started by ``torchrun``, with the
two places where fastai 2.8 assumes CUDA mended so that CPU processes (gloo) work too, and its
``lr_find`` made to restore every process. :func:`distribute_learners` does the same for every
``Learner`` a process creates: the notebook runner calls it in each kernel under ``torchrun``.
"""
from __future__ import annotations

import functools
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback, CancelEpochException
from fastcore.foundation import L

from srlib.torch import checkpoints, precision as precisions
from srlib.torch.distributed import process_group


class BFloat16Training(Callback):
    """bfloat16 autocast + channels-last for a fastai ``Learner``, where it pays (see :mod:`srlib.torch.precision`).

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


class EpochCheckpoints(Callback):
    """Save the whole state of a fit after every epoch; the same fit run again resumes after the last one.

    ``path``: the checkpoint file of this fit (one per ``fit`` call: a two-stage schedule uses two).
    ``settings``: what decides the run (the notebook's ``CONFIG``); a checkpoint written with other
    settings, or for another number of epochs, is not used (the fit starts afresh and replaces it).
    ``extra``: ``{name: object}`` with ``state_dict()`` and ``load_state_dict(state)``, saved too (a
    callback's records, a GAN's turn); they are restored after the skipped epochs, so whatever they
    recorded during those is replaced.

    Saved after each epoch (atomically, :func:`srlib.torch.checkpoints.save_state`): the model, the
    optimiser (Adam's moments included) and which parameters hold a gradient, the global random
    generators, the training loader's own generator and epoch counter (``EpochDataLoader.epoch``),
    the recorder's losses, learning rates and table rows, and the training seconds so far. On resuming, the epochs already done are
    skipped through fastai's ``CancelEpochException`` (as ``fit(start_epoch=...)`` does), their
    rows printed again from the file; the one-cycle schedule is positioned by epoch, so the rest
    of the run is the same as an uninterrupted one (a test checks the weights). ``seconds``: the
    training time of the whole fit, across interruptions; ``resumed_after``: the epochs skipped.
    """

    order = 65  # after the Recorder (50), which it restores, and the progress bars (60), which count every epoch

    def __init__(self, path, settings: dict | None = None, extra: dict | None = None):
        self.path, self.settings, self.extra = Path(path), dict(settings or {}), dict(extra or {})
        self.seconds, self.resumed_after, self.state = 0.0, 0, None

    def before_fit(self):
        self.state = checkpoints.load_state(self.path, {**self.settings, "epochs": self.n_epoch})
        self.resumed_after, earlier = 0, 0.0
        if self.state is not None:
            state = self.state
            model = _unwrapped(self.learn.model)
            model.load_state_dict(state["model"])
            for parameter, had_gradient in zip(model.parameters(), state["gradients"]):
                # fastai zeroes gradients rather than dropping them, and its optimiser steps every
                # parameter whose .grad is not None (a GAN's frozen player too): restore which ones.
                parameter.grad = torch.zeros_like(parameter) if had_gradient else None
            self.learn.opt.load_state_dict({"state": state["optimiser"]["state"],
                                            "hypers": L(state["optimiser"]["hypers"])})
            checkpoints.set_random_state(state["random"])
            loader = _unwrapped_loader(self.dls.train)
            loader.rng.setstate(_as_tuple(state["loader_rng"]))
            if state["loader_epoch"] is not None:
                loader.epoch = state["loader_epoch"]
            recorder = self.learn.recorder
            recorder.losses = [torch.tensor(value) for value in state["losses"]]
            recorder.lrs = list(state["lrs"])
            recorder.smooth_loss.count, recorder.smooth_loss.val = state["smooth_count"], state["smooth_value"]
            self.resumed_after, earlier = state["epoch"] + 1, state["seconds"]
            print(f"{self.path.name}: resuming after epoch {self.resumed_after} of {self.n_epoch} "
                  f"({earlier / 60:.1f} min of training so far)")
        self.started = time.perf_counter() - earlier

    def before_epoch(self):
        if self.epoch < self.resumed_after:
            self.learn.recorder.log = L(self.epoch) + L(self.state["values"][self.epoch])  # its row, as first printed
            raise CancelEpochException

    def after_epoch(self):
        recorder = self.learn.recorder
        if self.epoch < self.resumed_after:
            recorder.iters[-1] = self.state["iters"][self.epoch]
            if self.epoch == self.resumed_after - 1:
                for name, item in self.extra.items():
                    item.load_state_dict(self.state["extra"][name])
            return
        self.seconds = time.perf_counter() - self.started
        loader, model = _unwrapped_loader(self.dls.train), _unwrapped(self.learn.model)
        checkpoints.save_state(self.path, {  # rank 0 alone writes under torchrun
            "epoch": self.epoch, "seconds": self.seconds,
            "model": model.state_dict(),  # save_state stores plain CPU copies as it writes
            "gradients": [parameter.grad is not None for parameter in model.parameters()],
            "optimiser": _plain(self.learn.opt.state_dict()), "random": checkpoints.random_state(),
            "loader_rng": loader.rng.getstate(), "loader_epoch": getattr(loader, "epoch", None),
            "losses": [float(value) for value in recorder.losses], "lrs": [float(value) for value in recorder.lrs],
            "values": [[None if value is None else float(value) for value in row] for row in recorder.values],
            "iters": [int(value) for value in recorder.iters],
            "smooth_count": recorder.smooth_loss.count, "smooth_value": recorder.smooth_loss.val,
            "extra": {name: item.state_dict() for name, item in self.extra.items()},
        }, {**self.settings, "epochs": self.n_epoch})

    def after_fit(self):
        self.seconds = time.perf_counter() - self.started
        self.state = None


def _unwrapped(model):
    """The model inside a DistributedDataParallel wrapper (itself otherwise): its state has the
    plain parameter names, so a checkpoint resumes with any number of processes."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def _unwrapped_loader(loader):
    """The loader inside fastai's ``DistributedDL`` (itself otherwise): the one whose random
    generator shuffles and whose epoch counter advances."""
    module = sys.modules.get("fastai.distributed")  # loaded wherever such a loader exists
    return loader.dl if module is not None and isinstance(loader, module.DistributedDL) else loader


def _as_tuple(value):
    """``random.Random.setstate`` wants the tuples that ``getstate`` gave (a checkpoint may hold lists)."""
    return tuple(_as_tuple(item) for item in value) if isinstance(value, (list, tuple)) else value


def _plain(value):
    """fastai's optimiser state with plain lists for its ``L`` lists and Python numbers for NumPy's
    (what a ``weights_only`` load reads)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, L)):
        return [_plain(item) for item in value]
    return value.item() if isinstance(value, np.generic) else value


@functools.cache
def _trainer_class():
    """fastai's ``DistributedTrainer``, mended for CPU processes and for the learning-rate finder
    (made on first use: ``fastai.distributed`` imports Hugging Face Accelerate)."""
    import copy

    import torch.distributed as dist
    from fastai.callback.schedule import LRFinder
    from fastai.distributed import DistributedDL, DistributedTrainer

    class ShardedLoader(DistributedDL):
        def _broadcast(self, values, rank):  # fastai moves the order to CUDA, which only NCCL needs
            tensor = torch.tensor(values, dtype=torch.long)
            tensor = tensor.cuda() if dist.get_backend() == "nccl" else tensor
            dist.broadcast(tensor, rank)
            return tensor.cpu().tolist()

    class Trainer(DistributedTrainer):
        """DDP for one learner's fits (see :func:`distributed`)."""

        def __init__(self, sync_bn: bool | None = None):
            on_gpu = torch.cuda.is_available()
            super().__init__(sync_bn=on_gpu if sync_bn is None else sync_bn, cpu=not on_gpu)

        def _wrap_dl(self, loader):  # fastai reads the DDP wrapper's .device, set only for a GPU module
            if isinstance(loader, DistributedDL):
                return loader
            return ShardedLoader(loader, device=next(self.learn.model.parameters()).device)

        def before_fit(self):
            super().before_fit()
            # fastai's LRFinder saves the weights to a temporary folder of its own in each process,
            # but only rank 0 writes, so the other processes would not restore them (and would
            # skip the barrier of Learner.load). Every process keeps a copy in memory instead.
            self.finder = next((cb for cb in self.learn.cbs if isinstance(cb, LRFinder)), None)
            if self.finder is not None:
                # lr_find counted its epochs from the whole loader; each process has 1 / N of it
                self.learn.n_epoch *= dist.get_world_size()
                self.saved = (copy.deepcopy(_unwrapped(self.learn.model).state_dict()),
                              copy.deepcopy(self.learn.opt.state_dict()))

        def after_fit(self):
            super().after_fit()
            if self.finder is not None:
                model_state, optimiser_state = self.saved
                self.learn.model.load_state_dict(model_state)
                self.learn.opt.load_state_dict(optimiser_state)
                self.finder.tmp_d.cleanup()  # LRFinder.after_fit then finds no file and loads nothing
                self.finder = self.saved = None

    return Trainer


@contextmanager
def distributed(learn, sync_bn: bool | None = None):
    """Train ``learn`` in every process of a ``torchrun`` launch with DistributedDataParallel:
    ``with distributed(learn): learn.fit_one_cycle(...)``. One process: nothing changes.

    fastai's own ``DistributedTrainer`` (Accelerate's ``prepare``: DDP, gradients averaged) and
    ``DistributedDL`` (each process takes its share of every epoch's shuffled samples, so an epoch
    has ``1 / N`` of the steps and the global batch is N times the loader's; the losses the
    recorder smooths are averaged over the processes). Four mends: the loader is moved to the
    parameters' device (fastai reads the DDP wrapper's ``.device``, which DDP sets only for a GPU
    module), the shuffled order is broadcast over gloo on the CPU (fastai moves it to CUDA for
    NCCL), ``lr_find`` runs the ``num_it`` steps it was asked for (fastai's counts epochs of the
    whole loader), and it restores the weights and optimiser in every process (fastai's restores
    rank 0 only, from a file the others never see). ``sync_bn`` (default: on GPUs) turns
    batch norms into ``SyncBatchNorm``; on CPUs DDP broadcasts rank 0's running statistics
    instead. Processes other than rank 0 print no progress bars or tables.
    """
    from fastai.callback.progress import ProgressCallback

    rank, world_size = process_group()
    if world_size == 1:
        yield learn
        return
    trainer = _trainer_class()(sync_bn)
    learn.add_cb(trainer)
    removed = rank != 0 and hasattr(learn, "progress")
    if removed:
        learn.remove_cb(ProgressCallback)
    try:
        yield learn
    finally:
        learn.remove_cb(trainer)
        if removed:
            learn.add_cb(ProgressCallback())


def distribute_learners() -> bool:
    """Make every fastai ``Learner`` created from now on in this process train in
    DistributedDataParallel, as :func:`distributed` does for one (fastai's ``defaults.callbacks``).
    What the notebook runner does in each kernel under ``torchrun``, so that a tutorial's own
    ``Learner`` cells run unchanged on N processes. Returns False (and changes nothing) without a
    process group of more than one process."""
    from fastai.learner import defaults

    if process_group()[1] == 1:
        return False
    trainer = _trainer_class()
    if trainer not in defaults.callbacks:
        defaults.callbacks.append(trainer)
    return True
