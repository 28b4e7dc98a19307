# The README's two commands:  `make results` (the main job) and `make test`.
# Both build the pinned environment first when it is missing (scripts/ensure_env.sh).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONHASHSEED ?= 0

.PHONY: env data results test benchmark notebooks clean

env:
	@bash scripts/ensure_env.sh >/dev/null

data: env
	.venv/bin/srlib data

# The main job: sample data, the bicubic baseline table, then every tutorial in order (fast mode
# on a CPU, full on a GPU or with `SRLIB_MODE=full make results`) into results/notebooks/<mode>/,
# figures into img/, and the results table of every method into results/summary.{md,json}.
# Interrupted, it resumes: notebooks already run (in this mode) since the last change are skipped.
results: data
	.venv/bin/srlib baseline --scales 2 3 4 --output results/bicubic
	.venv/bin/python -m course.notebooks --figures img --results results/summary
	.venv/bin/python -m course.summary results/summary --output results/summary --figures img

# Unit tests of srlib and the course, then every notebook executed by nbval with the test budget
# (SRLIB_MODE=test: every cell runs, for a few steps; the reader's fast mode is make results').
test: env
	SRLIB_MODE=test .venv/bin/python -m pytest tests --nbval-lax --nbval-current-env notebooks/*.ipynb

# Speed and parity measurements; each writes its results under results/benchmarks/.
benchmark: env
	.venv/bin/python benchmarks/losses.py --output results/benchmarks/losses
	.venv/bin/python benchmarks/zoo.py --output results/benchmarks/zoo
	.venv/bin/python benchmarks/speed.py --output results/benchmarks/speed
	.venv/bin/python benchmarks/distributed.py --output results/benchmarks/distributed
	.venv/bin/python benchmarks/pool.py --output results/benchmarks/pool
	.venv/bin/python benchmarks/notebooks.py --modes test fast --output results/benchmarks/notebooks

clean:
	rm -rf .venv results

# Regenerate notebooks/*.ipynb from notebooks/src/*.py and execute them in fast mode (outputs kept).
notebooks: env
	.venv/bin/python scripts/build_notebooks.py --execute
