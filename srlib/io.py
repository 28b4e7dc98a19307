"""Reading and writing image files: srlib's one form (RGB, HWC, float32 in [0, 1]), and whole files.

:func:`load_image` opens PNG, JPEG, TIFF, BMP, WebP and GIF files, 8- or 16-bit, grayscale,
RGB(A), CMYK or palette, turned upright by their EXIF orientation, as RGB. :func:`save_image`
writes an RGB or grey array as PNG (8- or 16-bit), JPEG, WebP, TIFF or BMP.

:func:`read_picture` opens the same files as a :class:`Picture`, which keeps what the file holds:
its channels (grey, grey + alpha, RGB, RGBA), its bit depth (8, 16, or 32 for floating-point TIFF),
its ICC profile and its EXIF; :func:`write_picture` writes one back, keeping what the format can
hold (:data:`FORMATS`). Pillow holds 8 bits per channel, so 16-bit PNG goes through OpenCV, and
16-bit and floating-point TIFF through tifffile (both pinned in requirements.txt).

Writes are atomic (a temporary file renamed into place) and never replace a file unless asked.
For runs that resume, in either framework: :func:`settings_text` / :func:`settings_match` decide
whether a checkpoint was written with this run's settings, and :func:`clear_states` deletes a
finished run's checkpoints.
Every failure raises ``FileNotFoundError`` or ``ValueError`` naming the file and the reason.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (Data section); ``srlib upscale`` keeps files'
kinds through :mod:`srlib.enlarge`.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from srlib.arrays import check_image, to_float
from srlib.config import main_process

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
#: Refuse images whose header declares more pixels than this: a "decompression bomb" is a small
#: file that expands to gigabytes (100 MP is already 1.2 GB as float32 RGB). Lift the limit
#: explicitly with ``max_pixels=None`` for genuinely huge photos.
DEFAULT_MAX_PIXELS = 100_000_000
ORIENTATION = 0x0112  # the EXIF tag
#: EXIF tags that describe the stored pixels, not the photograph: wrong once the pixels are turned
#: upright, enlarged or re-encoded, so they are not carried (the ICC profile travels on its own).
#: TIFF: sizes, samples, compression, photometric, strips, tiles, colour map, extra samples, ICC, XMP.
PIXEL_TAGS = frozenset({0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, ORIENTATION, 0x0115, 0x0116, 0x0117,
                        0x011C, 0x013D, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152, 0x0153, 0x0201, 0x0202,
                        0x0211, 0x0212, 0x0213, 0x02BC, 0x8773})
#: In the Exif sub-IFD: PixelXDimension and PixelYDimension.
PIXEL_EXIF_TAGS = frozenset({0xA002, 0xA003})
EXIF_IFD = 0x8769


@dataclass
class Picture:
    """An image file's pixels and what else it holds (:func:`read_picture`, :func:`write_picture`).

    Attributes:
        pixels: HxWxC float32 in [0, 1], upright; C is 1 (grey), 2 (grey, alpha), 3 (RGB) or
            4 (RGBA). Alpha is straight (colour not multiplied by it), 1 = opaque.
        bits: the precision of the file's samples: 8, 16, or 32 (floating-point TIFF).
        icc_profile: the embedded ICC profile (bytes), or None (sRGB by convention).
        exif: EXIF (bytes, as Pillow writes them) without :data:`PIXEL_TAGS` (the orientation is
            applied to ``pixels``), or None.
        format: Pillow's name of the file format (``"PNG"``, ``"JPEG"``, ``"TIFF"``...), or None.
        mode: the file's own kind, for messages: Pillow's mode (``"P"``, ``"CMYK"``, ``"I;16"``),
            or tifffile's photometric and dtype for TIFFs Pillow cannot hold.
    """

    pixels: np.ndarray
    bits: int = 8
    icc_profile: bytes | None = None
    exif: bytes | None = None
    format: str | None = None
    mode: str | None = None

    @property
    def grey(self) -> bool:
        return self.pixels.shape[2] in (1, 2)

    @property
    def has_alpha(self) -> bool:
        return self.pixels.shape[2] in (2, 4)

    @property
    def colour(self) -> np.ndarray:
        """HxWx1 (grey) or HxWx3 (RGB) float32: the pixels without alpha."""
        return self.pixels[..., :1] if self.grey else self.pixels[..., :3]

    @property
    def alpha(self) -> np.ndarray | None:
        """HxW float32 in [0, 1] (1 = opaque), or None."""
        return self.pixels[..., -1] if self.has_alpha else None


def flatten(picture: Picture, background: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> Picture:
    """``picture`` composited over ``background`` (RGB in [0, 1]), without alpha. Grey stays grey
    over a grey background (equal channels, such as the default white); otherwise it becomes RGB."""
    if not picture.has_alpha:
        return picture
    background = np.asarray(background, dtype=np.float32)
    colour, alpha = picture.colour, picture.alpha[..., None]
    if picture.grey and background.min() == background.max():
        background = background[:1]
    elif picture.grey:
        colour = np.repeat(colour, 3, axis=2)
    return replace(picture, pixels=colour * alpha + background * (1.0 - alpha))


def upright(pixels: np.ndarray, orientation) -> np.ndarray:
    """HxWxC ``pixels`` stored with EXIF ``orientation`` (1-8) turned the way viewers show them
    (``PIL.ImageOps.exif_transpose``'s operations, on an array of any dtype and channel count)."""
    operations = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
                  5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
                  7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
    operation = operations.get(orientation)
    return np.ascontiguousarray(operation(pixels)) if operation else pixels


def _kept_exif(exif: Image.Exif) -> bytes | None:
    """The EXIF worth carrying to a new file: all but :data:`PIXEL_TAGS` and :data:`PIXEL_EXIF_TAGS`."""
    for tag in PIXEL_TAGS & set(exif):
        del exif[tag]
    if EXIF_IFD in exif:
        sub_ifd = exif.get_ifd(EXIF_IFD)
        for tag in PIXEL_EXIF_TAGS & set(sub_ifd):
            del sub_ifd[tag]
    return exif.tobytes() if len(exif) else None


def _png_bit_depth(path: Path) -> int | None:
    """The bit depth stored in a PNG's IHDR chunk, or None if ``path`` is not a PNG."""
    with open(path, "rb") as handle:
        header = handle.read(26)
    if len(header) < 26 or header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return header[24]


def _read_16bit_png(path: Path, channels: int) -> np.ndarray | None:
    """A 16-bit PNG's pixels at full precision (HxWx``channels`` float32) with OpenCV, which
    Pillow reduces to 8 bits; None without OpenCV or when OpenCV sees other channels."""
    try:
        import cv2
    except ImportError:  # opencv is optional: Pillow's 8-bit reading stands
        return None
    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None or data.dtype != np.uint16:
        return None
    if data.ndim == 2:
        data = data[..., None]
    elif data.shape[2] >= 3:  # BGR(A) -> RGB(A)
        data = data[..., [2, 1, 0, 3][:data.shape[2]]]
    if channels == 2 and data.shape[2] == 4:  # grey + alpha comes out of OpenCV as four channels
        data = data[..., [0, 3]]
    return data.astype(np.float32) / 65535.0 if data.shape[2] == channels else None


def _tiff_samples(path: Path):
    """``(data, photometric, tags, extra samples)`` of a TIFF's first page with tifffile, or None
    for what Pillow reads completely (8-bit, palette, CMYK...) or when tifffile is missing."""
    try:
        import tifffile
    except ImportError:
        return None
    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            photometric = tifffile.PHOTOMETRIC(page.photometric).name
            deep = page.dtype == np.uint16 or np.issubdtype(page.dtype, np.floating)
            if not deep or photometric not in ("MINISBLACK", "RGB"):
                return None
            data = page.asarray()
            if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and data.ndim == 3:
                data = np.moveaxis(data, 0, -1)
            return (data, photometric, {tag.code: tag.value for tag in page.tags},
                    [int(sample) for sample in page.extrasamples])
    except Exception as error:  # tifffile's own errors for corrupt files
        raise ValueError(f"{path}: cannot decode the image ({error})") from None


def _read_deep_tiff(path: Path, max_pixels: int | None) -> tuple[Picture, int] | None:
    """``(picture, orientation)`` of a 16-bit or floating-point grey or RGB(A) TIFF, with tifffile;
    None for what Pillow reads completely. Associated (premultiplied) alpha is made straight."""
    samples = _tiff_samples(path)
    if samples is None:
        return None
    data, photometric, tags, extras = samples
    data = data[..., None] if data.ndim == 2 else data
    _check_pixel_count(path, data.shape[1], data.shape[0], max_pixels)
    if np.issubdtype(data.dtype, np.floating):
        if not np.all(np.isfinite(data)) or data.min() < 0 or data.max() > 1:
            raise ValueError(f"{path}: floating-point image with values in [{data.min()}, {data.max()}], "
                             "not [0, 1] (high-dynamic-range images are not supported)")
        full, bits = 1.0, 32
    else:
        full, bits = 65535.0, 16
    colours = 3 if photometric == "RGB" else 1
    pixels = data[..., :colours].astype(np.float32) / np.float32(full)
    if extras and extras[0] in (1, 2) and data.shape[2] > colours:  # associated or unassociated alpha
        alpha = data[..., colours:colours + 1].astype(np.float32) / np.float32(full)
        if extras[0] == 1:
            pixels = np.clip(pixels / np.maximum(alpha, np.float32(1e-12)), 0, 1) * (alpha > 0)
        pixels = np.concatenate([pixels, alpha], axis=2).astype(np.float32)
    picture = Picture(pixels, bits, tags.get(0x8773) or None, None, "TIFF", f"{photometric} {data.dtype.name}")
    return picture, tags.get(ORIENTATION, 1)


def _from_pillow(image: Image.Image, path: Path) -> Picture:
    """The pixels of a Pillow image in any mode as a :class:`Picture` (not yet turned upright)."""
    mode, info = image.mode, image.info
    icc_profile, bits = info.get("icc_profile") or None, 8
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        pixels, bits = np.asarray(image, dtype=np.float32)[..., None] / 65535.0, 16
    elif mode == "I":  # 32-bit integer pixels; 16-bit PNG/TIFF grayscale often opens this way
        gray = np.asarray(image, dtype=np.float64)
        top = 65535.0 if gray.max() > 255 else 255.0
        pixels, bits = (np.clip(gray, 0, top) / top).astype(np.float32)[..., None], 16 if top > 255 else 8
    elif mode == "F":
        gray = np.asarray(image, dtype=np.float32)
        if not np.all(np.isfinite(gray)) or gray.min() < 0 or gray.max() > 1:
            raise ValueError(f"{path}: floating-point image with values in [{gray.min()}, {gray.max()}], not [0, 1]")
        pixels, bits = gray[..., None], 32
    else:
        transparent = "transparency" in info or mode in ("PA", "RGBA", "RGBa")
        if mode in ("1", "L", "LA", "La"):
            target = "LA" if mode in ("LA", "La") or "transparency" in info else "L"
        else:
            target = "RGBA" if transparent else "RGB"
        if mode == "CMYK":
            icc_profile = None  # it describes the CMYK inks, not the RGB pixels Pillow makes of them
        converted = image.convert("RGBA").convert(target) if "transparency" in info else image.convert(target)
        pixels = np.asarray(converted, dtype=np.float32) / 255.0
        pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    return Picture(pixels, bits, icc_profile, None, image.format, mode)


def _check_pixel_count(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ValueError(
            f"{path}: declares {width}x{height} = {width * height / 1e6:.0f} megapixels, "
            f"over the limit of {max_pixels / 1e6:.0f} MP (a decompression bomb, or "
            "a huge photo: pass max_pixels=None, or --max-pixels 0 on the command line, to load it anyway)"
        )


def read_picture(path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Picture:
    """Read an image file as a :class:`Picture`: its own channels, bit depth, ICC profile and EXIF.

    - EXIF orientation is applied to the pixels (and left out of ``exif``).
    - Grey (and bilevel) stays grey; grey with transparency becomes grey + alpha; palette images
      become their colours, RGB or, with transparency, RGBA; CMYK becomes RGB by Pillow's
      conversion (the CMYK profile is dropped: it does not describe RGB pixels).
    - 16-bit PNG (through OpenCV) and 16-bit or floating-point TIFF (through tifffile) keep their
      precision (``bits`` 16 or 32); floating-point values must lie in [0, 1].
    - Animated files (GIF, WebP): the first frame.
    - Files whose header declares more than ``max_pixels`` pixels are refused before decoding;
      pass ``max_pixels=None`` to lift the limit.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the file) for
    anything that is not a readable image: empty, truncated, not an image, too large.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our own check replaces Pillow's
            try:
                with Image.open(path) as image:
                    _check_pixel_count(path, *image.size, max_pixels)
                    image.seek(0)
                    image.load()
                    picture = _from_pillow(image, path)
                    exif = image.getexif()
                    orientation = exif.get(ORIENTATION, 1)
                    picture.exif = _kept_exif(exif)
            finally:
                Image.MAX_IMAGE_PIXELS = previous_limit
        deep = _read_deep_tiff(path, max_pixels) if picture.format == "TIFF" else None
        if deep is not None:  # Pillow's reading of the metadata stands; its pixels had 8 bits
            picture = replace(picture, pixels=deep[0].pixels, bits=deep[0].bits, mode=deep[0].mode)
    except UnidentifiedImageError:
        deep = _read_deep_tiff_or_none(path, max_pixels)
        if deep is None:
            raise ValueError(f"{path}: not an image file, or a format Pillow cannot read") from None
        picture, orientation = deep
    except (OSError, SyntaxError, EOFError) as error:  # truncated or corrupt data
        raise ValueError(f"{path}: cannot decode the image ({error})") from None
    if picture.format == "PNG" and _png_bit_depth(path) == 16:
        precise = _read_16bit_png(path, picture.pixels.shape[2])
        if precise is not None:
            picture = replace(picture, pixels=precise, bits=16)
    if picture.pixels.shape[0] < 1 or picture.pixels.shape[1] < 1:
        raise ValueError(f"{path}: the image has no pixels")
    return replace(picture, pixels=np.ascontiguousarray(upright(picture.pixels, orientation), dtype=np.float32))


def _read_deep_tiff_or_none(path: Path, max_pixels: int | None) -> tuple[Picture, int] | None:
    """:func:`_read_deep_tiff` for a file Pillow cannot open (an RGB floating-point or a 16-bit
    grey + alpha TIFF); None for anything that is not a TIFF."""
    with open(path, "rb") as handle:
        if handle.read(4) not in (b"II*\x00", b"MM\x00*"):
            return None
    return _read_deep_tiff(path, max_pixels)


def load_image(path, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               background: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Load an image file as an HxWx3 float32 RGB array in [0, 1].

    :func:`read_picture`, then: transparent pixels composited over ``background`` (RGB in
    [0, 1], default white), grey made three equal channels. EXIF orientation is applied; 16-bit
    files keep their precision; CMYK and palette images are converted to RGB; animated files
    give their first frame; ``max_pixels`` refuses decompression bombs (``None`` lifts it).
    Raises ``FileNotFoundError`` or ``ValueError`` naming the file.
    """
    pixels = flatten(read_picture(path, max_pixels), background).pixels
    return np.ascontiguousarray(np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels, dtype=np.float32)


def list_images(folder) -> list[Path]:
    """The image files directly inside ``folder`` (by suffix, see ``IMAGE_SUFFIXES``), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def unreadable_entry(path) -> str | None:
    """Why the folder entry ``path`` cannot be read as an image file, or ``None`` if it can:
    a dangling symbolic link, a link loop, a folder, something other than a regular file, or a
    file without read permission. Batch commands list such entries as failures by name."""
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            return f"a dangling symbolic link (its target {os.readlink(path)} does not exist)"
        return "no such file"
    except OSError as error:  # a link loop (ELOOP), a name too long...
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISDIR(status.st_mode):
        return "a folder, not an image file (folders inside folders are not searched)"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a device, pipe or socket)"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def publish_temporary(temporary, path) -> None:
    """Give a ``mkstemp`` file the usual permissions (it is created 0600) and move it to ``path``."""
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, path)


def settings_text(settings: dict) -> str:
    """A run's settings (JSON-able; anything else by its ``str``) as the one text a checkpoint
    stores beside its state: sorted keys, so equal settings give equal text."""
    return json.dumps(settings, sort_keys=True, default=str)


def settings_match(path, saved: str | None, settings: dict, verbose: bool = True) -> bool:
    """Whether the checkpoint at ``path``, which stored ``saved`` (:func:`settings_text`), was
    written with ``settings``; when not, with ``verbose``, it says that the run starts afresh."""
    if saved == settings_text(settings):
        return True
    if verbose:
        print(f"{path}: written with other settings; starting afresh (it will be replaced)")
    return False


def clear_states(folder) -> None:
    """Delete a finished run's checkpoints in ``folder``, PyTorch's training states (``*.pt``,
    :func:`srlib.torch.checkpoints.save_state`) and Keras's backups (``*.npz``,
    :func:`srlib.keras.training.save_backup`), so that the next run starts afresh (under
    ``torchrun``, rank 0 alone)."""
    if not main_process():
        return
    for pattern in ("*.pt", "*.npz"):
        for path in Path(folder).glob(pattern):
            path.unlink()


def atomic_write(path, write, overwrite: bool = True) -> None:
    """Create ``path`` by ``write(temporary_name)`` then a rename: never a half-written ``path``.
    With ``overwrite=False``, a file that appeared at ``path`` meanwhile raises ``FileExistsError``."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(descriptor)
    try:
        write(temporary)
        if not overwrite and path.exists():
            raise FileExistsError(f"{path}: appeared while writing (pass overwrite=True to replace it)")
        publish_temporary(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class FileFormat:
    """What one writable format holds: Pillow's name, the sample bit depths, transparency, grey."""

    name: str
    bits: tuple[int, ...]
    alpha: bool
    grey: bool


#: The formats :func:`write_picture` writes, by suffix. PNG: 8 or 16 bits (16-bit grey + alpha is
#: written as RGBA, which OpenCV can encode); WebP has no grey (written as RGB); TIFF: 8, 16 or 32
#: (floating-point) bits; JPEG and BMP: no transparency.
FORMATS = {
    ".png": FileFormat("PNG", (8, 16), True, True),
    ".jpg": FileFormat("JPEG", (8,), False, True),
    ".jpeg": FileFormat("JPEG", (8,), False, True),
    ".webp": FileFormat("WEBP", (8,), True, False),
    ".tif": FileFormat("TIFF", (8, 16, 32), True, True),
    ".tiff": FileFormat("TIFF", (8, 16, 32), True, True),
    ".bmp": FileFormat("BMP", (8,), False, True),
}


def file_format(path) -> FileFormat:
    """The :class:`FileFormat` that ``path``'s suffix names; ``ValueError`` for one not written."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: cannot write {path.suffix or 'a file without suffix'}; "
                         "use .png, .jpg, .webp, .tif or .bmp")
    return FORMATS[path.suffix.lower()]


def _profile_fits(profile: bytes | None, grey: bool) -> bool:
    """Whether an ICC profile describes pixels of this kind (its header's colour space, bytes 16-20)."""
    return bool(profile) and profile[16:20] == (b"GRAY" if grey else b"RGB ")


def _encode(picture: Picture, kind: FileFormat, quality: int):
    """A function that writes ``picture`` in ``kind`` to an open binary file."""
    pixels = np.clip(picture.pixels, 0.0, 1.0)
    if picture.grey and not kind.grey:
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    grey = pixels.shape[2] in (1, 2)
    icc_profile = picture.icc_profile if _profile_fits(picture.icc_profile, grey) else None
    if picture.bits == 8:
        levels = np.round(pixels * 255.0).astype(np.uint8)
        image = Image.fromarray(levels[..., 0] if levels.shape[2] == 1 else levels)
        options = {"quality": quality} if kind.name in ("JPEG", "WEBP") else {}
        options.update({key: value for key, value in (("icc_profile", icc_profile), ("exif", picture.exif)) if value})
        return lambda handle: image.save(handle, format=kind.name, **options)
    if kind.name == "PNG":  # 16 bits: Pillow holds 8 per channel, OpenCV writes 16 with the metadata
        import cv2

        data = np.round(pixels * 65535.0).astype(np.uint16)
        if data.shape[2] == 2:
            data = data[..., [0, 0, 0, 1]]
        data = data[..., [2, 1, 0, 3][:data.shape[2]]] if data.shape[2] >= 3 else data[..., 0]  # RGB(A) -> BGR(A)
        chunks = [(cv2.IMAGE_METADATA_ICCP, icc_profile),
                  (cv2.IMAGE_METADATA_EXIF, picture.exif and picture.exif.removeprefix(b"Exif\x00\x00"))]
        chunks = [(code, np.frombuffer(payload, np.uint8)) for code, payload in chunks if payload]
        if hasattr(cv2, "imencodeWithMetadata"):  # OpenCV 4.12 and newer
            encoded, buffer = cv2.imencodeWithMetadata(".png", data, [code for code, _ in chunks],
                                                       [payload for _, payload in chunks])
        else:  # an older OpenCV writes the pixels without the profile and EXIF
            encoded, buffer = cv2.imencode(".png", data)
        if not encoded:
            raise ValueError("OpenCV could not encode the 16-bit PNG")
        return lambda handle: handle.write(buffer.tobytes())
    import tifffile  # 16- or 32-bit TIFF: tifffile keeps the ICC profile (not the EXIF)

    data = np.round(pixels * 65535.0).astype(np.uint16) if picture.bits == 16 else pixels.astype(np.float32)
    options = {"extrasamples": ["unassalpha"]} if pixels.shape[2] in (2, 4) else {}
    if icc_profile:
        options["iccprofile"] = icc_profile
    photometric = "minisblack" if grey else "rgb"
    return lambda handle: tifffile.imwrite(handle, data.squeeze(axis=2) if data.shape[2] == 1 else data,
                                           photometric=photometric, planarconfig="contig", **options)


def write_picture(path, picture: Picture, overwrite: bool = False, quality: int = 95) -> Path:
    """Write ``picture`` to ``path`` in the format its suffix names (:data:`FORMATS`); returns the path.

    The pixels keep their channels and ``picture.bits``; the ICC profile is embedded when it fits
    the written channels, the EXIF where the format holds it (PNG, JPEG, WebP, 8-bit TIFF).
    ``quality`` (1-100) is JPEG's and WebP's. A picture the format cannot hold (transparency in
    JPEG, 16 bits in WebP) raises ``ValueError``: :func:`flatten` or lower ``bits`` first.

    The file is written to a temporary name in the same folder and renamed into place, so an
    interruption never leaves a half-written file. An existing file raises ``FileExistsError``
    unless ``overwrite=True``.
    """
    path = Path(path)
    kind = file_format(path)
    pixels = np.asarray(picture.pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"{path}: expected HxWxC float pixels with C in 1-4, got {pixels.dtype} {pixels.shape}")
    if picture.has_alpha and not kind.alpha:
        raise ValueError(f"{path}: {kind.name} holds no transparency; composite the image first (srlib.io.flatten)")
    if picture.bits not in kind.bits:
        depths = " or ".join(map(str, kind.bits))
        raise ValueError(f"{path}: {kind.name} holds {depths}-bit samples, not {picture.bits}")
    if not 1 <= quality <= 100:
        raise ValueError(f"{path}: quality must lie in 1-100, got {quality}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists already (pass overwrite=True to replace it)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: the output folder does not exist")
    writer = _encode(picture, kind, quality)

    def write(temporary):
        with open(temporary, "wb") as handle:
            writer(handle)

    atomic_write(path, write, overwrite)
    return path


def save_image(path, image, overwrite: bool = False, bits: int = 8, quality: int = 95) -> Path:
    """Write an HWC RGB (or HW / HW1 grey) image, float in [0, 1] or uint8, to ``path``; returns the path.

    The format follows the suffix: ``.png`` (``bits=8`` or ``16``), ``.jpg``/``.jpeg`` and
    ``.webp`` (``quality``), ``.tif`` (8, 16 or 32 bits), ``.bmp``. Floats are rounded to the
    nearest level, never silently rescaled: a float image outside [0, 1] raises ``ValueError``.
    Atomic, and an existing file raises ``FileExistsError`` unless ``overwrite=True``
    (:func:`write_picture`, which this calls).
    """
    path = Path(path)
    array = to_float(check_image(image, f"image for {path}", allow_gray=True))
    return write_picture(path, Picture(array if array.ndim == 3 else array[..., None], bits=bits), overwrite, quality)
