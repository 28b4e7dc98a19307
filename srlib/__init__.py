"""srlib: image super-resolution helpers shared by the tutorials in ``notebooks/``.

``import srlib`` is light: it imports neither TensorFlow nor PyTorch. Framework code lives in
modules named for their framework (``srlib.losses_keras``, ``srlib.losses_torch``, ...).
"""
from srlib import config  # noqa: F401  (sets quiet TensorFlow logging before any framework import)

__version__ = "0.1.0"
