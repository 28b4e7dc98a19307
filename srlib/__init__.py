"""srlib: image super-resolution helpers shared by the tutorials in ``notebooks/``.

``import srlib`` is light: it imports neither TensorFlow nor PyTorch. PyTorch code lives in the
package ``srlib.torch`` (``srlib.torch.losses``, ``srlib.torch.edsr``, ...), Keras code in the
modules named for it (``srlib.keras.losses``, ...).
"""
from srlib import config  # noqa: F401  (sets quiet TensorFlow logging before any framework import)

__version__ = "0.1.0"
