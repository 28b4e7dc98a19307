#!/usr/bin/env bash
# Train the model zoo's classic x2 and x4 EDSR-baseline networks on a GPU machine (how the shipped
# ones were made, on a lent NVIDIA H200). Weights and records go to $OUT (default results/zoo_gpu);
# then `python scripts/build_zoo.py --edsr-x2 $OUT/edsr_x2 --edsr-x4 $OUT/edsr_x4` scores them
# and writes srlib/zoo/. Needs data/samples and data/wallpapers: `srlib data` writes both (the
# wallpapers from Debian's plasma-workspace-wallpapers, fetched with apt-get download if needed).
#
# x2: the 9 sample training photos, steps to fill 245 s (14,571 on the H200, batch 32).
# x4: started from x2's weights (as EDSR does), with the 11 wallpaper photos added, because on the
#     sample photos alone it overfitted; steps to fill 180 s (10,026 on the H200).
# The shipped edsr-x2 was then trained on for 3,600 steps on the whole pool on the 2-core CPU (79 min,
# float32, 2026-12-01): +3.26 dB became +3.47 on the validation photos. On a GPU, give both runs the
# whole pool (--data samples data/wallpapers) from the start:
#     python -m srlib.train_sr --scale 2 --init edsr-x2 --data samples data/wallpapers --steps 3600 \
#       --batch-size 16 --learning-rate 1e-4 --output models/train/edsr_x2_pool
set -euo pipefail
OUT=${OUT:-results/zoo_gpu}
export PYTHONPATH=${PYTHONPATH:-.}
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
python -m srlib.train_sr --scale 2 --seconds 245 --batch-size 32 --output "$OUT/edsr_x2" --evaluate
python -m srlib.train_sr --scale 4 --seconds 180 --batch-size 32 --data samples data/wallpapers \
  --init "$OUT/edsr_x2/weights.pt" --output "$OUT/edsr_x4" --evaluate
