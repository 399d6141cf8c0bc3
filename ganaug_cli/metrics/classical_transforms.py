"""Classical image augmentation for the classifiers: shifts, flips, small rotations, erasing.

The baseline that synthetic images have to beat. Images are N×C×H×W floats in [0, 1].
"""

import math

import torch
import torch.nn.functional as F


def shift(images: torch.Tensor, generator: torch.Generator, fraction: float = 0.125) -> torch.Tensor:
    """Random shifts of up to ``fraction`` of the side, edges repeated."""
    n, _, h, w = images.shape
    pad = max(1, round(h * fraction))
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None].expand(n, h, w)
    cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, :].expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[torch.arange(n)[:, None, None], rows, cols].permute(0, 3, 1, 2)


def flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    chosen = torch.rand(len(images), generator=generator) < 0.5
    out = images.clone()
    out[chosen] = out[chosen].flip(-1)
    return out


def rotate(images: torch.Tensor, generator: torch.Generator, degrees: float = 10.0) -> torch.Tensor:
    angle = (torch.rand(len(images), generator=generator) * 2 - 1) * math.radians(degrees)
    cos, sin = angle.cos(), angle.sin()
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="border", align_corners=False)


def erase(images: torch.Tensor, generator: torch.Generator, p: float = 0.5, max_fraction: float = 0.3) -> torch.Tensor:
    """Random erasing: a rectangle of up to ``max_fraction`` of each side set to noise."""
    n, _, h, w = images.shape
    eh = (torch.rand(n, generator=generator) * max_fraction * h).long() + 1
    ew = (torch.rand(n, generator=generator) * max_fraction * w).long() + 1
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).long()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).long()
    rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
    in_rows = (rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
    in_cols = (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1))
    inside = in_rows & in_cols & (torch.rand(n, generator=generator) < p).view(n, 1, 1)
    noise = torch.rand(images.shape, generator=generator)
    return torch.where(inside.unsqueeze(1), noise, images)


def classical(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return erase(rotate(flip(shift(images, generator), generator), generator), generator)


AUGMENTATIONS = {"none": lambda x, g: x, "shift": shift, "classical": classical}
