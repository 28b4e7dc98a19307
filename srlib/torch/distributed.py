"""Processes started by ``torchrun``: joining their process group, and which one writes (imports torch).

``torchrun --nproc_per_node N ...`` starts N copies of a program with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT`` in their environment. :func:`start` joins
them in one process group (PyTorch's ``torch.distributed``): NCCL with GPU ``LOCAL_RANK`` where
there are GPUs, gloo on CPUs. A single process (no ``torchrun``) joins nothing, so the same code
runs either way. Who writes files is decided from the environment alone
(:func:`srlib.config.main_process`), so NumPy-only modules can ask too.

Used by :mod:`srlib.train_sr` (the zoo's trainer), by :mod:`srlib.torch.callbacks` (fastai
learners in DistributedDataParallel) and by the notebook runner (``torchrun -m course.notebooks``).
"""
from __future__ import annotations

import os
from datetime import timedelta

import torch

from srlib.config import processes
from srlib.torch import default_device


def start(name: str | None = None, timeout: timedelta | None = None, backend: str | None = None) -> torch.device:
    """Join the process group that ``torchrun`` describes in the environment and return this
    process's device: NCCL and GPU ``LOCAL_RANK`` where there are GPUs, gloo and the CPU
    otherwise. One process (no ``torchrun``, or ``WORLD_SIZE=1``) joins nothing and gets
    :func:`srlib.torch.default_device`; a group already joined is kept.

    ``name``: a fresh group under this name in torchrun's key-value store. The notebook runner
    gives each notebook's kernel (a new process in every rank) its own name, so a second group
    on the same store never reads the keys a first one left. ``timeout``: how long a collective
    may wait (PyTorch's default when None). ``backend="gloo"``: gloo and the CPU even where there
    are GPUs (the notebook runner's own processes only wait for each other; their kernels train).
    """
    import torch.distributed as dist

    if processes() <= 1:
        return default_device()
    device = torch.device("cpu")
    if backend is None and torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"process {local_rank} needs GPU {local_rank}, but {torch.cuda.device_count()} are "
                               "visible: start fewer processes (--nproc_per_node)")
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    if dist.is_initialized():
        return device
    backend = backend or ("nccl" if device.type == "cuda" else "gloo")
    options = {} if timeout is None else {"timeout": timeout}
    if name is None:
        dist.init_process_group(backend, **options)
    else:
        store, rank, world_size = next(dist.rendezvous("env://"))
        dist.init_process_group(backend, store=dist.PrefixStore(name, store), rank=rank, world_size=world_size,
                                **options)
    return device


def process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless ``torch.distributed`` is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier() -> None:
    """Wait for every process of the group (nothing without one)."""
    import torch.distributed as dist

    if process_group()[1] > 1:
        dist.barrier()


def stop() -> None:
    """Leave the process group, after every process has arrived (nothing without one).

    A ``DistributedDataParallel`` wrapper lives in a reference cycle, so it outlives the function
    that made it until Python's cycle collector runs; and it holds the group. Left for the
    interpreter's shutdown, its gloo threads may then need a Python that is being torn down, and
    the process aborts ("terminate called without an active exception") after its work is done.
    So the cycles are collected first, while the interpreter is whole."""
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
