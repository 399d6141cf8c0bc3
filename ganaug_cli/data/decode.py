"""Decode one image file into an RGBA uint8 array at the training resolution."""

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

RESAMPLE = Image.Resampling.LANCZOS  # antialiased for both down- and up-scaling
GRAY_MODES = {"1", "L", "LA", "I", "F", "La"}


class UnusableImage(Exception):
    """The file cannot be used as an image; the message says why."""


def _open(path: Path) -> Image.Image:
    if os.path.getsize(path) == 0:
        raise UnusableImage("empty file")
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise UnusableImage("not an image") from None
    except Image.DecompressionBombError:
        raise UnusableImage("larger than the decompression-bomb pixel limit") from None
    with image:
        try:
            image.seek(0)  # first frame of animated GIF/WebP/TIFF
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Image.DecompressionBombError:
            raise UnusableImage("larger than the decompression-bomb pixel limit") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UnusableImage(f"truncated or corrupt ({exc})") from None
        return upright if upright is not None else image.copy()


def _to_rgba(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGBA; 16- and 32-bit gray is scaled, not clipped."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.int64)
        if mode.startswith("I;16") or values.max(initial=0) > 255:
            values = np.clip(values, 0, 65535) >> 8
        image = Image.fromarray(values.astype(np.uint8), "L")
    elif mode == "F":
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if values.max(initial=0) <= 1.0 else 1.0
        image = Image.fromarray(np.clip(values * scale, 0, 255).round().astype(np.uint8), "L")
    elif mode == "1":
        image = image.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    return image.convert("RGBA")


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the header alone, or None if unreadable."""
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # the decode pass reports the reason
        return None


def decode_image(path: Path, resolution: int, resize: str, background: tuple[int, int, int]):
    """Return (H×W×4 uint8 array, is_gray, has_transparency) for the image at ``path``.

    ``has_transparency``: some pixel of the source file has alpha below 255 (an
    RGBA/LA image or a palette with a transparent entry); an all-opaque alpha
    channel and the transparent bars that ``pad`` adds do not count.
    Raises UnusableImage with a short reason when the file cannot be used.
    """
    try:
        with _open(path) as opened:
            gray_by_mode = opened.mode in GRAY_MODES
            if opened.mode == "P":
                palette = opened.getpalette() or []
                colours = np.array(palette[: len(palette) // 3 * 3]).reshape(-1, 3)
                gray_by_mode = bool(np.all(colours == colours[:, :1]))
            rgba = _to_rgba(opened)
    except PermissionError:
        raise UnusableImage("cannot read (permission denied)") from None
    except FileNotFoundError:
        raise UnusableImage("cannot read (broken link or file removed)") from None
    # Measured on the source, before resizing: the bars that pad adds have alpha 0.
    has_transparency = rgba.getchannel("A").getextrema()[0] < 255
    size = (resolution, resolution)
    if rgba.size != size:
        if resize == "center-crop":
            rgba = ImageOps.fit(rgba, size, RESAMPLE)
        elif resize == "pad":
            rgba = ImageOps.pad(rgba, size, RESAMPLE, color=(*background, 0))
        else:
            rgba = rgba.resize(size, RESAMPLE)
    array = np.asarray(rgba, dtype=np.uint8)
    is_gray = gray_by_mode or bool(
        np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 1], array[..., 2])
    )
    return array, is_gray, has_transparency
