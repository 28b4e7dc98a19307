"""The offline sample photographs: colour photos shipped inside installed Python packages.

No benchmark set (Set5, DIV2K, ...) can be downloaded here, so the tutorials train and validate
on photographs that scikit-image, sporco, scikit-learn and matplotlib carry in their wheels.
The split is fixed: ``train`` photos are only ever trained on; ``valid`` photos (a cat, a coffee
cup, Kodak's parrots, Set14's monarch, a flower) only ever scored. ``extra`` photos are
registered but unused by default (a near-duplicate stereo view and two non-photographic images).

``srlib data`` (:func:`write_samples`) writes them to ``data/samples/<split>/<name>.png`` with a
``manifest.json``. :func:`load_split` reads that folder, or any folder of your own images.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (Data section).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from srlib.config import data_dir
from srlib.io import list_images, load_image, save_image

SPLITS = ("train", "valid", "extra")


@dataclass(frozen=True)
class SamplePhoto:
    """One registered photograph: where it comes from and under which licence."""

    name: str
    package: str  # the PyPI package that ships it
    resource: str  # "module:relative/path" inside that package
    split: str
    licence: str
    credit: str

    def path(self) -> Path:
        """The file inside the installed package (raises ``ModuleNotFoundError`` if missing)."""
        module, relative = self.resource.split(":")
        return Path(str(resources.files(module).joinpath(relative)))

    def load(self) -> np.ndarray:
        """The photo as HxWx3 float32 RGB in [0, 1]."""
        return load_image(self.path())


_SKIMAGE = "scikit-image"
_CC0 = "CC0 1.0"
_PD = "public domain"
SAMPLE_PHOTOS = [
    # train
    SamplePhoto("astronaut", _SKIMAGE, "skimage.data:astronaut.png", "train", _PD, "NASA (Eileen Collins)"),
    SamplePhoto("rocket", _SKIMAGE, "skimage.data:rocket.jpg", "train", _PD, "SpaceX"),
    SamplePhoto("hubble_deep_field", _SKIMAGE, "skimage.data:hubble_deep_field.jpg", "train", _PD, "NASA"),
    SamplePhoto("motorcycle_left", _SKIMAGE, "skimage.data:motorcycle_left.png", "train",
                "redistributed by scikit-image (BSD-3-Clause package)",
                "Middlebury 2014 stereo benchmark, Scharstein et al."),
    SamplePhoto("barbara", "sporco", "sporco:data/barbara.png", "train", "free to redistribute (sporco)",
                "attributed to Allen Gersho; classic test image"),
    SamplePhoto("sail", "sporco", "sporco:data/sail.png", "train", "free of copyright restrictions",
                "Waterloo BragZone"),
    SamplePhoto("tulips", "sporco", "sporco:data/tulips.png", "train", "free of copyright restrictions",
                "Waterloo BragZone"),
    SamplePhoto("china", "scikit-learn", "sklearn.datasets:images/china.jpg", "train", "CC BY 2.0",
                "danielbuechele on Flickr"),
    SamplePhoto("grace_hopper", "matplotlib", "matplotlib:mpl-data/sample_data/grace_hopper.jpg", "train", _PD,
                "US Navy"),
    # valid
    SamplePhoto("chelsea", _SKIMAGE, "skimage.data:chelsea.png", "valid", _CC0, "Stefan van der Walt"),
    SamplePhoto("coffee", _SKIMAGE, "skimage.data:coffee.png", "valid", _CC0, "Rachel Michetti"),
    SamplePhoto("kodim23", "sporco", "sporco:data/kodim23.png", "valid", "released for unrestricted use",
                "Eastman Kodak (Kodak PhotoCD test image 23)"),
    SamplePhoto("monarch", "sporco", "sporco:data/monarch.png", "valid", "free of copyright restrictions",
                "Waterloo BragZone (also in Set14)"),
    SamplePhoto("flower", "scikit-learn", "sklearn.datasets:images/flower.jpg", "valid", "CC BY 2.0",
                "vultilion on Flickr"),
    # extra: registered, not used by default
    SamplePhoto("motorcycle_right", _SKIMAGE, "skimage.data:motorcycle_right.png", "extra",
                "redistributed by scikit-image (BSD-3-Clause package)",
                "Middlebury 2014 stereo benchmark (near-duplicate of motorcycle_left)"),
    SamplePhoto("immunohistochemistry", _SKIMAGE, "skimage.data:ihc.png", "extra",
                "no known copyright restrictions", "scikit-image (microscopy, not a photograph)"),
    SamplePhoto("retina", _SKIMAGE, "skimage.data:retina.jpg", "extra", _CC0,
                "Häggström, Mikael (fundus photograph)"),
]
SAMPLES = {photo.name: photo for photo in SAMPLE_PHOTOS}


def sample_names(split: str) -> list[str]:
    """Names of the registered photos in ``split`` ('train', 'valid' or 'extra'), in order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    return [photo.name for photo in SAMPLE_PHOTOS if photo.split == split]


def samples_dir() -> Path:
    """``<data>/samples``, where :func:`write_samples` puts the photos."""
    return data_dir() / "samples"


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def write_samples(destination=None, splits=("train", "valid"), progress: bool = True) -> Path:
    """Write the registered photos of ``splits`` as 8-bit PNG to ``destination/<split>/<name>.png``.

    Also writes ``destination/manifest.json``: one record per photo with name, split, source
    package, licence, credit, height, width and a checksum of the pixels. Files already present
    with the right checksum are left alone, so running it twice costs nothing; a file that
    differs (edited by hand?) is not overwritten: a ``FileExistsError`` says which.
    Returns ``destination`` (default :func:`samples_dir`).
    """
    destination = Path(destination) if destination is not None else samples_dir()
    photos = [photo for photo in SAMPLE_PHOTOS if photo.split in splits]
    manifest_path = destination / "manifest.json"
    old = {}
    if manifest_path.exists():
        old = {record["name"]: record for record in json.loads(manifest_path.read_text())["photos"]}
    records = []
    for photo in tqdm(photos, desc="sample photos", disable=not progress):
        image = np.round(photo.load() * 255).astype(np.uint8)
        target = destination / photo.split / f"{photo.name}.png"
        record = {**{k: v for k, v in asdict(photo).items() if k != "resource"},
                  "file": str(target.relative_to(destination)), "height": image.shape[0],
                  "width": image.shape[1], "sha256_pixels": _digest(image)}
        if target.exists():
            if old.get(photo.name, {}).get("sha256_pixels") != record["sha256_pixels"] or \
                    _digest(np.round(load_image(target) * 255).astype(np.uint8)) != record["sha256_pixels"]:
                raise FileExistsError(f"{target}: exists and differs from the packaged photo; "
                                      "move it away to regenerate the samples")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(target, image)
        records.append(record)
    destination.mkdir(parents=True, exist_ok=True)
    manifest = {"description": "Sample photographs shipped by Python packages; written by `srlib data`.",
                "photos": records}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return destination


def load_folder(folder, progress: bool = False) -> dict[str, np.ndarray]:
    """Every image directly in ``folder`` as ``{file stem: HxWx3 float32 array}``, sorted by name.

    Point this at your own photos (DIV2K, pets, anything) to use them in place of the samples.
    A file that is not a readable image raises ``ValueError`` naming it.
    """
    paths = list_images(folder)
    if not paths:
        raise ValueError(f"{folder}: contains no image files ({', '.join(('.png', '.jpg', '...'))})")
    return {path.stem: load_image(path) for path in tqdm(paths, desc=f"loading {Path(folder).name}",
                                                          disable=not progress)}


def load_split(split: str, folder=None) -> dict[str, np.ndarray]:
    """The photos of ``split`` as ``{name: HxWx3 float32 array}``.

    Read from ``folder/<split>`` when given, else from ``data/samples/<split>`` if
    ``srlib data`` has written it, else straight from the installed packages.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    if folder is not None:
        return load_folder(Path(folder) / split)
    prepared = samples_dir() / split
    names = sample_names(split)
    if prepared.is_dir() and all((prepared / f"{name}.png").exists() for name in names):
        return {name: load_image(prepared / f"{name}.png") for name in names}
    return {name: SAMPLES[name].load() for name in names}


#: Photographs in Debian's ``plasma-workspace-wallpapers`` (``apt-get install plasma-workspace-wallpapers``,
#: 94 MB; the package's copyright file gives each picture's licence). Optional extra training data
#: for the model zoo's classic models; never shipped, never needed by the tutorials.
WALLPAPERS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
              "Kite", "OneStandsOut", "Path", "summer_1am")


def write_wallpapers(destination=None, source="/usr/share/wallpapers", reduce: int = 2) -> Path:
    """Write the largest version of each of :data:`WALLPAPERS`, reduced ``reduce`` times with
    MATLAB bicubic (which also removes most JPEG artefacts), as PNG to ``data/wallpapers``.

    Raises ``FileNotFoundError`` naming the package when the wallpapers are not installed.
    """
    from srlib.resize import imresize

    destination = Path(destination) if destination else data_dir() / "wallpapers"
    destination.mkdir(parents=True, exist_ok=True)
    for name in tqdm(WALLPAPERS, desc="wallpapers"):
        images = sorted(Path(source, name, "contents", "images").glob("*.jpg"),
                        key=lambda path: int(path.stem.split("x")[0]) * int(path.stem.split("x")[1]))
        if not images:
            raise FileNotFoundError(f"{Path(source, name)}: missing; run `apt-get install plasma-workspace-wallpapers`")
        target = destination / f"{name}.png"
        if not target.exists():
            save_image(target, imresize(load_image(images[-1]), scale=1.0 / reduce))
    return destination
