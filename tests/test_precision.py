"""srlib.torch.precision, srlib.torch.callbacks and the thread set-up: bfloat16 where it is native."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from srlib.torch import precision
from srlib.torch.edsr import EDSR
from srlib.torch.inference import upscale_array
from tests.conftest import synthetic_photo

NATIVE, HOW = precision.bfloat16_support("cpu")


def test_support_is_reported_with_its_reason():
    assert isinstance(NATIVE, bool)
    assert "avx512_bf16" in HOW or "amx" in HOW
    assert precision.resolve("auto", "cpu") == ("bf16" if NATIVE else "fp32")
    assert precision.resolve("fp32", "cpu") == "fp32"
    assert precision.resolve("bf16", "cpu") == "bf16"  # asked for, given, even if emulated


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        precision.resolve("fp16")


def _tiny_edsr():
    torch.manual_seed(0)
    return EDSR(scale=2, features=8, blocks=2).eval()


def test_end_convolutions_are_head_and_tail():
    model = _tiny_edsr()
    assert precision.end_convolutions(model) == [model.head, model.tail]
    assert precision.end_convolutions(nn.Sequential(nn.ReLU())) == []


def test_keep_float32_inside_autocast():
    model = _tiny_edsr()
    dtypes = {}

    def record(name):
        def hook(module, inputs, output):
            dtypes.setdefault(name, output.dtype)  # returns None: the output is left as it is
        return hook

    for name in ("head", "tail"):
        getattr(model, name).register_forward_hook(record(name))
    model.body[0].register_forward_hook(record("body"))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16), \
            precision.keep_float32([model.head, model.tail], "cpu", recast=[model.head]):
        output = model(torch.rand(1, 3, 12, 12))
    # The recast head hands bfloat16 on (its own hook above ran before the recast), the body runs
    # in bfloat16, the tail and so the image come out in float32.
    assert dtypes == {"head": torch.float32, "body": torch.bfloat16, "tail": torch.float32}
    assert output.dtype == torch.float32


def test_inference_context_restores_the_model():
    model = _tiny_edsr()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with precision.inference(model, "bf16", "cpu") as resolved:
        assert resolved == "bf16"
        assert model.head.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(module._forward_hooks == {} and module._forward_pre_hooks == {} for module in model.modules())
    assert model.head.weight.is_contiguous()
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
    with precision.inference(model, "fp32", "cpu") as resolved:
        assert resolved == "fp32"


def test_bf16_upscaling_is_close_to_fp32():
    model = _tiny_edsr()
    image = synthetic_photo(20, 28, seed=2)
    reference = upscale_array(model, image, 2, precision="fp32")
    fast = upscale_array(model, image, 2, precision="bf16")
    assert fast.shape == reference.shape == (40, 56, 3) and fast.dtype == np.float32
    difference = np.abs(fast - reference)
    assert 0 < difference.max() < 0.02  # bfloat16 did run, and stayed close
    assert difference.mean() < 2e-3


def test_training_step_in_bf16_learns_like_fp32():
    losses = {}
    for name in ("fp32", "bf16"):
        model = _tiny_edsr().train()
        resolved = precision.prepare_training(model, name, "cpu")
        assert resolved == name
        optimizer = torch.optim.Adam(model.parameters(), 1e-2)
        generator = torch.Generator().manual_seed(1)
        highres = torch.rand(4, 3, 16, 16, generator=generator)
        lowres = nn.functional.avg_pool2d(highres, 2).contiguous(memory_format=precision.memory_format(resolved))
        history = []
        for _ in range(20):
            with precision.autocast(resolved, "cpu"):
                loss = nn.functional.l1_loss(model(lowres).float(), highres)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
        losses[name] = history
    assert losses["bf16"][-1] < 0.7 * losses["bf16"][0]
    assert abs(losses["bf16"][-1] - losses["fp32"][-1]) < 0.02


def test_fastai_callback_runs_in_bf16_and_cleans_up():
    import fastai.callback.progress  # noqa: F401  (Learner.no_bar)
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner

    from srlib.torch.callbacks import BFloat16Training

    generator = torch.Generator().manual_seed(0)
    items = [(torch.rand(3, 16, 16, generator=generator), torch.rand(3, 16, 16, generator=generator)) for _ in range(8)]
    dls = DataLoaders.from_dsets(items, items[:4], bs=4, device="cpu")
    seen = {}

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, images):
            seen.setdefault("layout", images.is_contiguous(memory_format=torch.channels_last))
            output = self.conv(images)
            seen.setdefault("dtype", output.dtype)
            return output

    torch.manual_seed(0)
    learn = Learner(dls, Probe(), loss_func=nn.MSELoss(), cbs=BFloat16Training("bf16"))
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    assert learn.precision == "bf16"
    assert seen == {"layout": True, "dtype": torch.bfloat16}
    assert learn.model.conv.weight.dtype == torch.float32 and learn.model.conv.weight.is_contiguous()
    assert not torch.is_autocast_enabled("cpu")
    assert np.isfinite(learn.recorder.values[-1]).all()

    seen.clear()
    learn = Learner(dls, Probe(), loss_func=nn.MSELoss(), cbs=BFloat16Training("fp32"))
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)
    assert learn.precision == "fp32" and seen["dtype"] == torch.float32


def test_import_srlib_sizes_thread_pools_to_the_cores():
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    script = ("import os, srlib, torch; from srlib.config import available_cores, configure_threads; "
              "report = configure_threads(); "
              "print(os.environ['OMP_NUM_THREADS'], os.environ['TF_NUM_INTRAOP_THREADS'], "
              "os.environ['TF_NUM_INTEROP_THREADS'], available_cores(), report['torch']['intra_op'])")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=True).stdout.split()
    omp, tf_intra, tf_inter, cores, torch_threads = (int(value) for value in output)
    assert omp == tf_intra == torch_threads == cores and tf_inter == 1
    # A user's own setting wins.
    environment["OMP_NUM_THREADS"] = "1"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=True).stdout.split()
    assert output[0] == "1" and output[4] == "1"


def test_environment_overrides_auto(monkeypatch):
    from srlib.keras.training import dtype_policy

    monkeypatch.setenv("SRLIB_PRECISION", "fp32")
    assert precision.resolve("auto", "cpu") == "fp32" and dtype_policy("auto") == "float32"
    assert precision.resolve("bf16", "cpu") == "bf16"  # an explicit choice wins over the environment
    monkeypatch.setenv("SRLIB_PRECISION", "bf16")
    assert precision.resolve("auto", "cpu") == "bf16" and dtype_policy("auto") == "mixed_bfloat16"
    monkeypatch.setenv("SRLIB_PRECISION", "half")
    with pytest.raises(ValueError, match="SRLIB_PRECISION must be 'auto', 'fp32' or 'bf16', not 'half'"):
        precision.resolve("auto", "cpu")
    monkeypatch.delenv("SRLIB_PRECISION")
    assert dtype_policy("auto") == ("mixed_bfloat16" if NATIVE else "float32")
