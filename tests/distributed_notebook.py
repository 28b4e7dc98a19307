"""Run by tests/test_distributed.py under torchrun: srlib.notebooks.execute on one notebook
(argv[1]) into argv[2], as the notebook runner does for each tutorial in each process."""
import sys
from pathlib import Path

from srlib.notebooks import execute

execute(Path(sys.argv[1]), Path(sys.argv[2]))
