"""Reading and writing images in srlib's one form: RGB, HWC, float32 in [0, 1].

:func:`load_image` opens PNG, JPEG, TIFF, BMP, WebP and GIF files, 8- or 16-bit, grayscale,
RGB(A), CMYK or palette, turned upright by their EXIF orientation. :func:`save_image` writes
PNG (8- or 16-bit), JPEG or WebP atomically and never overwrites a file unless asked.
Every failure raises ``FileNotFoundError`` or ``ValueError`` naming the file and the reason.
Taught in ``notebooks/01_autoencoder_keras.ipynb`` (Data section).
"""
from __future__ import annotations

import os
import stat
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from srlib.arrays import check_image, to_uint8

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
#: Refuse images whose header declares more pixels than this: a "decompression bomb" is a small
#: file that expands to gigabytes (100 MP is already 1.2 GB as float32 RGB). Lift the limit
#: explicitly with ``max_pixels=None`` for genuinely huge photos.
DEFAULT_MAX_PIXELS = 100_000_000


def _png_bit_depth(path: Path) -> int | None:
    """The bit depth stored in a PNG's IHDR chunk, or None if ``path`` is not a PNG."""
    with open(path, "rb") as handle:
        header = handle.read(26)
    if len(header) < 26 or header[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return header[24]


def _read_16bit_png(path: Path) -> np.ndarray | None:
    """Read a 16-bit colour PNG at full precision with OpenCV (Pillow reduces it to 8 bits)."""
    try:
        import cv2
    except ImportError:  # opencv is optional: fall back to Pillow's 8-bit reading
        return None
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None or data.dtype != np.uint16 or data.ndim != 3:
        return None
    data = data[..., :3][..., ::-1]  # BGR(A) -> RGB; alpha handled by the caller's rule below
    return data.astype(np.float32) / 65535.0


def _pil_to_float(image: Image.Image, background: tuple[float, float, float]) -> np.ndarray:
    """Convert any Pillow mode to HWC RGB float32 in [0, 1]."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        gray = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "I":  # 32-bit integer pixels; 16-bit PNG/TIFF grayscale often opens this way
        gray = np.asarray(image, dtype=np.float64)
        top = 65535.0 if gray.max() > 255 else 255.0
        return np.repeat((np.clip(gray, 0, top) / top).astype(np.float32)[..., None], 3, axis=2)
    if mode == "F":
        gray = np.asarray(image, dtype=np.float32)
        if gray.min() < 0 or gray.max() > 1:
            raise ValueError(f"floating-point image with values in [{gray.min()}, {gray.max()}], not [0, 1]")
        return np.repeat(gray[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + np.asarray(background, dtype=np.float32) * (1.0 - alpha)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def load_image(path, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               background: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Load an image file as an HxWx3 float32 RGB array in [0, 1].

    - EXIF orientation is applied, so photos come out upright as viewers show them.
    - Grayscale becomes three equal channels; CMYK and palette images are converted to RGB.
    - Transparent pixels are composited over ``background`` (RGB in [0, 1], default white).
    - 16-bit files keep their precision (16-bit colour PNG needs OpenCV, which the project
      environment has).
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
            Image.MAX_IMAGE_PIXELS = None  # our own check below replaces Pillow's
            try:
                with Image.open(path) as image:
                    width, height = image.size
                    if max_pixels is not None and width * height > max_pixels:
                        raise ValueError(
                            f"{path}: declares {width}x{height} = {width * height / 1e6:.0f} megapixels, "
                            f"over the limit of {max_pixels / 1e6:.0f} MP (a decompression bomb, or "
                            "a huge photo: pass max_pixels=None, or --max-pixels 0 on the command line, to load it anyway)"
                        )
                    image.seek(0)
                    image.load()
                    orientation = image.getexif().get(0x0112, 1)  # EXIF Orientation tag
                    upright = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
                    result = _pil_to_float(upright, background)
            finally:
                Image.MAX_IMAGE_PIXELS = previous_limit
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file, or a format Pillow cannot read") from None
    except (OSError, SyntaxError, EOFError) as error:  # truncated or corrupt data
        raise ValueError(f"{path}: cannot decode the image ({error})") from None
    if _png_bit_depth(path) == 16 and orientation in (None, 1):
        precise = _read_16bit_png(path)
        if precise is not None and precise.shape == result.shape:
            result = precise
    if result.shape[0] < 1 or result.shape[1] < 1:
        raise ValueError(f"{path}: the image has no pixels")
    return np.ascontiguousarray(result, dtype=np.float32)


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


def atomic_write(path, write) -> None:
    """Create ``path`` by ``write(temporary_name)`` then a rename: never a half-written ``path``."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(descriptor)
    try:
        write(temporary)
        publish_temporary(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_image(path, image, overwrite: bool = False, bits: int = 8, quality: int = 95) -> Path:
    """Write an HWC RGB image (float in [0, 1] or uint8) to ``path``; returns the path.

    The format follows the suffix: ``.png`` (``bits=8`` or ``16``), ``.jpg``/``.jpeg`` and
    ``.webp`` (``quality``), ``.tif``/``.bmp``. Floats are rounded to the nearest level, never
    silently rescaled: a float image outside [0, 1] raises ``ValueError``.

    The file is written to a temporary name in the same folder and renamed into place, so an
    interruption never leaves a half-written file. An existing file raises ``FileExistsError``
    unless ``overwrite=True``.
    """
    path = Path(path)
    array = check_image(image, f"image for {path}", allow_gray=True)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES or suffix == ".gif":
        raise ValueError(f"{path}: cannot write {suffix or 'a file without suffix'}; use .png, .jpg, .webp, .tif or .bmp")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists already (pass overwrite=True to replace it)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: the output folder does not exist")
    if bits == 16:
        if suffix != ".png":
            raise ValueError(f"{path}: 16-bit output is only supported for PNG")
        levels = array.astype(np.float64) / 255.0 if array.dtype == np.uint8 else np.clip(array, 0, 1)
        data16 = np.round(levels * 65535.0).astype(np.uint16)
        import cv2  # Pillow cannot write 16-bit colour PNG

        encoded_ok, buffer = cv2.imencode(".png", data16[..., ::-1] if data16.ndim == 3 else data16)
        if not encoded_ok:
            raise ValueError(f"{path}: OpenCV could not encode the 16-bit PNG")
        payload = buffer.tobytes()
        writer = lambda handle: handle.write(payload)  # noqa: E731
    elif bits == 8:
        pil_image = Image.fromarray(to_uint8(array))
        options = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
        image_format = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix, suffix[1:].upper())
        writer = lambda handle: pil_image.save(handle, format=image_format, **options)  # noqa: E731
    else:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            writer(handle)
        if not overwrite and path.exists():
            raise FileExistsError(f"{path}: appeared while writing (pass overwrite=True to replace it)")
        publish_temporary(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
