#!/usr/bin/env bash
# Train the model zoo's real-x4: edsr-x4's weights fine-tuned with L1 (RealESRNet's recipe at our
# scale) on the damage ladder's mix, made afresh for every crop (srlib.degrade.ladder_mix): clean
# 20%, mild 30%, moderate 30%, heavy 20% (Real-ESRGAN's second order), every rung below heavy
# reduced by a program drawn per crop (MATLAB/Pillow bicubic, OpenCV linear/cubic/area/nearest).
# The model trained on the second order alone, and then on half second order, half first order,
# lost to bicubic on most mildly damaged photos. The whole training pool: the sample photos' train
# split, the Debian wallpapers and photos (never the held-out opencv-doc or mate-backgrounds).
#
# Interrupt it at will: the same command resumes from the last checkpoint (keep OUT outside the
# work tree, under ~/.cache, to continue in a later session on the same machine). Then
#     python scripts/build_zoo.py --real-x4 "$OUT"
# scores it on the validation photos, chooses its default strength from the ladder and writes
# srlib/zoo/real-x4.*; benchmarks/zoo.py --sections ladder strength compares it with bicubic and edsr-x4.
set -euo pipefail
OUT=${OUT:-$HOME/.cache/srlib/train/real_x4_ladder}
export PYTHONPATH=${PYTHONPATH:-.}
"${PYTHON:-python}" -m srlib.train_sr --scale 4 --init edsr-x4 --degradation ladder-mix --steps "${STEPS:-4000}" \
  --batch-size 16 --patch-size 32 --learning-rate 1e-4 --data samples data/wallpapers data/photos --seed 0 \
  --output "$OUT" "$@"
