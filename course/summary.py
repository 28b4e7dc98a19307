"""The main job's table of every method (``results/summary.md``):
``python -m course.summary results/summary --output results/summary``. The code is
:mod:`srlib.summary` while the tutorials move over to :func:`course.finish`; it then moves here."""
import sys

from srlib.summary import *  # noqa: F401,F403
from srlib.summary import main

if __name__ == "__main__":
    sys.exit(main())
