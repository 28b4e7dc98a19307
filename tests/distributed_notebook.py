"""Run by tests/test_distributed.py under torchrun: srlib.notebooks.run_all on the notebooks of
the folder argv[1], into argv[2], as ``torchrun -m srlib.notebooks NAMES`` does for the tutorials."""
import sys
from pathlib import Path

from srlib.notebooks import run_all

run_all(Path(sys.argv[2]), None, folder=Path(sys.argv[1]))
