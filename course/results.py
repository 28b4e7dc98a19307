"""The tutorials' results files (``results/<mode>/<notebook>.json``) and the tables that
``docs/results.md`` quotes from them: ``python -m course.results docs/results.md`` rewrites them.
The code is :mod:`srlib.results` while the tutorials move over to :func:`course.finish`; it then
moves here."""
import sys

from srlib.results import *  # noqa: F401,F403
from srlib.results import main

if __name__ == "__main__":
    sys.exit(main())
