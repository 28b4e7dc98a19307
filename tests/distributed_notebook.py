"""Run by tests/test_distributed.py under torchrun: course.notebooks.run_all on the notebooks of
the folder argv[1], into argv[2], as ``torchrun -m course.notebooks NAMES`` does for the tutorials."""
import sys
from pathlib import Path

from course.notebooks import run_all

run_all(Path(sys.argv[2]), None, folder=Path(sys.argv[1]))
