"""The repository's folders, and where the main job puts the README's figures."""
from __future__ import annotations

import os
from pathlib import Path

from srlib.config import MODES, run_mode

#: The repository root (the folder holding ``course/``, ``srlib/`` and ``notebooks/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where the tutorials save the weights they train (``<name>_<mode>.safetensors``; ignored by git).
MODELS_DIR = PROJECT_ROOT / "models"


def figure_path(name: str) -> Path | None:
    """Where to save the README figure ``name``: ``$SRLIB_FIGURES/name``, or None (don't save).

    The main job (``make results``) sets ``SRLIB_FIGURES=img``; tests and readers' runs leave it
    unset, so executing a notebook never rewrites the committed figures. A name that does not say
    which run made it (no run mode among the words of its stem) gets the run mode
    appended, ``unet_pixel_crops.png`` -> ``unet_pixel_crops_fast.png``: the fast main job never
    replaces a full run's figure (a name that says ``full``, drawn from the full run's results file,
    is the same in either mode).
    """
    folder = os.environ.get("SRLIB_FIGURES")
    if not folder:
        return None
    path = Path(name)
    if not set(MODES) & set(path.stem.split("_")):
        path = path.with_name(f"{path.stem}_{run_mode()}{path.suffix}")
    return Path(folder) / path
