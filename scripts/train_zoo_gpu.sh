#!/usr/bin/env bash
# Train the model zoo's classic x2 and x4 EDSR-baseline networks on a GPU machine (the lent
# device), SECONDS_PER_MODEL seconds each; weights and records go to $OUT (default results/zoo_gpu).
# Then, on any machine: `python -m srlib.zoo export ...` turns them into the shipped safetensors.
set -euo pipefail
OUT=${OUT:-results/zoo_gpu}
SECONDS_PER_MODEL=${SECONDS_PER_MODEL:-240}
export PYTHONPATH=${PYTHONPATH:-.}
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
for scale in 2 4; do
  python -m srlib.train_sr --scale "$scale" --seconds "$SECONDS_PER_MODEL" --batch-size 32 \
    --output "/tmp/edsr_x$scale" --evaluate 2>&1 | tail -n 12
  cp "/tmp/edsr_x$scale/weights.pt" "$OUT/edsr_x${scale}_weights.pt"
  cp "/tmp/edsr_x$scale/record.json" "$OUT/edsr_x${scale}_record.json"
done
