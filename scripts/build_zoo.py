"""Build srlib/zoo/ from trained weights: score each model on the validation photos, write float16
safetensors with metadata. A maintainer's tool, run once after training:

    python scripts/build_zoo.py --edsr-x2 results/zoo_gpu/edsr_x2 --edsr-x4 results/zoo_gpu/edsr_x4 \
        --real-x4 models/train/real_x4 \
        --unet-pixel models/unet_pixel_full.safetensors --unet-perceptual models/unet_perceptual_full.safetensors \
        --gan models/gan_generator_full.safetensors --autoencoder models/autoencoder_l1_full.weights.h5 \
        --vae models/vae_full.safetensors --diffusion models/diffusion_full.safetensors

EDSR folders hold ``weights.pt`` (a state dict) and ``record.json`` from ``python -m srlib.train_sr``
(the x2/x4 models were trained on a lent H200 with ``scripts/train_zoo_gpu.sh``, ``real-x4`` on the
CPU with ``scripts/train_real_x4.sh``); the U-Nets are
the full runs of tutorials 2-4; the auto-encoder is one of tutorial 1's full-run models (Keras
weights ``models/autoencoder_<loss>_full.weights.h5``), served through its PyTorch twin; the VAE
is tutorial 5's full run, served at its zero latent (the notebook draws samples); the diffusion
model is tutorial 8's full run, with its sampler settings (steps, seed) in the metadata.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from srlib import zoo
from srlib.samples import load_split
from srlib.torch.checkpoints import load_metadata, load_weights
from srlib.torch.edsr import EDSR


def validation(model, metadata: dict) -> dict:
    """Means and per-image numbers on the validation photos, with the bicubic baseline's PSNR."""
    table = zoo.evaluate_model(model, load_split("valid"), metadata, progress=True)
    means = table.mean()
    name = metadata["name"]
    return {**means[name], "bicubic_psnr": means["bicubic"]["psnr"], "bicubic_ssim": means["bicubic"]["ssim"],
            "per_image": {row["image"]: {k: row[k] for k in ("psnr", "ssim", "hfen")}
                          for row in table.rows if row["method"] == name},
            "settings": "srlib.samples valid split (5 photos), degraded as in training; Y channel, "
                        "border of `scale` pixels cropped"}


def add(model, metadata: dict) -> None:
    torch.manual_seed(0)
    model = model.float().eval()
    half = model.half().float()  # score the weights as shipped (float16; a diffusion schedule is no tensor of them)
    metadata["validation"] = validation(half, metadata)
    path = zoo.export(half, metadata["name"], metadata)
    gain = metadata["validation"]["psnr"] - metadata["validation"]["bicubic_psnr"]
    print(f"{path}: {metadata['validation']['psnr']:.2f} dB ({gain:+.2f} over bicubic)")


def add_edsr(folder: Path, name: str, description: str | None = None, command: str | None = None,
             faithful: dict | None = None) -> None:
    record = json.loads((folder / "record.json").read_text())
    config = record["config"]
    degradation = config.get("degradation", "bicubic")
    model = EDSR(scale=config["scale"], features=config["features"], blocks=config["blocks"])
    model.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
    # a run that continued the zoo's own model of this name (--init edsr-x2) keeps that model's
    # training as its first stage (srlib.zoo.training_stages); other starting points are in config.init
    continued = load_metadata(zoo.model_path(name)) if config.get("init") == name else None
    previous = continued["training"] if continued else None
    command = command or (f"python -m srlib.train_sr --init {name} (on from the zoo's model)" if previous
                          else "scripts/train_zoo_gpu.sh (python -m srlib.train_sr)")
    data = list(dict.fromkeys((continued["data"] if continued else []) + config["data"]))
    add(model, {"name": name, "architecture": {"class": "EDSR", "arguments": model.arguments()},
                "scale": config["scale"], "input": "lowres", "degradation": {"name": degradation},
                "data": data, "loss": "L1", **({"faithful": faithful} if faithful else {}),
                **({"description": description} if description else {}),
                "training": {"steps": record["step"], "seconds": record["seconds"], "machine": record["machine"],
                             "config": config, "previous": previous, "command": command}})


def choose_default_strength(name: str, draws: int = 4) -> float:
    """Score the camera model ``name`` at each of :data:`srlib.zoo.STRENGTHS` on the damage ladder
    (the validation photos, ``draws`` damages of each), write the strength that
    :func:`srlib.zoo.choose_strength` picks into its metadata as the default, with the scores."""
    sweep = zoo.strength_sweep(name, load_split("valid"), draws=draws, progress=True)
    chosen = zoo.choose_strength(sweep)
    model, metadata = zoo.load_model(name, device="cpu", strength=1.0)
    for key in ("strength", "dtype", "parameters"):
        metadata.pop(key, None)
    metadata["faithful"] = {
        **metadata["faithful"], "default_strength": chosen,
        "chosen_by": {"rule": f"srlib.zoo.choose_strength: {zoo.STRENGTH_RULE}",
                      "photos": f"srlib.samples valid split, {draws} damages of each (seeds [draw, index])",
                      "scores": {f"{strength:g}": {level: {"gain": row["gain"], "worst_gain": row["worst_gain"]}
                                                   for level, row in rows.items()}
                                 for strength, rows in sweep.items()}}}
    # the validation numbers are those of the model as load_model serves it: at the default strength
    served, served_metadata = zoo.load_model(name, device="cpu", strength=chosen)
    metadata["validation"] = {**validation(served, served_metadata), "strength": chosen}
    metadata["validation"]["settings"] += f"; at the default strength {chosen:g}"
    zoo.export(model, name, metadata)
    print(zoo.strength_markdown(sweep, name, chosen))
    return chosen


def add_unet(path: Path, name: str, description: str) -> None:
    from srlib.torch.models import build_unet

    model = build_unet()
    saved = load_weights(model, path)
    config = saved["config"].get("unet", saved["config"])
    # tutorial 2's crappify task (x2 and JPEG; its data's scale 1 means "the input brought back to
    # full size"), or tutorial 3's x4 task (bicubic, scored on the photos at their own size as the
    # zoo's other x4 models are)
    if config["degradation"] == "crappify":
        scale, degradation = 2, {"name": "crappify", "highres_size": config["highres_size"]}
    else:
        scale, degradation = config["scale"], {"name": config["degradation"]}
    add(model, {"name": name, "architecture": {"class": "ResidualUnet", "arguments": {}},
                "scale": scale, "input": "bicubic-upsampled", "degradation": degradation,
                "data": saved["data"], "loss": saved["loss"], "description": description,
                "training": {"seconds": saved["training_seconds"], "steps": saved.get("training_steps"),
                             "machine": saved["machine"],
                             "mode": saved["mode"], "config": saved["config"]}})


def add_autoencoder(path: Path, name: str = "autoencoder-x2") -> None:
    from course import results
    from srlib.export import keras_autoencoder_to_torch
    from srlib.keras.models import build_autoencoder

    loss = path.name.removeprefix("autoencoder_").split("_full.")[0]
    run = results.load("01_autoencoder_keras", "full")
    if not run or loss not in run["histories"]:
        raise SystemExit(f"{path}: no full run of tutorial 1 with the loss {loss!r} in results/full/")
    config = run["config"]
    keras_model = build_autoencoder(tuple(config["filters"]), residual=config["residual"])
    keras_model.load_weights(path)
    model = keras_autoencoder_to_torch(keras_model, tuple(config["filters"]), residual=config["residual"])
    history = run["histories"][loss]
    add(model, {"name": name, "architecture": {"class": "Autoencoder",
                                               "arguments": {"filters": list(config["filters"]),
                                                             "residual": config["residual"]}},
                "scale": config["scale"], "input": "bicubic-upsampled", "degradation": {"name": config["degradation"]},
                "data": f"srlib.samples.load_pool({tuple(config['pool'])}), {config['patch_size']}-pixel crops",
                "loss": loss, "description": f"tutorial 1's auto-encoder, full run, trained with the {loss} loss: "
                                             f"x2 enlargement of clean photos",
                "training": {"seconds": history["seconds"], "steps": history["steps"], "machine": run["machine"],
                             "mode": run["mode"], "config": config, "command": run.get("command")}})


def add_vae(path: Path, name: str = "vae-x4") -> None:
    from srlib.torch.vae import ConditionalVAE

    saved = load_metadata(path)
    model = ConditionalVAE(**saved["architecture"]["arguments"])
    load_weights(model, path)
    config = saved["config"]
    add(model, {"name": name, "architecture": saved["architecture"], "scale": config["scale"],
                "input": "bicubic-upsampled", "degradation": {"name": config["degradation"]},
                "data": saved["data"], "loss": saved["loss"],
                "description": f"tutorial 5's conditional VAE, full run: x{config['scale']} enlargement of clean photos "
                               + ("at its learned prior's mean" if saved["architecture"]["arguments"].get("prior") == "learned"
                                  else "at the zero latent (the prior's mean)") + "; the notebook draws samples",
                "training": {"seconds": saved["training_seconds"], "steps": saved["training_steps"],
                             "machine": saved["machine"], "mode": saved["mode"], "config": config,
                             "command": "SRLIB_MODE=full python -m course.notebooks 05_vae"}})


def add_diffusion(path: Path, name: str = "diffusion-x4") -> None:
    saved = load_metadata(path)
    model = zoo.build_model(saved)  # the denoiser with the notebook's sampler settings
    load_weights(model.denoiser, path)  # the notebook saves the denoiser alone
    config = saved["config"]
    sampler = model.settings
    add(model, {
        "name": name, "architecture": saved["architecture"], "sampler": sampler.asdict(), "scale": config["scale"],
        "input": "lowres", "degradation": {"name": "bicubic"},
        "data": f"srlib.samples.load_pool({tuple(config['pool'])!r}), {config['patch_size']}-pixel crops",
        "loss": saved["loss"],
        "description": f"tutorial 8's residual-shifting diffusion model (ResShift, Yue et al. 2023), full run: "
                       f"x{config['scale']} enlargement of clean photos sampled in {sampler.num_steps} steps "
                       f"(kappa {sampler.kappa:g}); --steps and --seed choose another sample",
        "training": {"seconds": saved["training_seconds"], "steps": saved["training_steps"],
                     "machine": saved["machine"], "mode": saved["mode"], "config": config,
                     "command": "SRLIB_MODE=full python -m course.notebooks 08_diffusion_sr"}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edsr-x2", type=Path)
    parser.add_argument("--edsr-x4", type=Path)
    parser.add_argument("--real-x4", type=Path, help="a train_sr folder trained with --degradation ladder-mix (scripts/train_real_x4.sh)")
    parser.add_argument("--choose-strength", action="store_true",
                        help="choose the shipped real-x4's default strength again and score it there (after a "
                             "change to the ladder or to srlib.zoo.choose_strength), without new weights")
    parser.add_argument("--unet-pixel", type=Path)
    parser.add_argument("--unet-perceptual", type=Path)
    parser.add_argument("--gan", type=Path)
    parser.add_argument("--autoencoder", type=Path, help="models/autoencoder_<loss>_full.weights.h5")
    parser.add_argument("--vae", type=Path, help="models/vae_full.safetensors")
    parser.add_argument("--diffusion", type=Path, help="models/diffusion_full.safetensors")
    args = parser.parse_args()
    zoo.ZOO_DIR.mkdir(exist_ok=True)
    torch.set_num_threads(2)
    if args.edsr_x2:
        add_edsr(args.edsr_x2, "edsr-x2")
    if args.edsr_x4:
        add_edsr(args.edsr_x4, "edsr-x4")
    if args.real_x4:
        add_edsr(args.real_x4, "real-x4",
                 "x4 enlargement of camera photos (any reduction, blur, noise, JPEG): edsr-x4 fine-tuned with L1 "
                 "on the damage ladder's mix made afresh for each crop, clean to Real-ESRGAN's second order "
                 "(RealESRNet's recipe, Wang et al. 2021, with clean and mildly damaged photos kept in)",
                 command="scripts/train_real_x4.sh (python -m srlib.train_sr --degradation ladder-mix)",
                 # the model it was fine-tuned from, for srlib.zoo.load_model(strength=); the default
                 # strength is then chosen from the ladder's scores
                 faithful={"model": "edsr-x4", "default_strength": 1.0})
    if args.real_x4 or args.choose_strength:
        choose_default_strength("real-x4")
    restoration = "enlarges x2 and removes JPEG damage (crappify: 96-pixel shorter side, JPEG quality 10-70)"
    if args.unet_pixel:
        add_unet(args.unet_pixel, "unet-pixel", f"tutorial 2's U-Net, pixel (MSE) loss: {restoration}")
    if args.unet_perceptual:
        add_unet(args.unet_perceptual, "unet-perceptual",
                 "tutorial 3's U-Net, VGG-16 feature loss: x4 enlargement of clean photos (bicubic reduction), "
                 "the input bicubic-enlarged first; tutorial 2's U-Net fine-tuned on photos of a 384-pixel "
                 "shorter side, with more fine texture than a pixel loss gives")
    if args.gan:
        add_unet(args.gan, "gan", f"tutorial 4's GAN generator (NoGAN): {restoration}")
    if args.autoencoder:
        add_autoencoder(args.autoencoder)
    if args.vae:
        add_vae(args.vae)
    if args.diffusion:
        add_diffusion(args.diffusion)
    print(zoo.describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
