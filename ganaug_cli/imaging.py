"""Tensors in [0, 1] to Pillow images and grid PNGs, keeping the data's channels."""

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×C×H×W floats in [0, 1] -> N×H×W×C uint8 (rounded, not truncated)."""
    return images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def to_pil(array: np.ndarray) -> Image.Image:
    """One H×W×C uint8 array as a gray, RGB or RGBA image."""
    channels = array.shape[-1]
    return Image.fromarray(array[..., 0] if channels == 1 else array, MODES[channels])


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Tile images row by row (``nrow`` per row) with a thin border."""
    arrays = to_uint8(images)
    n, h, w, c = arrays.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    canvas = np.zeros((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), dtype=np.uint8)
    if c == 4:
        canvas[..., 3] = 255
    for i, array in enumerate(arrays):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        canvas[top : top + h, left : left + w] = array
    return to_pil(canvas)


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    grid_image(images, nrow).save(temporary, format="PNG")
    temporary.replace(path)
    return path
