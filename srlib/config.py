"""Run-wide conventions: fast or full mode, seeds, project paths.

Every tutorial reads its run length from :func:`fast_mode`, so the same notebook gives a small
CPU run (tests, laptops) and the full run (a GPU, or whoever asks for it) without being edited:

- ``SRLIB_MODE=fast`` or ``SRLIB_MODE=full`` forces one;
- unset (or ``auto``), the mode is *full* when an NVIDIA GPU is visible and *fast* otherwise.

The check looks for the driver's device files instead of importing a framework, so
``import srlib`` stays light (it imports neither TensorFlow nor PyTorch).
"""
from __future__ import annotations

import glob
import os
import platform
import random
import sys
import warnings
from pathlib import Path

import numpy as np

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise in notebooks and logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# fastai 2.8 calls two PyTorch APIs that PyTorch 2.14 deprecates; the warnings are about fastai's
# code, not ours, and would fill every notebook. Only these two messages are silenced.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
warnings.filterwarnings("ignore", message=r"`torch\.nn\.utils\.weight_norm` is deprecated", category=FutureWarning)
# fastai's own GANTrainer sets attributes named like the Learner's (generator, critic, gen_mode).
warnings.filterwarnings("ignore", message=r"You are shadowing an attribute \((generator|critic|gen_mode)\)")

#: The repository root when srlib is used from a clone (``pip install -e .``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 42


def gpu_visible() -> bool:
    """True when an NVIDIA GPU's device file exists (no framework is imported to find out)."""
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def run_mode() -> str:
    """``'fast'`` or ``'full'``, from ``SRLIB_MODE`` (``fast``/``full``/``auto``; default auto)."""
    mode = os.environ.get("SRLIB_MODE", "auto").strip().lower()
    if mode == "auto":
        return "full" if gpu_visible() else "fast"
    if mode not in ("fast", "full"):
        raise ValueError(f"SRLIB_MODE must be 'fast', 'full' or 'auto', not {mode!r}")
    return mode


def fast_mode() -> bool:
    """True for the small CPU run of a tutorial; see the module docstring for the rule."""
    return run_mode() == "fast"


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and, when already imported, PyTorch, TensorFlow and Keras.

    Frameworks are seeded only if the caller imported them: seeding must not import them.
    Returns the seed so a notebook can print it.
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
    if "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)  # also seeds TensorFlow's and the backend's generators
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.random.set_seed(seed)
    return seed


def machine_description() -> str:
    """Where this runs, for results files: the GPU's name when PyTorch (already imported) sees
    one, else the CPU's architecture and thread count."""
    if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        return f"GPU: {sys.modules['torch'].cuda.get_device_name(0)}"
    return f"CPU: {platform.machine()}, {os.cpu_count()} threads"


def figure_path(name: str) -> Path | None:
    """Where to save the README figure ``name``: ``$SRLIB_FIGURES/name``, or None (don't save).

    The main job (``make results``) sets ``SRLIB_FIGURES=img``; tests and readers' runs leave it
    unset, so executing a notebook never rewrites the committed figures.
    """
    folder = os.environ.get("SRLIB_FIGURES")
    return Path(folder) / name if folder else None


def data_dir() -> Path:
    """Where prepared data lives: ``SRLIB_DATA`` if set, else ``<repo>/data``."""
    return Path(os.environ.get("SRLIB_DATA", PROJECT_ROOT / "data"))
