"""The notebook runner: ``python -m course.notebooks [NAMES] [--mode test|fast|full] [--publish]``.

Runs the tutorials in order (the main job, ``make results``), resumes an interrupted run, and
publishes executed full runs into ``notebooks/``. The code is :mod:`srlib.notebooks` while the
tutorials move over to :func:`course.finish`; it then moves here.
"""
import sys

from srlib.notebooks import *  # noqa: F401,F403
from srlib.notebooks import main

if __name__ == "__main__":
    sys.exit(main())
