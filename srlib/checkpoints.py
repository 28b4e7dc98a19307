"""Saving and loading trained weights safely: safetensors plus a JSON metadata file.

``save_weights(model, path, metadata)`` writes ``path`` (``.safetensors``: tensors only, nothing
executable) and ``path.with_suffix('.json')`` (architecture, scale, degradation, data,
metrics...). ``load_weights(model, path)`` checks the file, loads it into a model you built
with the same architecture, and returns the metadata. Imports torch.
Taught in ``notebooks/02_unet_pixel_loss.ipynb``.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from srlib.io import atomic_write


def save_weights(model: torch.nn.Module | dict, path, metadata: dict, overwrite: bool = True) -> Path:
    """Write ``model.state_dict()`` (or a state dict itself) to ``path`` (.safetensors) and
    ``metadata`` beside it (.json)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: weights files must end in .safetensors")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists already (pass overwrite=True to replace it)")
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
