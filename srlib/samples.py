"""The offline sample photographs: colour photos shipped inside installed Python packages.

No benchmark set (Set5, DIV2K, ...) can be downloaded here, so the tutorials train and validate
on photographs that scikit-image, sporco, scikit-learn and matplotlib carry in their wheels.
The split is fixed: ``train`` photos are only ever trained on; ``valid`` photos (a cat, a coffee
cup, Kodak's parrots, Set14's monarch, a flower) only ever scored. ``extra`` photos are
registered but unused by default (a near-duplicate stereo view and two non-photographic images).

``srlib data`` (:func:`write_samples`) writes them to ``data/samples/<split>/<name>.png`` with a
``manifest.json``. :func:`load_split` reads that folder, or any folder of your own images.

**The training pool** (:func:`load_pool`), shared by every tutorial: the train split plus 11
photographs from Debian's ``plasma-workspace-wallpapers`` (:data:`WALLPAPERS`, reduced to
1280x800 by :func:`write_wallpapers`, which fetches the package with ``apt-get download`` when it
is not installed). Fast mode trains on the train split alone, full mode on the whole pool.
OpenCV's example images (Debian ``opencv-doc``) and ``mate-backgrounds`` are never in it: we keep
them for independent evaluation.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` and ``02_unet_pixel_loss.ipynb`` (Data sections).
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
from srlib.io import IMAGE_SUFFIXES, list_images, load_image, save_image, unreadable_entry

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
    A file that is not a readable image raises ``ValueError`` naming it, and so does an entry
    with an image suffix that is no readable file (a dangling link, a folder: a score over the
    folder must not silently leave a photo out) or two files of one stem (``a.png``, ``a.jpg``).
    """
    broken = [f"{entry}: {why}" for entry in sorted(Path(folder).iterdir()) if entry.suffix.lower() in IMAGE_SUFFIXES
              and (why := unreadable_entry(entry))] if Path(folder).is_dir() else []
    if broken:
        raise ValueError("; ".join(broken))
    paths = list_images(folder)
    if not paths:
        raise ValueError(f"{folder}: contains no image files ({', '.join(('.png', '.jpg', '...'))})")
    stems = {}
    for path in paths:
        if path.stem in stems:
            raise ValueError(f"{stems[path.stem]} and {path.name} in {folder} share the name {path.stem!r}: "
                             "rename one, the results are listed by name")
        stems[path.stem] = path.name
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


#: The photographs in Debian's ``plasma-workspace-wallpapers`` (94 MB; the package's copyright file
#: gives each picture's author, all LGPL-3). The package's other wallpapers are paintings or
#: vector art (``Autumn`` is a painting) and stay out. Never shipped with srlib; see :func:`write_wallpapers`.
WALLPAPERS = ("BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
              "Kite", "OneStandsOut", "Path", "summer_1am")
WALLPAPER_PACKAGE = "plasma-workspace-wallpapers"
#: The sources of :func:`load_pool`: the sample photos' train split, the Plasma wallpapers, and
#: the photographs of other Debian packages (:data:`PHOTOS`).
POOL_SOURCES = ("samples", "wallpapers", "photos")


def wallpapers_dir() -> Path:
    """``<data>/wallpapers``, where :func:`write_wallpapers` puts the reduced wallpapers."""
    return data_dir() / "wallpapers"


def fetch_package(package: str, workdir: Path) -> Path:
    """Download the Debian package ``package`` with ``apt-get download`` (no root needed) and unpack
    it with ``dpkg-deb -x`` into ``workdir/<package>``; return that folder (the package's root)."""
    import shutil
    import subprocess

    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool}: not found, so the {package} package cannot be fetched")
    done = subprocess.run(["apt-get", "download", package], cwd=workdir, capture_output=True, text=True)
    packages = sorted(Path(workdir).glob(f"{package}_*.deb"))
    if done.returncode or not packages:
        raise FileNotFoundError(f"apt-get download {package}: failed ({done.stderr.strip()[-300:]})")
    root = Path(workdir) / package
    unpacked = subprocess.run(["dpkg-deb", "-x", str(packages[0]), str(root)], capture_output=True, text=True)
    if unpacked.returncode:
        raise FileNotFoundError(f"{packages[0]}: dpkg-deb -x failed ({unpacked.stderr.strip()[-300:]})")
    packages[0].unlink()
    return root


def fetch_wallpaper_package(workdir: Path) -> Path:
    """:func:`fetch_package` for :data:`WALLPAPER_PACKAGE`; returns its ``usr/share/wallpapers``."""
    return fetch_package(WALLPAPER_PACKAGE, Path(workdir)) / "usr" / "share" / "wallpapers"


def write_wallpapers(destination=None, source=None, reduce: int = 2, progress: bool = True) -> Path:
    """Write the largest version of each of :data:`WALLPAPERS`, reduced ``reduce`` times with
    MATLAB bicubic (which also removes most JPEG artefacts: 2560x1600 becomes 1280x800), as PNG
    to ``destination`` (default ``data/wallpapers``). Files already there are kept.

    ``source`` is the package's ``wallpapers`` folder; by default ``/usr/share/wallpapers`` when
    the package is installed, else the package is fetched from Debian's registry with
    ``apt-get download`` into a temporary folder (94 MB, no root needed) and deleted afterwards.
    Raises ``FileNotFoundError`` saying what to install when neither works.
    """
    import tempfile

    from srlib.resize import imresize

    destination = Path(destination) if destination else wallpapers_dir()
    missing = [name for name in WALLPAPERS if not (destination / f"{name}.png").exists()]
    if not missing:
        return destination
    with tempfile.TemporaryDirectory(prefix="srlib-wallpapers-") as workdir:
        if source is None:
            installed = Path("/usr/share/wallpapers")
            source = installed if (installed / WALLPAPERS[0]).is_dir() else fetch_wallpaper_package(Path(workdir))
        destination.mkdir(parents=True, exist_ok=True)
        for name in tqdm(missing, desc="wallpapers", disable=not progress):
            images = sorted(Path(source, name, "contents", "images").glob("*.jpg"),
                            key=lambda path: int(path.stem.split("x")[0]) * int(path.stem.split("x")[1]))
            if not images:
                raise FileNotFoundError(f"{Path(source, name)}: missing; install Debian's {WALLPAPER_PACKAGE} "
                                        f"(or run `srlib data` where apt-get can reach Debian)")
            save_image(destination / f"{name}.png", imresize(load_image(images[-1]), scale=1.0 / reduce))
    return destination


@dataclass(frozen=True)
class PackagePhoto:
    """A photograph inside a Debian package: its file there, its author and its licence."""

    name: str
    package: str
    path: str
    credit: str
    licence: str


_LOMIRI = "usr/share/backgrounds"
_LXQT = "usr/share/lxqt/wallpapers"
_STEF = "Stef Binde (stefonarch), LXQt wallpapers"
#: Photographs (no renders, drawings or gradients) from four Debian wallpaper and theme packages,
#: each checked by eye: Ubuntu Touch's 2018 wallpaper contest (``lomiri-wallpapers-16.04``), one
#: of ``lomiri-wallpapers-20.04``, nine of LXQt's and the SDDM Maldives theme's beach. Every
#: licence allows redistributing derivatives; all but the CC0 photo need the credit given here.
#: :func:`write_photos` writes them reduced; ``mate-backgrounds`` and ``opencv-doc`` stay out.
PHOTOS = (
    PackagePhoto("bridge", "lomiri-wallpapers-16.04", f"{_LOMIRI}/Bridge_by_Sander_Klootwijk.jpg",
                 "Sander Klootwijk, 2018", "CC-BY-SA-4.0"),
    PackagePhoto("dragonfly", "lomiri-wallpapers-16.04", f"{_LOMIRI}/Dragonfly_by_Bolly.jpg", "Bolly, 2018",
                 "CC-BY-SA-4.0"),
    PackagePhoto("picture_0b", "lomiri-wallpapers-16.04", f"{_LOMIRI}/Picture_0B_by_freespace.jpg",
                 "Trevor \"Freespace\", 2018", "CC-BY-4.0"),
    PackagePhoto("wine", "lomiri-wallpapers-16.04", f"{_LOMIRI}/Wine_by_Jakkub_Mede.jpg", "Jakub Mede, 2018",
                 "CC-BY-4.0"),
    PackagePhoto("aitzgorri", "lomiri-wallpapers-16.04", f"{_LOMIRI}/aitzgorri_by_Aitzol_Berasategi.jpg",
                 "Aitzol Berasategi, 2018", "CC-BY-4.0"),
    PackagePhoto("analogpattern", "lomiri-wallpapers-16.04", f"{_LOMIRI}/analogpattern_by_Peter_Nerlich.jpg",
                 "Peter Nerlich, 2018", "CC-BY-SA-4.0"),
    PackagePhoto("free", "lomiri-wallpapers-16.04", f"{_LOMIRI}/free_by_Peter_Nerlich.jpg", "Peter Nerlich, 2018",
                 "CC-BY-SA-4.0"),
    PackagePhoto("friends", "lomiri-wallpapers-16.04", f"{_LOMIRI}/friends_by_Aitzol_Berasategi.jpg",
                 "Aitzol Berasategi, 2018", "CC-BY-4.0"),
    PackagePhoto("greentock", "lomiri-wallpapers-16.04", f"{_LOMIRI}/greentock_by_Peter_Nerlich.jpg",
                 "Peter Nerlich, 2018", "CC-BY-SA-4.0"),
    PackagePhoto("life", "lomiri-wallpapers-16.04", f"{_LOMIRI}/life_by_Aitzol_Berasategi.jpg",
                 "Aitzol Berasategi, 2018", "CC-BY-4.0"),
    PackagePhoto("picosdeeuropa", "lomiri-wallpapers-16.04", f"{_LOMIRI}/picosdeeuropa_by_Aitzol_Berasategi.jpg",
                 "Aitzol Berasategi, 2018", "CC-BY-4.0"),
    PackagePhoto("seeding", "lomiri-wallpapers-16.04", f"{_LOMIRI}/seeding_by_Clements_Engelhardt.jpg",
                 "Clemens Engelhardt, 2018", "CC0-1.0"),
    PackagePhoto("sunset", "lomiri-wallpapers-16.04", f"{_LOMIRI}/sunset_by_Aitzol_Berasategi.jpg",
                 "Aitzol Berasategi, 2018", "CC-BY-4.0"),
    PackagePhoto("kleiber", "lomiri-wallpapers-20.04", f"{_LOMIRI}/Kleiber_by_Lukas_Baubkus.jpg",
                 "Lukas Baubkus, 2021", "CC-BY-SA-3.0"),
    PackagePhoto("after_the_rain", "lxqt-themes", f"{_LXQT}/after-the-rain.jpg", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("appleflower", "lxqt-themes", f"{_LXQT}/appleflower.png", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("beam", "lxqt-themes", f"{_LXQT}/beam.png", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("butterfly", "lxqt-themes", f"{_LXQT}/butterfly.png", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("cloud", "lxqt-themes", f"{_LXQT}/cloud.png", "LXQt Project Team", "CC-BY-SA-3.0"),
    PackagePhoto("drop", "lxqt-themes", f"{_LXQT}/drop.png", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("flowers", "lxqt-themes", f"{_LXQT}/flowers.png", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("fog", "lxqt-themes", f"{_LXQT}/fog.jpg", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("not_windows", "lxqt-themes", f"{_LXQT}/this-is-not-windows.jpg", _STEF, "CC-BY-SA-3.0"),
    PackagePhoto("maldives", "sddm-theme-maldives", "usr/share/sddm/themes/maldives/background.jpg",
                 "Nevit Dilmen, 2008", "CC-BY-3.0"),
)
#: The reduced photos' longest side, at most: each is shrunk by the smallest whole factor from 2 up
#: that brings it there (MATLAB bicubic, which also smooths away the JPEG artefacts of the
#: originals), so 4352x2448 becomes 1451x816 and 3000x1993 becomes 1500x997.
PHOTO_LONG_SIDE = 2048


def photos_dir() -> Path:
    """``<data>/photos``, where :func:`write_photos` puts the reduced photographs."""
    return data_dir() / "photos"


def photo_reduction(height: int, width: int, long_side: int | None = None) -> int:
    """The whole factor (2 or more) by which :func:`write_photos` shrinks a ``height`` x ``width``
    photo so that its longest side is at most ``long_side`` (default :data:`PHOTO_LONG_SIDE`)."""
    return max(2, -(-max(height, width) // (long_side or PHOTO_LONG_SIDE)))


def write_photos(destination=None, source=None, progress: bool = True) -> Path:
    """Write each of :data:`PHOTOS` reduced (:func:`photo_reduction`) as an RGB PNG to
    ``destination/<name>.png`` (default ``data/photos``), with ``credits.json`` (name, package,
    file, credit, licence, size) beside them. Files already there are kept.

    ``source``: a folder holding the packages' files (``source/<package>/<path>``); by default
    each missing photo's package is fetched from Debian's registry (:func:`fetch_package`, 52 MB in
    all, no root needed) into a temporary folder, deleted afterwards. Raises ``FileNotFoundError``
    naming the package and file when one cannot be had.
    """
    import tempfile

    from PIL import Image

    from srlib.io import atomic_write
    from srlib.resize import imresize

    destination = Path(destination) if destination else photos_dir()
    missing = [photo for photo in PHOTOS if not (destination / f"{photo.name}.png").exists()]
    if missing:
        destination.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="srlib-photos-") as workdir:
            roots = {}
            for photo in tqdm(missing, desc="photos", disable=not progress):
                if photo.package not in roots:
                    roots[photo.package] = (Path(source) / photo.package if source is not None
                                            else fetch_package(photo.package, Path(workdir)))
                path = roots[photo.package] / photo.path
                if not path.exists():
                    raise FileNotFoundError(f"{path}: missing from Debian's {photo.package} package; "
                                            f"run `srlib data` where apt-get can reach Debian")
                image = load_image(path)
                reduced = imresize(image, scale=1.0 / photo_reduction(*image.shape[:2]))
                save_image(destination / f"{photo.name}.png", reduced)
    credits = []
    for photo in PHOTOS:
        with Image.open(destination / f"{photo.name}.png") as image:
            width, height = image.size
        credits.append({"name": photo.name, "package": photo.package, "file": f"/{photo.path}",
                        "credit": photo.credit, "licence": photo.licence, "height": height, "width": width})
    text = json.dumps(credits, indent=1) + "\n"
    credits_path = destination / "credits.json"
    if not credits_path.exists() or credits_path.read_text() != text:
        atomic_write(credits_path, lambda temporary: Path(temporary).write_text(text))
    return destination


def load_pool(sources=POOL_SOURCES, progress: bool = False) -> dict[str, np.ndarray]:
    """The training pool shared by every tutorial: ``{name: HxWx3 float32 image}``.

    ``sources`` picks from :data:`POOL_SOURCES`: ``"samples"``, the 9 photos of the train split
    (300 to 1000 pixels a side); ``"wallpapers"``, 11 photographs of Debian's Plasma wallpapers at
    1280x800 (:func:`write_wallpapers` writes them on first use); ``"photos"``, 24 photographs of
    four other Debian packages, 1000 to 2000 pixels on their long side (:data:`PHOTOS`,
    :func:`write_photos`). The validation photos are never in the pool, nor are OpenCV's example
    images or ``mate-backgrounds``, which we keep for independent evaluation. Names are prefixed
    ``wallpaper_`` and ``photo_``.
    """
    unknown = [source for source in sources if source not in POOL_SOURCES]
    if unknown:
        raise ValueError(f"unknown pool source(s) {unknown}; choose from {POOL_SOURCES}")
    pool = {}
    if "samples" in sources:
        pool.update(load_split("train"))
    if "wallpapers" in sources:
        folder = write_wallpapers(progress=progress)
        pool.update({f"wallpaper_{name}": load_image(folder / f"{name}.png") for name in WALLPAPERS})
    if "photos" in sources:
        folder = write_photos(progress=progress)
        pool.update({f"photo_{photo.name}": load_image(folder / f"{photo.name}.png") for photo in PHOTOS})
    return pool
