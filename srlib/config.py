"""Run-wide conventions: run modes, seeds, project paths.

Every tutorial reads its budget from :func:`run_mode`, so the same notebook gives the small run
a reader makes on a CPU, a smaller one for the tests, and the full run (a GPU, or whoever asks
for it), without being edited:

- ``SRLIB_MODE=test``: the test suite's budget (tens of steps, small crops): every cell runs,
  nothing is learned worth showing;
- ``SRLIB_MODE=fast``: the reader's run on a laptop CPU (minutes), what ``make results`` runs;
- ``SRLIB_MODE=full``: the published run;
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


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, which containers restrict)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# One pool of compute threads sized to the cores, per framework, and no second pool running
# operations side by side: PyTorch reads OMP_NUM_THREADS when it starts, TensorFlow reads
# TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS when its runtime starts, so these must be set
# before either is imported (``import srlib`` does it). With both frameworks in one process
# (tutorial 1, the loss parity tests) each then uses the cores in turn instead of twice over.
# A value the user set in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", str(available_cores()))
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(available_cores()))
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
# fastai 2.8 calls two PyTorch APIs that PyTorch 2.14 deprecates; the warnings are about fastai's
# code, not ours, and would fill every notebook. Only these two messages are silenced.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
warnings.filterwarnings("ignore", message=r"`torch\.nn\.utils\.weight_norm` is deprecated", category=FutureWarning)
# fastai's own GANTrainer sets attributes named like the Learner's (generator, critic, gen_mode).
warnings.filterwarnings("ignore", message=r"You are shadowing an attribute \((generator|critic|gen_mode)\)")

DEFAULT_SEED = 42
#: The source checkout srlib runs from (``pip install -e .``: a ``setup.py`` beside the
#: package), or None when srlib is installed. Messages print paths inside it relative to it.
CHECKOUT = (Path(__file__).resolve().parent.parent
            if (Path(__file__).resolve().parent.parent / "setup.py").exists() else None)


def gpu_visible() -> bool:
    """True when an NVIDIA GPU's device file exists (no framework is imported to find out)."""
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def processes() -> int:
    """How many processes ``torchrun`` started for this program (``WORLD_SIZE``; 1 without it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def main_process() -> bool:
    """Whether this process writes files: True, except in the processes other than rank 0 that
    ``torchrun`` started (``RANK`` and ``WORLD_SIZE`` in the environment, which kernels and other
    child processes inherit). Everything in srlib that saves (results files, figures, weights,
    checkpoints) asks this first, so N processes running one program write its files once.
    """
    return processes() <= 1 or int(os.environ.get("RANK", "0")) == 0


#: The run modes, smallest budget first (see the module docstring).
MODES = ("test", "fast", "full")


def run_mode() -> str:
    """``'test'``, ``'fast'`` or ``'full'``, from ``SRLIB_MODE`` (one of those or ``auto``; default auto)."""
    mode = os.environ.get("SRLIB_MODE", "auto").strip().lower()
    if mode == "auto":
        return "full" if gpu_visible() else "fast"
    if mode not in MODES:
        raise ValueError(f"SRLIB_MODE must be 'test', 'fast', 'full' or 'auto', not {mode!r}")
    return mode


def fast_mode() -> bool:
    """True for a tutorial's short runs (fast or test mode); see the module docstring."""
    return run_mode() != "full"


#: The precisions every model-running function of srlib accepts (see srlib.torch.precision).
PRECISIONS = ("auto", "fp32", "bf16")


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ``ValueError`` that lists them."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return precision


def precision_setting() -> str:
    """What ``"auto"`` precision means in this run: ``SRLIB_PRECISION`` (``auto``, ``fp32`` or
    ``bf16``; default ``auto``, bfloat16 where the hardware computes it natively). Set
    ``SRLIB_PRECISION=fp32`` to run every tutorial and command in plain float32."""
    value = os.environ.get("SRLIB_PRECISION", "auto").strip().lower()
    if value not in PRECISIONS:
        raise ValueError(f"SRLIB_PRECISION must be 'auto', 'fp32' or 'bf16', not {value!r}")
    return value


def cpu_flags() -> set[str]:
    """The instruction-set flags of this CPU from ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bfloat16_flags() -> set[str]:
    """The x86 flags of this CPU that mean native bfloat16 arithmetic (AVX-512-BF16, AMX-BF16)."""
    return cpu_flags() & {"avx512_bf16", "amx_bf16"}


#: What :func:`available_memory` answers where neither psutil nor /proc/meminfo does (a guess).
UNKNOWN_MEMORY = 4 * 2**30


def available_memory() -> int:
    """Bytes of memory new work can take without swapping: psutil's ``virtual_memory().available``
    when psutil is installed, else ``MemAvailable`` from ``/proc/meminfo``, else 4 GiB (a guess)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return UNKNOWN_MEMORY


def configure_threads(threads: int | None = None) -> dict:
    """Size the compute thread pools of the frameworks already imported to ``threads`` (default:
    the available cores), with one inter-op thread; returns what each framework now uses.

    Without arguments it applies the numbers ``import srlib`` put in the environment, so it mostly
    reports; a pool that already started cannot change size and is reported as it is.
    """
    threads = threads or int(os.environ.get("OMP_NUM_THREADS") or available_cores())
    report = {"cores": available_cores()}
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already started; PyTorch's inter-op pool only runs torch.jit forks
            pass
        report["torch"] = {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # the runtime already started with the environment's numbers
            pass
        report["tensorflow"] = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return report


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
    native = "with" if native_bfloat16_flags() else "without"
    return f"CPU: {platform.machine()}, {os.cpu_count()} threads, {native} native bfloat16"


def shown_path(path) -> Path:
    """``path`` relative to the source checkout (:data:`CHECKOUT`) when it lies inside it, else as
    given: what messages and notebook outputs print (no machine's absolute paths in them)."""
    path = Path(path)
    inside = CHECKOUT is not None and path.is_absolute() and path.is_relative_to(CHECKOUT)
    return path.relative_to(CHECKOUT) if inside else path


def data_dir() -> Path:
    """Where prepared data lives (``srlib data`` writes it): ``SRLIB_DATA`` if set, else ``data/``
    of the source checkout srlib runs from, else ``~/.cache/srlib/data``."""
    default = CHECKOUT / "data" if CHECKOUT is not None else Path.home() / ".cache" / "srlib" / "data"
    return Path(os.environ.get("SRLIB_DATA", default))
