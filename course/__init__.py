"""The course: what runs the tutorials of this repository, apart from the library they teach.

``srlib`` is the library a user imports in their own project; ``course`` is this repository's
workshop around it, never imported by ``srlib``: the notebook runner, the results files of the
tutorials' runs, the main job's summary table, and the repository's folders. A tutorial uses it
for where its files go (:data:`MODELS_DIR`, :func:`figure_path`), to run a tutorial it builds on
(:func:`ensure`), and in one closing cell, :func:`finish`, for its bookkeeping.

Importable wherever the repository's environment is used (``scripts/ensure_env.sh`` puts the
repository root on that environment's path); not part of the installed ``srlib``.
"""
from __future__ import annotations

import os

from course.paths import MODELS_DIR, PROJECT_ROOT, figure_path  # noqa: F401
from course.notebooks import ensure  # noqa: E402,F401

# The tutorials read their photos from the repository's data/ folder (``make data`` fills it).
os.environ.setdefault("SRLIB_DATA", str(PROJECT_ROOT / "data"))

from course.closing import Summary, ZooModel, finish  # noqa: E402,F401
