"""Run by tests/test_distributed.py under torchrun: tutorial 2's U-Net learner trains one epoch
in each process through srlib.torch.callbacks.distributed, and each process reports."""
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from srlib import config
from srlib.torch.callbacks import distributed
from srlib.torch.distributed import stop
from srlib.torch.data import paired_data
from srlib.torch.models import unet_learner
from tests.conftest import synthetic_photo
from tests.fastai_counting import CountBatches

torch.set_num_threads(1)
dist.init_process_group("gloo")
images = {f"p{seed}": synthetic_photo(96, 96, seed=seed) for seed in range(2)}
dls, _, _ = paired_data(images, images, "crappify", scale=1, patch_size=32, batch_size=2, steps_per_epoch=4,
                        highres_size=80, seed=3, device="cpu", fresh_damage=True)
config.set_seed(5)
learn = unet_learner(dls, nn.MSELoss())
before = [parameter.detach().clone() for parameter in learn.model.parameters()]

counter = CountBatches()
learn.add_cb(counter)
with distributed(learn):
    learn.fit(1, 1e-3)
moved = max(float((parameter - old).abs().max()) for parameter, old in zip(learn.model.parameters(), before))
Path(sys.argv[1], f"rank{dist.get_rank()}.json").write_text(json.dumps({
    "batches": counter.batches, "wrapped": counter.wrapped, "after": type(learn.model).__name__, "moved": moved,
    "checksum": float(sum(parameter.double().sum() for parameter in learn.model.parameters())),
    "progress": hasattr(learn, "progress")}))
stop()
