#!/usr/bin/env bash
# Train the model zoo's real-x4 (RealESRNet's recipe at our scale): edsr-x4's weights fine-tuned
# with L1 on Real-ESRGAN's degradation, made afresh for every crop: half the time its second order,
# else its first order alone (srlib.degrade.mixed_order; the second order alone made a model that
# lost to bicubic on mildly damaged photos), on the whole training pool (the sample photos' train
# split and the Debian wallpapers; never the held-out opencv-doc or mate-backgrounds photos).
#
# How the shipped one was made: on the 2-core CPU, float32, about 70 min for 3,200 steps of 16
# crops (32 low-resolution pixels; the degradation itself is a fifth of each step). Interrupt it
# at will: the same command resumes from the last checkpoint. Then
#     python scripts/build_zoo.py --real-x4 models/train/real_x4
# scores it on the validation photos and writes srlib/zoo/real-x4.*; benchmarks/zoo.py compares it
# with bicubic and edsr-x4 on camera-like inputs.
set -euo pipefail
OUT=${OUT:-models/train/real_x4}
export PYTHONPATH=${PYTHONPATH:-.}
"${PYTHON:-python}" -m srlib.train_sr --scale 4 --init edsr-x4 --degradation mixed-order --steps 3200 \
  --batch-size 16 --patch-size 32 --learning-rate 1e-4 --data samples data/wallpapers --seed 0 \
  --output "$OUT" "$@"
