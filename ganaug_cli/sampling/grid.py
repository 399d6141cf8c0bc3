"""A grid of images read back from disk (``sample --grid``)."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image


def grid_from_files(paths: list[Path]) -> torch.Tensor:
    """Images from ``paths`` as N×C×H×W floats in [0, 1] (mode of the first image)."""
    images = [Image.open(p) for p in paths]
    mode = images[0].mode
    arrays = [np.asarray(im.convert(mode), dtype=np.float32) / 255 for im in images]
    stacked = np.stack(arrays)
    if stacked.ndim == 3:
        stacked = stacked[..., None]
    return torch.from_numpy(stacked).permute(0, 3, 1, 2)


def grid_from_rows(rows: list[list[Path]]) -> tuple[torch.Tensor, int]:
    """One grid row per list (short rows padded with black), and the row length."""
    columns = max(len(row) for row in rows)
    tensors = []
    for row in rows:
        images = grid_from_files(row)
        padding = torch.zeros(columns - len(row), *images.shape[1:])
        tensors.append(torch.cat([images, padding]))
    return torch.cat(tensors), columns
