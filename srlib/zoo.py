"""The model zoo: trained weights shipped with srlib, loaded safely, applied to any image (imports torch).

Each model is two files in ``srlib/zoo/``: ``<name>.safetensors`` (tensors only, float16 to keep
the repository light; nothing executable) and ``<name>.json`` (architecture, scale, how its
inputs were degraded, training data, time and machine, validation metrics). :func:`load_model`
rebuilds the architecture from the metadata, checks the file against it and loads it in float32.

| name | what it does |
|---|---|
| ``edsr-x2``, ``edsr-x4`` | classic super-resolution of clean photos (bicubic degradation), EDSR-baseline |
| ``real-x4`` | x4 for camera photos: ``edsr-x4`` fine-tuned on the damage ladder's mix (RealESRNet's recipe, clean and mild photos kept in) |
| ``unet-pixel`` | x2 enlargement that also removes JPEG damage (tutorial 2's U-Net, crappify data) |
| ``unet-perceptual`` | the same, fine-tuned with the VGG-16 feature loss (tutorial 3) |
| ``gan`` | the same, fine-tuned against a critic (tutorial 4) |
| ``autoencoder-x2`` | x2 enlargement of clean photos by tutorial 1's auto-encoder (full run, L1 loss) |
| ``vae-x4`` | x4 enlargement of clean photos by tutorial 5's conditional VAE at its zero latent (full run) |
| ``diffusion-x4`` | x4 enlargement of clean photos by tutorial 8's residual-shifting diffusion model (full run); ``steps`` and ``seed`` choose the sample |

    from srlib import zoo
    model, metadata = zoo.load_model("edsr-x4")
    highres = zoo.upscale(model, metadata, lowres)        # HWC [0, 1] in, 4x larger out

Same functions as ``srlib models``, ``srlib upscale`` and ``srlib evaluate``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from srlib.degrade import LADDER
from srlib.registry import ARCHITECTURES as ARCHITECTURE_REGISTRY, DEGRADATIONS
from srlib.torch.checkpoints import load_metadata, load_weights, save_weights

ZOO_DIR = Path(__file__).resolve().parent / "zoo"
REQUIRED_KEYS = ("name", "architecture", "scale", "input", "degradation", "data", "training", "validation")
#: The architectures a zoo file may name (:data:`srlib.registry.ARCHITECTURES`).
ARCHITECTURES = ARCHITECTURE_REGISTRY.names()
#: The training degradations of the models for photos from a camera (Real-ESRGAN's kinds, and the
#: damage ladder's training mix): the ``camera`` ones of :data:`srlib.registry.DEGRADATIONS`.
CAMERA_DEGRADATIONS = DEGRADATIONS.names(camera=True)
#: The photos a model suits, by the degradation it was trained on (``srlib models``' last column):
#: the ``suits`` facts of :data:`srlib.registry.DEGRADATIONS`.
SUITED_PHOTOS = {name: DEGRADATIONS.info(name)["suits"] for name in DEGRADATIONS.names()
                 if "suits" in DEGRADATIONS.info(name)}


def list_models(folder=ZOO_DIR) -> dict[str, dict]:
    """``{name: metadata}`` of every model in the zoo folder, sorted by name."""
    return {path.stem: _checked_metadata(path.with_suffix(".safetensors"))
            for path in sorted(Path(folder).glob("*.json"))}


def model_path(name: str, folder=ZOO_DIR) -> Path:
    """The weights file of zoo model ``name`` (or ``name`` itself when it is a .safetensors path)."""
    if str(name).endswith(".safetensors"):
        return Path(name)
    path = Path(folder) / f"{name}.safetensors"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in Path(folder).glob("*.safetensors"))) or "none"
        raise ValueError(f"unknown model {name!r}; the zoo has: {known}")
    return path


def _checked_metadata(path: Path) -> dict:
    metadata = load_metadata(path)
    missing = [key for key in REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ValueError(f"{path.with_suffix('.json')}: metadata lacks {', '.join(missing)}")
    kind = metadata["architecture"].get("class") if isinstance(metadata["architecture"], dict) else None
    if kind not in ARCHITECTURES:
        raise ValueError(f"{path.with_suffix('.json')}: unknown architecture {kind!r} (expected one of {ARCHITECTURES})")
    if metadata["input"] not in ("lowres", "bicubic-upsampled"):
        raise ValueError(f"{path.with_suffix('.json')}: input must be 'lowres' or 'bicubic-upsampled'")
    if not isinstance(metadata["scale"], int) or metadata["scale"] < 1:
        raise ValueError(f"{path.with_suffix('.json')}: scale must be a positive integer")
    if is_diffusion(metadata):
        from srlib.torch.diffusion import SamplerSettings

        try:
            SamplerSettings(**metadata["sampler"])
        except KeyError:
            raise ValueError(f"{path.with_suffix('.json')}: a diffusion model's metadata needs its 'sampler' "
                             "settings (srlib.torch.diffusion.SamplerSettings)") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path.with_suffix('.json')}: invalid sampler settings: {error}") from None
    faithful = metadata.get("faithful")
    if faithful is not None:
        from srlib.enlarge import strength_level

        if not isinstance(faithful, dict) or not isinstance(faithful.get("model"), str):
            raise ValueError(f"{path.with_suffix('.json')}: faithful must be {{'model': <zoo name>, "
                             "'default_strength': <0 to 1>}")
        try:
            strength_level(faithful.get("default_strength"))
        except ValueError as error:
            raise ValueError(f"{path.with_suffix('.json')}: faithful's default_strength {error}") from None
    return metadata


def is_diffusion(metadata: dict) -> bool:
    """Whether the zoo model samples a chain of denoising steps (tutorial 8) rather than making one pass."""
    kind = metadata["architecture"]["class"]
    return kind in ARCHITECTURE_REGISTRY and bool(ARCHITECTURE_REGISTRY.info(kind).get("sampled"))


def build_model(metadata: dict) -> torch.nn.Module:
    """An untrained model of the architecture the metadata describes, built by name through
    :data:`srlib.registry.ARCHITECTURES` (an unknown class is a ``ValueError``). A diffusion model
    (a ``sampled`` architecture, ``Denoiser``) comes as a :class:`srlib.torch.diffusion.DiffusionUpscaler`:
    the denoiser with the metadata's ``sampler`` settings, one module from low to high resolution
    like the others."""
    architecture = metadata["architecture"]
    network = ARCHITECTURE_REGISTRY.build(architecture["class"], **architecture["arguments"])
    if is_diffusion(metadata):
        from srlib.torch.diffusion import DiffusionUpscaler, SamplerSettings

        return DiffusionUpscaler(network, SamplerSettings(**metadata["sampler"]))
    return network


def load_model(name: str, device=None, folder=ZOO_DIR, strength: float | None = None, steps: int | None = None,
               seed: int | None = None) -> tuple[torch.nn.Module, dict]:
    """``(model, metadata)`` for a zoo name or a .safetensors path with its .json; float32, eval mode.

    ``strength``: for a camera model whose metadata names the faithful model it was fine-tuned
    from (``"faithful": {"model": "edsr-x4", "default_strength": S}``, same architecture, in the
    same folder), the two networks' weights interpolated, ``(1 - strength) * faithful + strength
    * camera`` (:func:`interpolate_weights`; ESRGAN's network interpolation, Wang et al. 2018,
    and Real-ESRGAN's ``-dn``): 0 is the faithful model, 1 the camera model, between them less
    restoration and more of the photo's own detail. None takes the metadata's
    ``default_strength`` for such a model; the metadata returned then holds ``"strength"``.

    ``steps`` and ``seed``: for a diffusion model (``diffusion-x4``), the number of sampling
    steps (1 to the ``train_steps`` it was trained with) and the seed of its noise, instead of
    the metadata's ``sampler`` settings; the metadata returned holds the settings used. The same
    seed gives the same output; another seed another sample.

    Errors name the file: unknown model, missing or invalid metadata, corrupted weights, weights
    of another architecture; ``ValueError`` for a strength outside [0, 1], or given for a model
    with no faithful partner, and for steps or a seed given to a model that makes one pass.
    """
    path = model_path(name, folder)
    metadata = _checked_metadata(path)
    model = build_model(metadata)
    load_weights(model, path)
    if strength is not None or metadata.get("faithful"):
        model, metadata = _with_strength(model, metadata, path, strength)
    model, metadata = with_sampler(model, metadata, steps, seed)
    from srlib.torch import default_device

    return model.float().eval().to(torch.device(device) if device else default_device()), metadata


def with_sampler(model: torch.nn.Module, metadata: dict, steps: int | None = None, seed: int | None = None,
                 deterministic: bool | None = None) -> tuple[torch.nn.Module, dict]:
    """A loaded diffusion model sampled with other settings (``steps``, ``seed``,
    ``deterministic``; None keeps the model's), sharing its weights; ``(model, metadata)`` with
    the new ``sampler``, or both unchanged when nothing is given. ``train_steps`` and ``kappa``
    are fixed by training. ``ValueError`` naming the model for a model that makes one pass or a
    step count out of range."""
    changes = {key: value for key, value in (("num_steps", steps), ("seed", seed), ("deterministic", deterministic))
               if value is not None}
    if not changes:
        return model, metadata
    name = metadata["name"]
    if not is_diffusion(metadata):
        diffusion = [other for other, data in list_models().items() if is_diffusion(data)]
        raise ValueError(f"{name}: sampling steps and seeds are for a diffusion model, and {name} "
                         f"({metadata['architecture']['class']}) makes one pass; diffusion models: "
                         f"{', '.join(diffusion) or 'none'}")
    for key in ("num_steps", "seed"):
        if key in changes and (isinstance(changes[key], bool) or not isinstance(changes[key], int)):
            raise ValueError(f"{name}: {key} must be a whole number, not {changes[key]!r}")
    if changes.get("seed", 0) < 0:
        raise ValueError(f"{name}: the seed must be 0 or more, not {changes['seed']}")
    try:
        model = model.with_settings(**changes)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return model, {**metadata, "sampler": model.settings.asdict()}


def interpolate_weights(faithful: dict, camera: dict, strength: float) -> dict:
    """``(1 - strength) * faithful + strength * camera`` for each floating-point tensor of two
    state dicts of one architecture (float32); tensors equal in both (constants, counters) are
    kept as they are, and other tensors must be equal. ``strength`` 0 gives ``faithful`` exactly,
    1 gives ``camera`` exactly."""
    if set(faithful) != set(camera):
        raise ValueError("the two models' weights do not have the same tensors")
    mixed = {}
    for key, camera_tensor in camera.items():
        faithful_tensor = faithful[key]
        if faithful_tensor.shape != camera_tensor.shape:
            raise ValueError(f"tensor {key}: {tuple(faithful_tensor.shape)} against {tuple(camera_tensor.shape)}")
        if torch.equal(faithful_tensor, camera_tensor):  # shared constants stay exact
            mixed[key] = camera_tensor
        elif camera_tensor.is_floating_point():
            mixed[key] = (1.0 - strength) * faithful_tensor.float() + strength * camera_tensor.float()
        else:
            raise ValueError(f"tensor {key} (not floating-point) differs between the two models")
    return mixed


def _with_strength(model: torch.nn.Module, metadata: dict, path: Path, strength) -> tuple[torch.nn.Module, dict]:
    """The camera model ``model`` interpolated with its faithful partner at ``strength``."""
    from srlib.enlarge import strength_level

    name, faithful = metadata["name"], metadata.get("faithful")
    if not faithful:
        with_partner = [other for other, data in list_models(path.parent).items() if data.get("faithful")]
        raise ValueError(f"{name}: a strength is for a camera model fine-tuned from a faithful one, and {name} names "
                         f"no faithful model (metadata 'faithful'); models with a strength: "
                         f"{', '.join(with_partner) or 'none'}")
    try:
        strength = strength_level(faithful["default_strength"] if strength is None else strength)
    except ValueError as error:
        raise ValueError(f"{name}: strength {error} (0: {faithful['model']}, 1: {name})") from None
    if strength < 1:
        partner_path = model_path(faithful["model"], path.parent)
        partner_metadata = _checked_metadata(partner_path)
        if partner_metadata["architecture"] != metadata["architecture"]:
            raise ValueError(f"{name}: its faithful model {faithful['model']} has another architecture "
                             f"({partner_metadata['architecture']} against {metadata['architecture']})")
        partner = build_model(partner_metadata)
        load_weights(partner, partner_path)
        camera_state = {key: value.float() if value.is_floating_point() else value
                        for key, value in model.state_dict().items()}
        model.float().load_state_dict(interpolate_weights(partner.float().state_dict(), camera_state, strength))
    return model, {**metadata, "strength": strength}


def export(model: torch.nn.Module, name: str, metadata: dict, folder=ZOO_DIR, dtype=torch.float16) -> Path:
    """Write ``model`` into the zoo as ``name`` (weights cast to ``dtype``) with ``metadata``."""
    metadata = {"name": name, **metadata, "dtype": str(dtype).replace("torch.", ""),
                "parameters": sum(p.numel() for p in model.parameters())}
    state = {key: (value.to(dtype) if value.is_floating_point() else value)
             for key, value in model.state_dict().items()}
    path = save_weights(state, Path(folder) / f"{name}.safetensors", metadata)
    _checked_metadata(path)
    return path


def scale_and_multiple(metadata: dict) -> tuple[int, int]:
    """What the network itself does to its input: ``(enlargement, padding multiple)``. Models that
    take ``bicubic-upsampled`` images (the U-Nets, the auto-encoder, the VAE) keep the size and
    need sides divisible by 32 (the U-Net encoder's downsampling); ``lowres`` ones enlarge."""
    return (1, 32) if metadata["input"] == "bicubic-upsampled" else (metadata["scale"], 1)


def upscale(model: torch.nn.Module, metadata: dict, image: np.ndarray, tile: int | None = 512,
            self_ensemble: bool = False, progress: bool = False, precision: str = "auto") -> np.ndarray:
    """``image`` (HWC RGB [0, 1]) enlarged ``metadata['scale']`` times by the model, tile by tile.

    ``bicubic-upsampled`` models (the U-Nets) get the image enlarged by MATLAB bicubic first.
    ``self_ensemble`` averages the 8 flips/rotations (EDSR+, Lim et al.): 8 times slower, a
    little more accurate. ``precision``: ``auto``/``fp32``/``bf16`` (:mod:`srlib.torch.precision`).
    """
    from srlib.resize import upscale_bicubic
    from srlib.torch.inference import upscale_array

    if metadata["input"] == "bicubic-upsampled":
        image = upscale_bicubic(image, metadata["scale"])
    scale, multiple = scale_and_multiple(metadata)

    def run(array):
        return upscale_array(model, np.ascontiguousarray(array), scale, tile=tile, multiple=multiple,
                             progress=progress, precision=precision)

    if not self_ensemble:
        return run(image)
    total = np.zeros((image.shape[0] * scale, image.shape[1] * scale, 3), dtype=np.float64)
    for flip in (False, True):
        for turns in range(4):
            variant = np.rot90(image[:, ::-1] if flip else image, turns)
            result = np.rot90(run(variant), -turns)
            total += result[:, ::-1] if flip else result
    return (total / 8).astype(np.float32)


#: The degradations an x2/x4 model can be trained on and scored with: each reduces by exactly the
#: model's scale (``srlib.degrade.degrade``; the random ones seeded per photo), the damage
#: ladder's rungs (``srlib.degrade.LADDER``) and its training mix included: the ``scaled`` ones of
#: :data:`srlib.registry.DEGRADATIONS`.
SCALED_DEGRADATIONS = DEGRADATIONS.names(scaled=True)


def degrade_like(metadata: dict, highres: np.ndarray, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``(lowres, highres)`` degraded the way the model was trained (its metadata's recipe)."""
    from srlib.arrays import mod_crop, to_float
    from srlib.degrade import crappify, degrade
    from srlib.resize import imresize, shrink

    recipe = metadata["degradation"]
    scale = metadata["scale"]
    if recipe["name"] in SCALED_DEGRADATIONS:
        highres = mod_crop(to_float(highres), scale)
        return degrade(highres, recipe["name"], scale=scale, seed=seed), highres
    if recipe["name"] == "crappify":
        highres = to_float(highres)
        if recipe.get("highres_size"):
            highres = shrink(highres, recipe["highres_size"])
        highres = mod_crop(highres, scale)
        lowres = crappify(highres, seed=seed)
        return imresize(lowres, size=(highres.shape[0] // scale, highres.shape[1] // scale)), highres
    raise ValueError(f"{metadata['name']}: unknown degradation recipe {recipe!r}")


def evaluate_model(name_or_model, images: dict, metadata: dict | None = None, self_ensemble: bool = False,
                   progress: bool = False, precision: str = "auto", degradation: str | None = None, draw: int = 0):
    """Degrade ``images`` ({name: HR image}) the model's way, upscale them, score against bicubic.

    ``degradation`` scores it on another degradation at its scale instead (``"realistic"``: blur,
    noise and JPEG, camera-like; seed ``[draw, index]`` per photo), for models of the bicubic x2/x4 task.
    ``draw`` picks another random damage of each photo for the random degradations.
    Returns a :class:`srlib.evaluation.ResultsTable` (Y channel, border of ``scale`` pixels).
    """
    from tqdm.auto import tqdm

    from srlib.resize import upscale_bicubic
    from srlib.evaluation import evaluate

    if metadata is None:
        model, metadata = load_model(name_or_model)
    else:
        model = name_or_model
    if degradation is not None:
        if degradation not in SCALED_DEGRADATIONS:
            raise ValueError(f"cannot score on degradation {degradation!r}; "
                             f"choose from {', '.join(SCALED_DEGRADATIONS)}")
        if metadata["degradation"]["name"] == "crappify":
            raise ValueError(f"{metadata['name']}: a crappify model takes its own inputs; --degradation is for "
                             "the x2/x4 models")
        metadata = {**metadata, "degradation": {"name": degradation}}
    scale = metadata["scale"]
    originals, bicubics, predictions = {}, {}, {}
    for index, (name, image) in enumerate(tqdm(images.items(), desc=metadata["name"], disable=not progress)):
        lowres, highres = degrade_like(metadata, image, seed=[draw, index])
        originals[name] = highres
        bicubics[name] = upscale_bicubic(lowres, scale)
        predictions[name] = upscale(model, metadata, lowres, self_ensemble=self_ensemble, precision=precision)
    label = metadata["name"] + (" (self-ensemble)" if self_ensemble else "")
    return evaluate(originals, {"bicubic": bicubics, label: predictions}, crop_border=scale)


def evaluate_degradations(name_or_model, images: dict, metadata: dict | None = None, degradations=LADDER,
                          draws: int = 1, self_ensemble: bool = False, precision: str = "auto",
                          progress: bool = False) -> dict[str, dict]:
    """The model against bicubic on ``images`` ({name: HR image}) damaged each of ``degradations``
    ways (default the damage ladder, :data:`srlib.degrade.LADDER`): :func:`evaluate_model` for
    each, ``draws`` times (seeds ``[draw, index]``, so every model gets the same inputs).

    Returns ``{degradation: {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim", "gain", "worst_gain",
    "worst_photo", "per_photo_gain"}}``: means over photos and draws (Y channel, ``scale``-pixel
    border), the gain in dB of the model over bicubic, and the smallest per-photo gain and its
    photo; ``per_photo_gain`` is keyed by photo name (``photo/draw`` when ``draws`` > 1).
    """
    if metadata is None:
        model, metadata = load_model(name_or_model)
    else:
        model = name_or_model
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    label = metadata["name"] + (" (self-ensemble)" if self_ensemble else "")
    result = {}
    for degradation in degradations:
        rows = []
        for draw in range(draws):
            table = evaluate_model(model, images, metadata, self_ensemble=self_ensemble, progress=progress,
                                   precision=precision, degradation=degradation, draw=draw)
            rows += [{**row, "image": f"{row['image']}/{draw}" if draws > 1 else row["image"]} for row in table.rows]
        scores = {method: {row["image"]: row for row in rows if row["method"] == method} for method in ("bicubic", label)}
        mean = {method: {key: float(np.mean([row[key] for row in by_image.values()])) for key in ("psnr", "ssim")}
                for method, by_image in scores.items()}
        gains = {image: row["psnr"] - scores["bicubic"][image]["psnr"] for image, row in scores[label].items()}
        worst = min(gains, key=gains.get)
        result[degradation] = {"psnr": mean[label]["psnr"], "ssim": mean[label]["ssim"],
                               "bicubic_psnr": mean["bicubic"]["psnr"], "bicubic_ssim": mean["bicubic"]["ssim"],
                               "gain": mean[label]["psnr"] - mean["bicubic"]["psnr"], "worst_gain": gains[worst],
                               "worst_photo": worst, "per_photo_gain": gains}
    return result


def degradations_markdown(result: dict, name: str) -> str:
    """:func:`evaluate_degradations`' result as a Markdown table, one row per degradation."""
    lines = [f"| inputs | {name} PSNR (dB) | bicubic PSNR (dB) | mean gain (dB) | worst photo's gain (dB) |",
             "|---|---|---|---|---|"]
    for degradation, row in result.items():
        lines.append(f"| {degradation} | {row['psnr']:.2f} | {row['bicubic_psnr']:.2f} | {row['gain']:+.2f} | "
                     f"{row['worst_gain']:+.2f} ({row['worst_photo']}) |")
    return "\n".join(lines)


#: The strengths :func:`strength_sweep` scores by default: from the faithful model (0) to the camera model (1).
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: :func:`choose_strength`'s rule in words, for the reports and the metadata that record its choice.
STRENGTH_RULE = ("the largest mean gain over the ladder's levels among the strengths that gain at every level and "
                 "cost no mild input more than 0.3 dB")


def strength_sweep(name: str, images: dict, strengths=STRENGTHS, degradations=LADDER, draws: int = 1,
                   folder=ZOO_DIR, precision: str = "auto", progress: bool = False) -> dict[float, dict]:
    """A camera model (one whose metadata names a faithful partner) at each of ``strengths``
    (:func:`load_model`'s ``strength``) scored by :func:`evaluate_degradations` on ``images``
    damaged each of ``degradations`` ways (default the damage ladder), ``draws`` times: the same
    inputs at every strength. Returns ``{strength: {degradation: row}}``."""
    sweep = {}
    for strength in strengths:
        model, metadata = load_model(name, folder=folder, strength=strength)
        sweep[float(strength)] = evaluate_degradations(model, images, metadata, degradations=degradations,
                                                       draws=draws, precision=precision, progress=progress)
    return sweep


def choose_strength(sweep: dict, mild: str = "mild", worst_floor: float = -0.3) -> float:
    """The default strength from :func:`strength_sweep`'s scores, by the rule a camera model
    promises: among the strengths that gain over bicubic on average at every level and cost no
    input more than ``-worst_floor`` dB at ``mild`` (a phone photo shared once), the one with the
    largest mean gain over the levels. When none keeps that promise, the strength whose worst
    input's gain, over all levels, is the largest (the least harm)."""
    def mean_gain(strength):
        return float(np.mean([row["gain"] for row in sweep[strength].values()]))

    kept = [strength for strength, rows in sweep.items()
            if all(row["gain"] > 0 for row in rows.values())
            and (mild not in rows or rows[mild]["worst_gain"] >= worst_floor)]
    if kept:
        return max(kept, key=mean_gain)
    return max(sweep, key=lambda strength: min(row["worst_gain"] for row in sweep[strength].values()))


def strength_markdown(sweep: dict, name: str, chosen: float | None = None) -> str:
    """:func:`strength_sweep`'s scores as a Markdown table: one row per strength, the mean gain over
    bicubic (dB) at each level and, in brackets, the worst input's; ``chosen`` in bold."""
    levels = list(next(iter(sweep.values())))
    lines = [f"| {name} strength | " + " | ".join(f"{level}: gain (worst)" for level in levels) + " |",
             "|---" * (len(levels) + 1) + "|"]
    for strength, rows in sweep.items():
        label = f"**{strength:g}**" if chosen is not None and strength == chosen else f"{strength:g}"
        lines.append(f"| {label} | " + " | ".join(f"{rows[level]['gain']:+.2f} ({rows[level]['worst_gain']:+.2f})"
                                                 for level in levels) + " |")
    return "\n".join(lines)


def training_stages(metadata: dict) -> list[dict]:
    """A zoo model's training runs, first to last: its ``training`` record and the ``previous``
    ones it continued (a model trained on a GPU, then on for more steps on a CPU, has two)."""
    stages, stage = [], metadata["training"]
    while stage:
        stages.insert(0, stage)
        stage = stage.get("previous")
    return stages


def training_summary(metadata: dict) -> str:
    """How a zoo model was trained, in words: ``"trained 3,500 steps (full mode, 15 min on <machine>)"``,
    one clause per stage (``"..., then 3,600 steps (...)"``) when it continued an earlier run."""
    clauses = []
    for training in training_stages(metadata):
        steps = training.get("steps")
        details = [f"{training['mode']} mode"] if training.get("mode") else []
        details.append(f"{training['seconds'] / 60:.0f} min"
                       + (f" on {training['machine']}" if training.get("machine") else ""))
        clauses.append(f"{f'{steps:,}' if steps else 'an unrecorded number of'} steps ({', '.join(details)})")
    return "trained " + ", then ".join(clauses)


def beside_run(name: str, inputs: dict, trained_here: str, folder=ZOO_DIR) -> tuple[dict, str]:
    """A tutorial's fast run beside the zoo's model of the same notebook in full mode.

    ``inputs``: ``{image name: HWC RGB [0, 1]}``, already degraded and shaped the way the model
    takes them (for ``bicubic-upsampled`` models, the upsampled images a notebook's U-Net takes).
    For ``lowres`` models, the low-resolution images (outputs ``scale`` times larger).
    ``trained_here`` says what the notebook itself did (``"trained 300 steps here (fast mode)"``).
    Returns ``({image name: prediction}, "<trained_here>; the zoo model <name> trained M steps
    (full mode, T min on <machine>)")``.
    """
    from srlib.torch.inference import upscale_array

    model, metadata = load_model(name, folder=folder)
    scale, multiple = scale_and_multiple(metadata)
    predictions = {key: upscale_array(model, np.ascontiguousarray(image), scale, tile=None, multiple=multiple)
                   for key, image in inputs.items()}
    return predictions, f"{trained_here}; the zoo model {name} {training_summary(metadata)}"


def total_size(folder=ZOO_DIR) -> int:
    """Bytes taken by the zoo's files."""
    return sum(path.stat().st_size for path in Path(folder).iterdir() if path.suffix in (".safetensors", ".json"))


def _strength_advice(faithful: dict) -> str:
    """Which strength scored best at each level of the ladder, from the scores that chose the default
    (``faithful["chosen_by"]["scores"]``, written by ``scripts/build_zoo.py``); empty without them."""
    scores = faithful.get("chosen_by", {}).get("scores")
    if not scores:
        return ""
    levels = list(next(iter(scores.values())))
    best = {level: max(scores, key=lambda strength: scores[strength][level]["gain"]) for level in levels}
    return (" The best strength on the validation photos, by damage: " +
            ", ".join(f"{level} {best[level]} ({scores[best[level]][level]['gain']:+.2f} dB over bicubic)"
                      for level in levels) + ".")


def describe(folder=ZOO_DIR) -> str:
    """A Markdown table of the zoo: name, scale, parameters, validation PSNR gain, size, the photos it suits.

    The validation numbers are on the validation photos degraded the model's own way, so they
    compare models of one degradation, not a bicubic model with a camera-photo one.
    """
    lines = ["| model | scale | input degradation | parameters | validation PSNR (dB) | gain over bicubic (dB) | MB "
             "| suits |", "|---|---|---|---|---|---|---|---|"]
    models = list_models(folder)
    for name, metadata in models.items():
        validation = metadata["validation"]
        size = (Path(folder) / f"{name}.safetensors").stat().st_size / 1e6
        lines.append(f"| {name} | x{metadata['scale']} | {metadata['degradation']['name']} | "
                     f"{metadata['parameters'] / 1e6:.2f} M | {validation['psnr']:.2f} | "
                     f"{validation['psnr'] - validation['bicubic_psnr']:+.2f} | {size:.1f} | "
                     f"{SUITED_PHOTOS.get(metadata['degradation']['name'], '-')} |")
    camera = [name for name, metadata in models.items() if metadata["degradation"]["name"] in CAMERA_DEGRADATIONS]
    advice = (f" For photos from a camera or a phone: {', '.join(camera)}; the bicubic models sharpen their noise "
              "and JPEG blocks too." if camera else "")
    advice += "".join(f" `--strength S` blends {name} with {metadata['faithful']['model']}, the model it was "
                      f"fine-tuned from: 0 is {metadata['faithful']['model']}, 1 is {name} (default "
                      f"{metadata['faithful']['default_strength']:g}).{_strength_advice(metadata['faithful'])}"
                      for name, metadata in models.items() if metadata.get("faithful"))
    advice += "".join(f" {name} samples a chain of denoising steps from noise around the bicubic image: "
                      f"`--steps N` (1 to {metadata['sampler']['train_steps']}, default "
                      f"{metadata['sampler']['num_steps']}) trades time for texture (one step is the fastest and "
                      f"the smoothest), `--seed S` draws another sample."
                      for name, metadata in models.items() if is_diffusion(metadata))
    return ("\n".join(lines) + "\n\nEach model's validation numbers are on photos degraded its own way (the input "
            "degradation column): they compare models of one degradation." + advice +
            " `srlib evaluate FOLDER --model NAME --degradation realistic` scores an x2/x4 model on camera-like "
            f"inputs.\n\nTotal: {total_size(folder) / 1e6:.1f} MB in {folder}")


if __name__ == "__main__":
    print(json.dumps(list_models(), indent=2))
