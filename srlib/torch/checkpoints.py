"""Saving and loading trained weights safely: safetensors plus a JSON metadata file.

``save_weights(model, path, metadata)`` writes ``path`` (``.safetensors``: tensors only, nothing
executable) and ``path.with_suffix('.json')`` (architecture, scale, degradation, data,
metrics...). ``load_weights(model, path)`` checks the file, loads it into a model you built
with the same architecture, and returns the metadata. Imports torch.
Taught in ``notebooks/02_unet_pixel_loss.ipynb``.

Training state, for runs that resume: ``save_state(path, state, settings)`` writes a dict of
tensors, numbers and strings atomically (``torch.save``; read back with ``weights_only=True``, so
nothing executable either), and ``load_state(path, settings)`` returns it only when it was written
with the same settings. ``random_state()`` / ``set_random_state()`` capture and restore the
Python, NumPy and PyTorch generators. Used by :class:`srlib.torch.callbacks.EpochCheckpoints`
(tutorials 2-4) and :func:`srlib.torch.vae.train` (tutorial 5).
"""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from srlib.config import main_process
from srlib.io import atomic_write, settings_match, settings_text


def save_weights(model: torch.nn.Module | dict, path, metadata: dict, overwrite: bool = True) -> Path:
    """Write ``model.state_dict()`` (or a state dict itself) to ``path`` (.safetensors) and
    ``metadata`` beside it (.json). Under ``torchrun`` only rank 0 writes (every process gets the path)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: weights files must end in .safetensors")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists already (pass overwrite=True to replace it)")
    if not main_process():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
    atomic_write(path, lambda temporary: save_file(state, temporary))
    text = json.dumps(metadata, indent=2, default=str) + "\n"
    atomic_write(path.with_suffix(".json"), lambda temporary: Path(temporary).write_text(text))
    return path


def load_metadata(path) -> dict:
    """The JSON metadata saved beside a weights file."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.exists():
        raise FileNotFoundError(f"{sidecar}: the metadata file of {Path(path).name} is missing")
    try:
        return json.loads(sidecar.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{sidecar}: not valid JSON ({error})") from None


def load_weights(model: torch.nn.Module, path, map_location: str = "cpu") -> dict:
    """Load weights saved by :func:`save_weights` into ``model``; returns their metadata.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for a
    corrupted one or one made for another architecture (missing, unexpected or misshapen tensors).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such weights file")
    try:
        state = load_file(str(path), device=map_location)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable safetensors file ({error})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshapen = sorted(name for name in set(state) & set(expected) if state[name].shape != expected[name].shape)
    if missing or unexpected or misshapen:
        detail = "; ".join(f"{label}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                           for label, names in (("missing", missing), ("unexpected", unexpected),
                                                ("wrong shape", misshapen)) if names)
        raise ValueError(f"{path}: does not fit this architecture ({detail})")
    model.load_state_dict(state)
    return load_metadata(path)


def save_state(path, state: dict, settings: dict) -> Path:
    """Write a training state (tensors, numbers, strings, lists, dicts) to ``path`` atomically,
    with ``settings`` (the run's configuration, JSON-able) beside it for :func:`load_state`. Under
    ``torchrun`` only rank 0 writes."""
    path = Path(path)
    if not main_process():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**_plain_tensors(state), "settings": settings_text(settings)}
    atomic_write(path, lambda temporary: torch.save(payload, temporary))
    return path


def _plain_tensors(value):
    """``value`` with every tensor a plain, detached CPU ``torch.Tensor``: subclasses (fastai's
    ``TensorBase`` in its optimiser's state) would make a ``weights_only`` load refuse the file."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().as_subclass(torch.Tensor)
    if isinstance(value, dict):
        return {key: _plain_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_tensors(item) for item in value)
    return value


def load_state(path, settings: dict, verbose: bool = True) -> dict | None:
    """The state that :func:`save_state` wrote to ``path``, or ``None`` when there is none to resume
    from: no file, or one written with other ``settings`` (then the run starts afresh and, with
    ``verbose``, says so). A file that cannot be read raises ``ValueError`` naming it."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several kinds for a damaged file
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error}); "
                         "delete it to start afresh") from None
    return state if settings_match(path, state.get("settings"), settings, verbose) else None


def digest(path) -> str:
    """A short SHA-256 of a file's bytes: put it in a run's settings when the run starts from that
    file (a fine-tune from weights), so a checkpoint made from other weights is not resumed."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def random_state() -> dict:
    """The state of Python's, NumPy's and PyTorch's global random generators."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {"python": random.getstate(), "numpy": [name, torch.from_numpy(keys.copy()), position, has_gauss, cached],
            "torch": torch.get_rng_state()}


def set_random_state(state: dict) -> None:
    """Restore what :func:`random_state` captured."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy(), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
