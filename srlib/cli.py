"""The ``srlib`` command line (installed with the package; ``python -m srlib`` works too).

    srlib data                      write the sample photographs to data/samples with a manifest,
                                    and the photographs of the full training pool to data/wallpapers
                                    and data/photos
    srlib baseline --scales 2 3 4   bicubic PSNR/SSIM/HFEN of the validation photos
    srlib degrade IN... -o OUT      degrade your own images (bicubic, downup, crappify, realistic,
                                    second-order, mixed-order, the ladder's clean, mild, moderate,
                                    heavy, and ladder-mix)
    srlib upscale IN... -o OUT      enlarge images with a zoo model (tiled, GPU when present),
                                    keeping transparency, bit depth, grey, ICC profile, EXIF, format
    srlib models                    the model zoo
    srlib evaluate FOLDER --model M score a zoo model on your own high-resolution photos
    srlib export MODEL -o FILE.onnx write a zoo model as ONNX (any image size), checked with ONNX Runtime

Each subcommand's ``--help`` gives an example. Errors name the file and the reason, and end the
command with a non-zero status instead of a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from srlib.registry import DEGRADATIONS

EXAMPLES = {
    "data": "example: srlib data --dest data/samples",
    "baseline": "example: srlib baseline --scales 2 3 4 --output results/bicubic",
    "degrade": "example: srlib degrade photos/ -o photos_x4 --degradation bicubic --scale 4",
    "upscale": "examples:\n  srlib upscale render.png -o enlarged --model edsr-x4\n"
               "  srlib upscale phone_photos/ -o enlarged --model real-x4 --skip-existing\n"
               "  srlib upscale phone_photos/ -o gentler --model real-x4 --strength 0.5   # half way to edsr-x4\n"
               "  srlib upscale render.png -o sampled --model diffusion-x4 --steps 4 --seed 1\n"
               "  srlib upscale logo.png scan.tif -o enlarged --outscale 2.5     # RGBA and 16-bit grey kept\n"
               "  srlib upscale photos/ -o web --format webp --quality 90 --width 1920\n\n"
               "What comes out of each kind of input (transparency, 16-bit, grey, palette, CMYK,\n"
               "ICC profile, EXIF): docs/files.md.",
    "models": "example: srlib models",
    "evaluate": "examples:\n  srlib evaluate data/samples/valid --model edsr-x2\n"
                "  srlib evaluate data/samples/valid --model real-x4 --degradation realistic\n"
                "  srlib evaluate data/samples/valid --model real-x4 --degradation ladder",
    "export": "example: srlib export edsr-x4 -o edsr-x4.onnx",
}


def _command_data(args) -> int:
    from srlib.samples import write_samples

    destination = write_samples(args.dest, splits=tuple(args.splits))
    print(f"sample photographs written to {destination} (manifest: {destination / 'manifest.json'})")
    if args.wallpapers:
        from srlib.samples import write_photos, write_wallpapers

        for kind, write in (("wallpaper photographs", write_wallpapers), ("package photographs", write_photos)):
            try:
                folder = write()
            except OSError as error:  # FileNotFoundError included
                print(f"{kind} not written: {error}\n  fast mode does not need them; full mode's training "
                      "pool does (srlib.samples.load_pool)", file=sys.stderr)
            else:
                print(f"{kind} (the rest of the training pool) in {folder}")
    return 0


def _command_baseline(args) -> int:
    from srlib.evaluation import ResultsTable, evaluate
    from srlib.samples import load_split

    images = load_split("valid", args.folder)
    combined = ResultsTable(settings={"y_channel": True, "crop_border": "scale", "images": list(images)})
    print(f"Bicubic upscaling of {len(images)} validation photos "
          "(MATLAB bicubic down then up; Y channel, border of `scale` pixels cropped)\n")
    for scale in args.scales:
        table = evaluate(images, scale=scale)
        for row in table.rows:
            combined.rows.append({**row, "method": f"bicubic x{scale}"})
    print(combined.to_markdown(per_image=args.per_image, baseline=None))
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.with_suffix(".md").write_text(combined.to_markdown(per_image=True, baseline=None) + "\n")
        combined.save_json(output.with_suffix(".json"))
        print(f"\nwritten: {output.with_suffix('.md')}, {output.with_suffix('.json')}")
    return 0


class BatchPlan:
    """Input files and their outputs ``OUTDIR/<stem><suffix>``, checked before any work starts.

    ``suffix(source)`` names each output's suffix (default ``.png`` for all).

    Refuses (``ValueError`` naming the path): a missing input, an output folder that cannot be
    created or written, an output that would replace one of the inputs. Inputs whose outputs
    would share a name (``a.png``, ``a.jpg`` both to PNG) are written under distinct names,
    ``a_png.png`` and ``a_jpg.png`` (and :meth:`report` says so); inputs that would still share
    an output (two ``a.png`` from two folders) are listed as failures, the rest of the batch goes on. Entries of a folder that have
    an image suffix but cannot be read (a dangling symbolic link, a folder, a device) are listed as
    failures too. Existing outputs are skipped with ``skip_existing`` (resume after an
    interruption), replaced with ``overwrite``, and otherwise reported as failures without
    touching them.
    """

    def __init__(self, inputs, output, overwrite: bool = False, skip_existing: bool = False, suffix=None):
        from srlib.io import IMAGE_SUFFIXES, unreadable_entry

        self.suffix = suffix or (lambda source: ".png")
        self.failures: list[str] = []
        self.renamed: list[str] = []
        self.skipped = 0
        sources: list[Path] = []
        for item in map(Path, inputs):
            if item.is_dir():
                try:
                    entries = sorted(item.iterdir())
                except OSError as error:
                    raise ValueError(f"{item}: cannot list the folder ({error.strerror or error})") from None
                for entry in entries:
                    if entry.suffix.lower() not in IMAGE_SUFFIXES:
                        continue
                    problem = unreadable_entry(entry)
                    if problem:
                        self.failures.append(f"{entry}: {problem}")
                    else:
                        sources.append(entry)
            elif item.is_file():
                sources.append(item)
            elif item.is_symlink():
                raise ValueError(f"{item}: {unreadable_entry(item)}")
            else:
                raise ValueError(f"{item}: no such file or folder")
        if not sources and not self.failures:
            raise ValueError(f"no image files in {', '.join(map(str, inputs))}")
        self.output = Path(output)
        self.sources, self.targets = self._name_outputs(sources)
        resolved_inputs = {path.resolve() for path in self.sources}
        for source, target in zip(self.sources, self.targets):
            if target.resolve() in resolved_inputs:
                raise ValueError(f"{target}: the output would replace the input {source}; choose another output "
                                 f"folder (outputs are named <stem>{target.suffix})")
        self.unprocessed = len(self.failures)  # entries that failed before any work: not among the sources
        self._check_writable()
        self.overwrite, self.skip_existing = overwrite, skip_existing

    def _name_outputs(self, sources: list[Path]) -> tuple[list[Path], list[Path]]:
        """``OUTDIR/<stem><suffix>`` for each source; ``<stem>_<input suffix><suffix>`` where those
        collide; sources that would still collide become failures."""
        by_name: dict[str, list[Path]] = {}
        for source in sources:
            by_name.setdefault(f"{source.stem}{self.suffix(source)}", []).append(source)
        names = {}
        for name, group in by_name.items():
            if len(group) == 1:
                names[group[0]] = name
                continue
            for source in group:
                names[source] = f"{source.stem}_{source.suffix.lower().lstrip('.')}{self.suffix(source)}"
            self.renamed.append(f"{' and '.join(str(source) for source in group)} share the stem "
                                f"{group[0].stem!r}: written as "
                                f"{', '.join(sorted(set(names[source] for source in group)))}")
        claimants: dict[str, list[Path]] = {}
        for source in sources:
            claimants.setdefault(names[source], []).append(source)
        kept, targets = [], []
        for source in sources:
            others = claimants[names[source]]
            if len(others) > 1:
                self.failures.append(f"{source}: {' and '.join(map(str, others))} would all be written to "
                                     f"{self.output / names[source]}; rename one or process them separately")
                continue
            kept.append(source)
            targets.append(self.output / names[source])
        return kept, targets

    def _check_writable(self):
        import tempfile

        try:
            self.output.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.output):
                pass
        except OSError as error:
            raise ValueError(f"{self.output}: cannot write to the output folder ({error.strerror or error})") from None

    def jobs(self, description: str):
        """``(index, source, target)`` for each file to do, with a progress bar over many files."""
        from tqdm.auto import tqdm

        for index, (source, target) in enumerate(tqdm(list(zip(self.sources, self.targets)), desc=description,
                                                      disable=len(self.sources) < 2, unit="image")):
            if target.exists() and not self.overwrite:
                if self.skip_existing:
                    self.skipped += 1
                else:
                    self.failures.append(f"{target}: exists already (use --overwrite to replace it, "
                                         "--skip-existing to keep it)")
                continue
            yield index, source, target

    def fail(self, source: Path, error: Exception) -> None:
        message = str(error)
        self.failures.append(message if str(source) in message else f"{source}: {message}")

    def report(self, verb: str) -> int:
        """Print the summary, the renamed outputs and the failures; the exit status (1 if any file failed)."""
        total = len(self.sources) + self.unprocessed
        done = total - len(self.failures) - self.skipped
        skipped = f", {self.skipped} skipped (exist already)" if self.skipped else ""
        print(f"{done} of {total} images {verb} to {self.output}{skipped}")
        for message in self.renamed:
            print(f"renamed: {message}")
        for message in self.failures:
            print(f"failed: {message}", file=sys.stderr)
        return 1 if self.failures else 0


#: What a bad input file (or a failing disk) may raise; anything else is a bug and keeps its traceback.
FILE_ERRORS = (ValueError, OSError)


def _command_degrade(args) -> int:
    from srlib.degrade import degrade
    from srlib.io import load_image, save_image

    plan = BatchPlan(args.inputs, args.output, args.overwrite, args.skip_existing)
    for index, source, target in plan.jobs("degrading"):
        try:
            image = load_image(source, max_pixels=args.max_pixels or None)
            save_image(target, degrade(image, args.degradation, scale=args.scale, seed=[args.seed, index]),
                       overwrite=args.overwrite)
        except FILE_ERRORS as error:
            plan.fail(source, error)
    return plan.report("written")


def _command_upscale(args) -> int:
    import warnings

    from srlib import enlarge

    enlarge.output_size(1, 1, 1, args.outscale, args.width, args.height)  # bad combinations before any work
    plan = BatchPlan(args.inputs, args.output, args.overwrite, args.skip_existing,
                     suffix=lambda source: enlarge.output_suffix(source, args.format))
    upscaler = enlarge.Upscaler(args.model, device=args.device, backend=args.backend, precision=args.precision,
                                tile=args.tile, self_ensemble=args.self_ensemble, progress=len(plan.sources) < 2,
                                strength=args.strength, steps=args.steps, seed=args.seed)
    print(upscaler.describe())
    for _, source, target in plan.jobs(f"upscaling x{upscaler.scale}"):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", enlarge.UpscaleWarning)
                enlarge.upscale_file(source, target, upscaler, quality=args.quality, outscale=args.outscale,
                                     width=args.width, height=args.height, overwrite=args.overwrite,
                                     max_pixels=args.max_pixels or None)
        except FILE_ERRORS as error:
            plan.fail(source, error)
        for warning in caught:
            if issubclass(warning.category, enlarge.UpscaleWarning):
                print(f"warning: {warning.message}", file=sys.stderr)
            else:
                warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return plan.report("upscaled")


def _command_models(args) -> int:
    from srlib import zoo

    print(zoo.describe())
    return 0


def _command_evaluate(args) -> int:
    from srlib import zoo
    from srlib.samples import load_folder

    images = load_folder(args.folder, progress=True)
    model, metadata = zoo.load_model(args.model, device=args.device, strength=args.strength, steps=args.steps,
                                     seed=args.seed)
    if args.degradation == "ladder":
        return _evaluate_ladder(args, images, model, metadata)
    table = zoo.evaluate_model(model, images, metadata, self_ensemble=args.self_ensemble, progress=True,
                               precision=args.precision, degradation=args.degradation)
    how = (f"degraded as in training: {metadata['degradation']['name']}" if args.degradation is None else
           f"degraded with {args.degradation}, seed [0, index]")
    print(f"{_model_label(metadata)} on {len(images)} images of {args.folder} ({how} x{metadata['scale']}; Y channel, "
          f"{metadata['scale']}-pixel border)\n")
    print(table.to_markdown(per_image=True))
    if args.output:
        table.save_json(Path(args.output).with_suffix(".json"))
        Path(args.output).with_suffix(".md").write_text(table.to_markdown(per_image=True) + "\n")
    return 0


def _model_label(metadata: dict) -> str:
    """The model's name, with its strength or its sampler when it has one (``real-x4 at strength 0.5``,
    ``diffusion-x4, 4 sampling steps, seed 1``)."""
    label = metadata["name"] + (f" at strength {metadata['strength']:g}" if "strength" in metadata else "")
    if "sampler" in metadata:
        label += f", {metadata['sampler']['num_steps']} sampling steps, seed {metadata['sampler']['seed']}"
    return label


def _evaluate_ladder(args, images: dict, model, metadata: dict) -> int:
    """``srlib evaluate --degradation ladder``: one row per rung of the damage ladder."""
    import json

    from srlib import zoo

    result = zoo.evaluate_degradations(model, images, metadata, self_ensemble=args.self_ensemble,
                                       precision=args.precision, progress=True)
    print(f"{_model_label(metadata)} on {len(images)} images of {args.folder} at every rung of the damage ladder "
          f"(x{metadata['scale']}, seed [0, index]; Y channel, {metadata['scale']}-pixel border)\n")
    table = zoo.degradations_markdown(result, metadata["name"])
    print(table)
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.with_suffix(".json").write_text(json.dumps({"model": metadata["name"], "ladder": result}, indent=2) + "\n")
        output.with_suffix(".md").write_text(table + "\n")
    return 0


def _command_export(args) -> int:
    from srlib import zoo
    from srlib.export import check_onnx, export_onnx

    model, metadata = zoo.load_model(args.model, device="cpu")
    path = export_onnx(model, metadata, args.output, overwrite=args.overwrite, opset=args.opset)
    scale, _ = zoo.scale_and_multiple(metadata)
    size = f"{scale}H, {scale}W" if scale > 1 else "H, W"
    takes = ("the low-resolution image" if scale > 1 else
             f"the image already enlarged x{metadata['scale']} with MATLAB's bicubic (srlib.resize.upscale_bicubic)")
    print(f"written {path} ({path.stat().st_size / 1e6:.1f} MB, opset {args.opset}): input 'image' (N, 3, H, W) "
          f"float32 RGB in [0, 1], any H and W; {takes}; output 'output' (N, 3, {size}), clip to [0, 1]")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("not checked: the onnxruntime package is not installed (pip install onnxruntime)")
        return 0
    difference = check_onnx(path, model, metadata)
    print(f"checked with ONNX Runtime: largest difference from PyTorch's output {difference:.1e} (61x83 random image)")
    if difference > 1e-3:
        print(f"error: {path}: ONNX Runtime's output differs from PyTorch's by {difference:.1e} (more than 1e-3)",
              file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srlib", description="Image super-resolution tools from the srlib tutorials.")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="write the offline sample photographs to data/samples",
                               description="Write the sample photographs shipped by installed packages as PNG, "
                                           "with manifest.json (name, source package, licence, size).",
                               epilog=EXAMPLES["data"])
    data.add_argument("--dest", default=None, help="destination folder (default: data/samples)")
    data.add_argument("--splits", nargs="+", default=["train", "valid"], choices=["train", "valid", "extra"])
    data.add_argument("--no-wallpapers", dest="wallpapers", action="store_false",
                      help="skip the 35 Debian photographs of the full training pool (11 Plasma wallpapers "
                           "and 24 of other packages, fetched with apt-get download when not installed)")
    data.set_defaults(run=_command_data)

    baseline = commands.add_parser("baseline", help="bicubic PSNR/SSIM/HFEN on the validation photos",
                                   description="Score bicubic upscaling (MATLAB bicubic down, then up) on the "
                                               "validation photos: the number every model must beat.",
                                   epilog=EXAMPLES["baseline"])
    baseline.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    baseline.add_argument("--folder", default=None,
                          help="a folder with a valid/ subfolder of your own images (default: the samples)")
    baseline.add_argument("--per-image", action="store_true", help="one row per image as well as the means")
    baseline.add_argument("--output", default=None, help="also write OUTPUT.md and OUTPUT.json")
    baseline.set_defaults(run=_command_baseline)

    degrade = commands.add_parser("degrade", help="degrade images the way the tutorials do",
                                  description="Degrade image files or folders; writes OUTDIR/<stem>.png.",
                                  epilog=EXAMPLES["degrade"])
    degrade.add_argument("inputs", nargs="+", help="image files or folders")
    degrade.add_argument("-o", "--output", required=True, help="output folder")
    degrade.add_argument("--degradation", default="bicubic",
                         choices=DEGRADATIONS.names(),
                         help="how to degrade (default bicubic); clean, mild, moderate and heavy are the rungs of "
                              "the damage ladder for camera-like inputs, ladder-mix draws one per image")
    degrade.add_argument("--scale", type=int, default=2)
    degrade.add_argument("--seed", type=int, default=0)
    _batch_arguments(degrade)
    degrade.set_defaults(run=_command_degrade)

    upscale = commands.add_parser("upscale", help="enlarge images with a model from the zoo",
                                  description="Enlarge image files or folders with a zoo model; writes\n"
                                              "OUTDIR/<stem>.<format>, `scale` times the input size unless --outscale,\n"
                                              "--width or --height says otherwise. The output keeps the input's\n"
                                              "transparency, bit depth, grey, ICC profile, EXIF and format. Large images\n"
                                              "go through in overlapping tiles sized from the free memory; a GPU is\n"
                                              "used when there is one. `srlib models` lists the models.",
                                  epilog=EXAMPLES["upscale"], formatter_class=argparse.RawDescriptionHelpFormatter)
    upscale.add_argument("inputs", nargs="+", help="image files or folders")
    upscale.add_argument("-o", "--output", required=True, help="output folder")
    upscale.add_argument("--model", default="edsr-x4", help="zoo model name or a .safetensors file (default edsr-x4, for clean images; real-x4 "
                         "for photos from a camera or a phone; `srlib models` says which suits what)")
    upscale.add_argument("--format", default="same", choices=["same", "png", "jpg", "webp", "tiff"],
                         help="output format (default same: the input's; BMP and GIF become PNG). JPEG has no "
                              "transparency: it is composited over white, with a warning")
    upscale.add_argument("--quality", type=_checked_by("quality_level"), default=95,
                         help="JPEG and WebP quality, 1-100 (default 95)")
    upscale.add_argument("--outscale", type=_checked_by("positive_factor"), default=None, metavar="F",
                         help="output size F times the input (any F > 0): the model's scale, then an antialiased "
                              "resize to round(size * F)")
    upscale.add_argument("--width", type=_checked_by("positive_size"), default=None,
                         help="output width in pixels (the height follows the aspect ratio unless --height is given)")
    upscale.add_argument("--height", type=_checked_by("positive_size"), default=None,
                         help="output height in pixels (the width follows unless --width is given)")
    upscale.add_argument("--tile", type=_checked_by("tile_side"), default="auto",
                         help="tile side in input pixels (default auto: sized from the free memory of the device, "
                              "halved after an out-of-memory error); 0 for whole images")
    upscale.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime"],
                         help="auto (default): ONNX Runtime (float32) on a CPU without native bfloat16 when it is "
                              "installed, else PyTorch")
    upscale.add_argument("--self-ensemble", action="store_true",
                         help="average the 8 flips and rotations (EDSR+): 8x slower, slightly more accurate")
    _strength_argument(upscale)
    _sampler_arguments(upscale)
    upscale.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: a GPU if there is one)")
    _precision_argument(upscale)
    _batch_arguments(upscale)
    upscale.set_defaults(run=_command_upscale)

    models = commands.add_parser("models", help="list the model zoo", description="The trained models shipped "
                                 "with srlib: scale, degradation, parameters, validation PSNR.",
                                 epilog=EXAMPLES["models"])
    models.set_defaults(run=_command_models)

    evaluate = commands.add_parser("evaluate", help="score a zoo model on your own high-resolution photos",
                                   description="Degrade the originals in FOLDER the way the model was trained, "
                                               "upscale them, and print PSNR/SSIM/HFEN against bicubic per image "
                                               "and on average (Y channel, border of `scale` pixels cropped).",
                                   epilog=EXAMPLES["evaluate"])
    evaluate.add_argument("folder", help="a folder of high-resolution images")
    evaluate.add_argument("--model", default="edsr-x4", help="zoo model name (default edsr-x4)")
    evaluate.add_argument("--self-ensemble", action="store_true", help="average the 8 flips and rotations")
    _strength_argument(evaluate)
    _sampler_arguments(evaluate)
    evaluate.add_argument("--degradation", default=None,
                          choices=[*DEGRADATIONS.names(scaled=True), "ladder"],
                          help="degrade the originals this way instead of the model's own (realistic: blur, noise "
                               "and JPEG, like a camera's photos; clean, mild, moderate, heavy: a rung of the "
                               "damage ladder); ladder: score at every rung, one row each (PSNR, bicubic's, the "
                               "mean gain and the worst photo's gain)")
    evaluate.add_argument("--device", default=None, help="cpu, cuda ... (default: a GPU if there is one)")
    _precision_argument(evaluate)
    evaluate.add_argument("--output", default=None, help="also write OUTPUT.md and OUTPUT.json")
    evaluate.set_defaults(run=_command_evaluate)

    export = commands.add_parser("export", help="write a zoo model as an ONNX file",
                                 description="Write a zoo model as ONNX (dynamic batch, height and width; "
                                             "sizes the network cannot take are padded inside the graph) and "
                                             "check it against PyTorch with ONNX Runtime when it is installed.",
                                 epilog=EXAMPLES["export"])
    export.add_argument("model", help="zoo model name or a .safetensors file with its .json")
    export.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    export.add_argument("--opset", type=int, default=17, help="ONNX operator set (default 17)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing file")
    export.set_defaults(run=_command_export)
    return parser


def _checked_by(name: str):
    """An argparse ``type`` that checks a value with ``srlib.enlarge.<name>`` (imported only when
    the option is given) and turns its ``ValueError`` into argparse's one-line error."""
    def check(text):
        from srlib import enlarge

        try:
            return getattr(enlarge, name)(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    check.__name__ = name
    return check


def _strength_argument(parser) -> None:
    parser.add_argument("--strength", type=_checked_by("strength_level"), default=None, metavar="S",
                        help="for a camera model (real-x4): 0 = the faithful model it was fine-tuned from (edsr-x4), "
                             "1 = full restoration, between them the two networks' weights interpolated (default: "
                             "the model's own, `srlib models`); an error for other models")


def _sampler_arguments(parser) -> None:
    parser.add_argument("--steps", type=_checked_by("step_count"), default=None, metavar="N",
                        help="for a diffusion model (diffusion-x4): sampling steps, 1 (fastest, smoothest) to its "
                             "training steps (default: the model's own, `srlib models`); an error for other models")
    parser.add_argument("--seed", type=_checked_by("seed_number"), default=None, metavar="S",
                        help="for a diffusion model: the seed of its noise (the same seed, the same output; "
                             "default: the model's own)")


def _precision_argument(parser) -> None:
    from srlib.config import PRECISIONS

    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto (default): bfloat16 + channels-last where the CPU or GPU computes bfloat16 "
                             "natively (AVX-512-BF16, AMX, Ampere or newer), else float32; fp32 or bf16 to force one")


def _batch_arguments(parser) -> None:
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace existing output files")
    existing.add_argument("--skip-existing", action="store_true",
                          help="leave existing outputs alone and do the rest (resume an interrupted batch)")
    parser.add_argument("--max-pixels", type=int, default=100_000_000,
                        help="refuse larger inputs (decompression bombs); default 100 million, 0 for no limit")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        status = args.run(args)
    except (ValueError, OSError) as error:  # OSError: FileNotFoundError, PermissionError, a full disk...
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.command in ("data", "baseline"):
        print(f"({time.perf_counter() - started:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
