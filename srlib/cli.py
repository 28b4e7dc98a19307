"""The ``srlib`` command line (installed with the package; ``python -m srlib`` works too).

    srlib data                      write the sample photographs to data/samples with a manifest
    srlib baseline --scales 2 3 4   bicubic PSNR/SSIM/HFEN of the validation photos
    srlib degrade IN... -o OUT      degrade your own images (bicubic, downup, crappify, realistic)

Each subcommand's ``--help`` gives an example. Errors name the file and the reason, and end the
command with a non-zero status instead of a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXAMPLES = {
    "data": "example: srlib data --dest data/samples",
    "baseline": "example: srlib baseline --scales 2 3 4 --output results/bicubic",
    "degrade": "example: srlib degrade photos/ -o photos_x4 --degradation bicubic --scale 4",
}


def _command_data(args) -> int:
    from srlib.samples import write_samples

    destination = write_samples(args.dest, splits=tuple(args.splits))
    print(f"sample photographs written to {destination} (manifest: {destination / 'manifest.json'})")
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


def _command_degrade(args) -> int:
    from tqdm.auto import tqdm

    from srlib.degrade import degrade
    from srlib.io import list_images, load_image, save_image

    inputs: list[Path] = []
    for item in map(Path, args.inputs):
        if item.is_dir():
            inputs.extend(list_images(item))
        elif item.exists():
            inputs.append(item)
        else:
            print(f"error: {item}: no such file or folder", file=sys.stderr)
            return 2
    output = Path(args.output)
    if any(path.parent.resolve() == output.resolve() for path in inputs) and not args.overwrite:
        print(f"error: the output folder {output} holds input images; choose another folder", file=sys.stderr)
        return 2
    output.mkdir(parents=True, exist_ok=True)
    failures = []
    for index, path in enumerate(tqdm(inputs, desc="degrading", disable=len(inputs) < 2)):
        target = output / f"{path.stem}.png"
        try:
            image = load_image(path)
            save_image(target, degrade(image, args.degradation, scale=args.scale, seed=[args.seed, index]),
                       overwrite=args.overwrite)
        except (ValueError, FileExistsError, FileNotFoundError) as error:
            failures.append(str(error))
    print(f"{len(inputs) - len(failures)} of {len(inputs)} images written to {output}")
    for message in failures:
        print(f"failed: {message}", file=sys.stderr)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srlib", description="Image super-resolution tools from the srlib tutorials.")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="write the offline sample photographs to data/samples",
                               description="Write the sample photographs shipped by installed packages as PNG, "
                                           "with manifest.json (name, source package, licence, size).",
                               epilog=EXAMPLES["data"])
    data.add_argument("--dest", default=None, help="destination folder (default: data/samples)")
    data.add_argument("--splits", nargs="+", default=["train", "valid"], choices=["train", "valid", "extra"])
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
    degrade.add_argument("--degradation", default="bicubic", choices=["bicubic", "downup", "crappify", "realistic"])
    degrade.add_argument("--scale", type=int, default=2)
    degrade.add_argument("--seed", type=int, default=0)
    degrade.add_argument("--overwrite", action="store_true", help="replace existing output files")
    degrade.set_defaults(run=_command_degrade)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        status = args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
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
