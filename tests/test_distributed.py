"""srlib.train_sr on several processes: two gloo processes on this CPU train exactly like one
process with their batches together, only rank 0 writes, and an interrupted run resumes with
another number of processes; torchrun drives the command line."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from srlib.train_sr import SRTrainConfig, build_model, train
from srlib.torch.distributed import stop as stop_processes
from tests.conftest import synthetic_photo

STEPS = 4


def tiny_config(**overrides) -> SRTrainConfig:
    """A network small enough that a step takes milliseconds: what is tested is the bookkeeping."""
    settings = dict(scale=2, features=8, blocks=1, patch_size=8, batch_size=4, steps=STEPS, learning_rate=1e-3,
                    checkpoint_every=2, precision="fp32", seed=3)
    return SRTrainConfig(**{**settings, **overrides})


def photos() -> dict:
    return {f"photo{index}": synthetic_photo(40 + 8 * index, 48, seed=index) for index in range(3)}


def _rank_main(rank: int, world_size: int, rendezvous: str, output: str, config: SRTrainConfig, stop_after, spy: str):
    """One process of a gloo group: train, count this rank's file writes, save its final weights."""
    import torch.distributed as dist

    import srlib.train_sr as train_sr

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world_size)
    writes = []
    original = train_sr.atomic_write
    train_sr.atomic_write = lambda path, write: (writes.append(str(path)), original(path, write))
    try:
        model, record = train(config, photos(), output, device="cpu", progress=False, stop_after=stop_after)
    finally:
        train_sr.atomic_write = original
    Path(spy, f"rank{rank}.json").write_text(json.dumps({"writes": writes, "step": record["step"],
                                                         "processes": record["processes"]}))
    torch.save(model.state_dict(), Path(spy, f"rank{rank}.pt"))
    stop_processes()  # a barrier, then leave: a rank that left alone once aborted its peer's gloo threads


def test_stop_frees_the_ddp_wrappers_before_leaving_the_group(tmp_path):
    """A DistributedDataParallel wrapper can live in a reference cycle (its hooks' closures hold it,
    in a fresh process at least): without a collection it outlives its function and holds the
    group into the interpreter's shutdown, where gloo's threads can abort the process after its
    work is done (seen in about one run of this suite in seven). stop() collects such cycles first.
    The cycle is made explicit here, so that the test does not depend on which hooks this version
    of PyTorch registers."""
    import gc
    import weakref

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    def train_a_step():
        network = DistributedDataParallel(torch.nn.Linear(3, 3))
        network(torch.rand(2, 3)).sum().backward()
        cycle = {"network": network}
        cycle["itself"] = cycle
        return weakref.ref(network)

    collecting = gc.isenabled()
    gc.disable()  # the collector runs at moments of its own choosing: never, here, unless asked
    try:
        dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
        wrapper = train_a_step()
        assert wrapper() is not None  # alive after its function returned: the cycle
        stop_processes()
        assert wrapper() is None and not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        if collecting:
            gc.enable()


#: Two local processes, as a user would start them.
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def torchrun_environment() -> dict:
    """One thread per process, and the repository on the path (the scripts import ``tests``)."""
    root = str(Path(__file__).resolve().parent.parent)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}


def photo_folder(tmp_path: Path) -> Path:
    """:func:`photos` written as PNG files, for the command line."""
    from srlib.io import save_image

    folder = tmp_path / "photos"
    folder.mkdir()
    for name, image in photos().items():
        save_image(folder / f"{name}.png", image)
    return folder


def run_processes(world_size: int, output: Path, config: SRTrainConfig, spy: Path, stop_after=None) -> list[dict]:
    spy.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        torch.multiprocessing.spawn(_rank_main, args=(world_size, str(Path(folder) / "rendezvous"), str(output), config,
                                                      stop_after, str(spy)), nprocs=world_size, join=True)
    return [json.loads((spy / f"rank{rank}.json").read_text()) for rank in range(world_size)]


def largest_difference(first: dict, second: dict) -> float:
    assert first.keys() == second.keys()
    return max(float((first[name] - second[name]).abs().max()) for name in first)


def test_two_processes_train_like_one_with_both_batches_and_only_rank_0_writes(tmp_path):
    single, _ = train(tiny_config(), photos(), tmp_path / "one", device="cpu", progress=False)
    reports = run_processes(2, tmp_path / "two", tiny_config(), tmp_path / "spy")
    assert [report["step"] for report in reports] == [STEPS, STEPS] and reports[0]["processes"] == 2
    assert reports[0]["writes"] and all(path.endswith("checkpoint.pt") for path in reports[0]["writes"])
    assert reports[1]["writes"] == [], "rank 1 wrote files"
    ranks = [torch.load(tmp_path / "spy" / f"rank{rank}.pt", weights_only=True) for rank in range(2)]
    assert largest_difference(ranks[0], ranks[1]) == 0.0  # DDP keeps the replicas identical
    difference = largest_difference(single.state_dict(), ranks[0])
    print(f"largest weight difference after {STEPS} steps, 1 x 4 crops against 2 x 2: {difference:.2e}")
    assert difference < 1e-5
    written = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert written["record"]["step"] == STEPS and largest_difference(written["model"], ranks[0]) == 0.0
    # without the split, each process would train on its own crops and the replicas would part
    moved = largest_difference(single.state_dict(), build_model(tiny_config()).state_dict())
    assert moved > 100 * max(difference, 1e-9)


def test_a_run_stopped_on_two_processes_resumes_on_one(tmp_path):
    straight, _ = train(tiny_config(), photos(), tmp_path / "straight", device="cpu", progress=False)
    reports = run_processes(2, tmp_path / "run", tiny_config(), tmp_path / "spy", stop_after=2)
    assert [report["step"] for report in reports] == [2, 2]
    resumed, record = train(tiny_config(), photos(), tmp_path / "run", device="cpu", progress=False)
    assert record["step"] == STEPS and record["processes"] == 1
    assert len(record["history"]) == len(train(tiny_config(), photos(), tmp_path / "again", device="cpu",
                                               progress=False)[1]["history"])
    difference = largest_difference(straight.state_dict(), resumed.state_dict())
    print(f"largest weight difference, straight on 1 process against 2 then 1: {difference:.2e}")
    assert difference < 1e-5


def test_the_batch_must_split_evenly_over_the_processes():
    from srlib.train_sr import CropSampler, make_pairs

    sampler = CropSampler(make_pairs(photos(), 2), 2, 8, seed=0)
    with pytest.raises(ValueError, match="does not split evenly over 3 processes"):
        sampler.batch(4, rank=0, world_size=3)
    whole = CropSampler(make_pairs(photos(), 2), 2, 8, seed=0).batch(4)
    halves = [CropSampler(make_pairs(photos(), 2), 2, 8, seed=0).batch(4, rank, 2) for rank in range(2)]
    for part in range(2):
        assert torch.equal(torch.cat([halves[0][part], halves[1][part]]), whole[part])


def test_torchrun_drives_the_command_line(tmp_path):
    folder, environment = photo_folder(tmp_path), torchrun_environment()
    command = [*TORCHRUN, "-m", "srlib.train_sr", "--data", str(folder), "--steps", "3", "--features", "8",
               "--blocks", "1", "--patch-size", "8", "--batch-size", "4", "--precision", "fp32",
               "--output", str(tmp_path / "run")]
    finished = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=240)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert finished.stdout.count("2 processes (gloo), 2 crops each per step") == 1  # rank 0 alone speaks
    assert finished.stdout.count("trained 3 steps") == 1
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["processes"] == 2 and record["step"] == 3 and record["config"]["batch_size"] == 4
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["checkpoint.pt", "record.json", "weights.pt"]


def test_the_unet_learner_trains_on_two_processes_through_fastai(tmp_path):
    """Tutorial 2's learner under torchrun: each process trains half of the epoch's steps, the
    replicas end equal and moved, and the learner is itself again afterwards."""
    environment = torchrun_environment()
    command = [*TORCHRUN, str(Path(__file__).with_name("distributed_unet.py")), str(tmp_path)]
    finished = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert [report["batches"] for report in reports] == [2, 2]  # 4 steps per epoch, shared by 2 processes
    assert {report["wrapped"] for report in reports} == {"DistributedDataParallel"}
    assert {report["after"] for report in reports} == {"ResidualUnet"}
    assert reports[0]["checksum"] == reports[1]["checksum"] and reports[0]["moved"] > 1e-4
    assert reports[0]["progress"] and reports[1]["progress"]  # rank 1's bar is given back after the fit


#: A notebook with a tutorial's shape: data, a fastai learner, the learning-rate finder, a fit
#: kept by EpochCheckpoints, the same fit run again (it resumes from the checkpoint), files saved
#: through srlib. It knows nothing of processes; each kernel reports what it saw to ``report``.
NOTEBOOK = '''
# %% [markdown]
# A tutorial in miniature.

# %%
import json, os
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn

from srlib import config, plotting
from srlib.torch import checkpoints
from srlib.torch.callbacks import EpochCheckpoints
from srlib.torch.data import paired_data
from srlib.torch.models import unet_learner
from tests.conftest import synthetic_photo
from tests.fastai_counting import CountBatches

FOLDER = Path({folder!r})
images = {{f"p{{seed}}": synthetic_photo(96, 96, seed=seed) for seed in range(2)}}
dls, _, _ = paired_data(images, images, "crappify", scale=1, patch_size=32, batch_size=2, steps_per_epoch=4,
                        highres_size=80, seed=3, device="cpu", fresh_damage=True)
config.set_seed(5)
learn = unet_learner(dls, nn.MSELoss())

def weights():
    return [parameter.detach().clone() for parameter in learn.model.parameters()]

# %%
start = weights()
suggestion = learn.lr_find(num_it=20, stop_div=False)
finder_steps = len(learn.recorder.lrs)
restored = max(float((a - b).abs().max()) for a, b in zip(weights(), start))

# %%
counter = CountBatches()
kept = EpochCheckpoints(FOLDER / "checkpoints" / "fit.pt", settings={{"run": 1}})
learn.fit_one_cycle(2, 1e-3, cbs=[counter, kept])
trained = weights()
again = EpochCheckpoints(FOLDER / "checkpoints" / "fit.pt", settings={{"run": 1}})
learn.fit_one_cycle(2, 1e-3, cbs=again)  # every epoch is in the checkpoint: loaded, none trained
resumed = max(float((a - b).abs().max()) for a, b in zip(weights(), trained))

# %%
figure = plt.figure()
plotting.save(figure, FOLDER / "figure.png")
checkpoints.save_weights(learn.model, FOLDER / "weights.safetensors", {{}})
rank = int(os.environ.get("RANK", "0"))
(FOLDER / f"rank{{rank}}.json").write_text(json.dumps({{
    "restored": restored, "finder_steps": finder_steps, "resumed": resumed, "resumed_after": again.resumed_after, "batches": counter.batches,
    "wrapped": counter.wrapped, "after": type(learn.model).__name__,
    "moved": max(float((a - b).abs().max()) for a, b in zip(trained, start)),
    "checksum": float(sum(parameter.double().sum() for parameter in learn.model.parameters())),
    "losses": [float(value) for value in learn.recorder.losses]}}))
print("rank", rank, "done")
'''


def test_a_tutorial_notebook_runs_unchanged_on_two_processes(tmp_path):
    """What ``torchrun -m course.notebooks`` does for tutorials 2 and 3 (``run_all``), on a notebook
    of their shape: each kernel joins a group, its learner trains in DDP without a cell saying so, the
    learning-rate finder restores every replica, the checkpoint has plain names and resumes,
    and only rank 0 writes (the notebook too, without the cells the runner added)."""
    import nbformat

    from course.notebooks import read_source

    notebook = read_source(NOTEBOOK.format(folder=str(tmp_path)))
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "tiny.ipynb")
    environment = torchrun_environment()
    command = [*TORCHRUN, str(Path(__file__).with_name("distributed_notebook.py")), str(tmp_path / "notebooks"),
               str(tmp_path / "executed")]
    finished = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert [report["batches"] for report in reports] == [4, 4]  # 2 epochs of 4 steps, shared by 2 processes
    assert {report["wrapped"] for report in reports} == {"DistributedDataParallel"}
    assert {report["after"] for report in reports} == {"ResidualUnet"}
    assert reports[0]["checksum"] == reports[1]["checksum"] and reports[0]["moved"] > 1e-4
    assert reports[0]["losses"] == reports[1]["losses"]  # the recorder's losses are averaged over the processes
    for report in reports:
        assert report["restored"] == 0.0  # lr_find gave back the weights in both processes
        assert report["finder_steps"] == 20  # and took the steps it was asked for in each
        assert report["resumed_after"] == 2 and report["resumed"] == 0.0
    state = torch.load(tmp_path / "checkpoints" / "fit.pt", map_location="cpu", weights_only=True)
    assert not any(name.startswith("module.") for name in state["model"])
    assert finished.stdout.count("tiny.ipynb: running in 2 processes") == 1  # rank 0 alone speaks
    executed = nbformat.read(tmp_path / "executed" / "tiny.ipynb", as_version=4)
    assert [cell.source for cell in executed.cells] == [cell.source for cell in notebook.cells]
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert "rank 0 done" in "".join(output.get("text", "") for output in code[-1].outputs)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["checkpoints", "executed", "figure.png", "notebooks", "rank0.json", "rank1.json", "weights.json",
         "weights.safetensors"] + [path.name for path in tmp_path.iterdir() if path.name == "models"])
    assert sorted(path.name for path in (tmp_path / "executed").iterdir()) == [".mode", "tiny.ipynb"]


@pytest.mark.parametrize("rank", [0, 1])
def test_only_rank_0_saves_through_srlib(tmp_path, monkeypatch, rank):
    """Every srlib function that writes a file asks srlib.config.main_process first: under
    torchrun (RANK, WORLD_SIZE in the environment) rank 1 writes nothing and rank 0 everything."""
    import matplotlib.pyplot as plt

    from course import results, summary
    from srlib import plotting
    from srlib.io import clear_states
    from srlib.torch import checkpoints

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("SRLIB_RESULTS", str(tmp_path / "summary"))
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path / "results")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "stage.pt").write_bytes(b"a finished run's checkpoint")
    model = torch.nn.Linear(2, 2)
    returned = [results.save("tiny", {"rows": []}, mode="fast"),
                plotting.save(plt.figure(), tmp_path / "figure.png"),
                checkpoints.save_weights(model, tmp_path / "weights.safetensors", {}),
                checkpoints.save_state(tmp_path / "state.pt", {"model": model.state_dict()}, {})]
    photo = synthetic_photo(32, 32, seed=1)
    summary.record("tiny", "task", {"a": photo}, {"m": {"a": photo}}, {}, crop_border=0)
    clear_states(tmp_path / "old")
    plt.close("all")
    written = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    if rank == 0:
        assert written == ["figure.png", "results/fast/tiny.json", "state.pt", "summary/tiny.json",
                           "weights.json", "weights.safetensors"]
    else:
        assert written == ["old/stage.pt"]
    assert returned[0] == tmp_path / "results" / "fast" / "tiny.json"  # every process is told where it is


def test_the_notebook_runner_under_torchrun_runs_only_named_distributed_notebooks(monkeypatch, capsys):
    from course import notebooks

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    for names in ([], ["02_unet_pixel_loss", "07_measuring_sr"]):
        with pytest.raises(SystemExit):
            notebooks.main(names)
        message = capsys.readouterr().err
        assert "under torchrun, name the notebooks" in message and "03_unet_perceptual_loss" in message
    assert "not 07_measuring_sr" in message


def test_a_missing_input_notebook_is_not_run_from_inside_a_distributed_one(tmp_path, monkeypatch):
    from course import notebooks

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(FileNotFoundError, match="under torchrun, run 02_unet_pixel_loss first"):
        notebooks.ensure("02_unet_pixel_loss", tmp_path / "unet_pixel_full.safetensors", "full")


def _command_line(process: Path) -> str:
    try:
        return (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone meanwhile, or not ours to read
        return ""


def test_a_torchrun_run_killed_by_sigkill_resumes_to_the_weights_of_a_straight_run(tmp_path):
    """The whole launch (torchrun and both processes) is killed with SIGKILL, as a crash or the
    out-of-memory killer would, once the first checkpoint is on disk; the same command run again
    resumes from it and ends with exactly the weights of an uninterrupted launch."""
    import signal
    import time

    folder, environment = photo_folder(tmp_path), torchrun_environment()

    def command(output):  # 600 steps: a checkpoint every 100
        return [*TORCHRUN, "-m", "srlib.train_sr", "--data", str(folder), "--steps", "600", "--features", "16",
                "--blocks", "2", "--patch-size", "8", "--batch-size", "4", "--precision", "fp32", "--output", str(output)]

    killed = subprocess.Popen(command(tmp_path / "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=environment, start_new_session=True)
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.monotonic() + 180
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    # torchrun starts each process in a session of its own: kill them all, launcher first
    launch = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
              and str(tmp_path / "killed") in _command_line(entry)]
    os.killpg(killed.pid, signal.SIGKILL)
    for pid in launch:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    killed.wait()
    assert checkpoint.exists() and not (tmp_path / "killed" / "weights.pt").exists(), "killed too late to test"
    stopped_at = torch.load(checkpoint, weights_only=True)["record"]["step"]
    assert 0 < stopped_at < 600
    resumed = subprocess.run(command(tmp_path / "killed"), capture_output=True, text=True, env=environment, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming after step {stopped_at} " in resumed.stdout, resumed.stdout
    straight = subprocess.run(command(tmp_path / "straight"), capture_output=True, text=True, env=environment,
                              timeout=300)
    assert straight.returncode == 0, straight.stderr[-3000:]
    final = [torch.load(tmp_path / run / "weights.pt", weights_only=True) for run in ("killed", "straight")]
    assert final[0].keys() == final[1].keys()
    assert all(torch.equal(final[0][name], final[1][name]) for name in final[0])
