"""Histograms of oriented gradients (HOG, Dalal and Triggs, 2005): each image as the directions
of its edges, cell by cell.

Why: label spreading joins each image to its nearest neighbours, and in pixel space a coat
shifted by two pixels is far from itself while a pullover of the same brightness is near. Edge
directions pooled over cells keep an object's outline and forget small shifts and brightness,
so neighbours in this space share a class far more often (measured in docs/benchmarks.md,
section unlabeled).
"""

import math

import torch
import torch.nn.functional as F

BINS = 9  # unsigned orientations, 20 degrees each
CELLS = 8  # cells across the image, whatever its resolution
BLOCK = 2  # cells a side in each normalised block
# Pixels handled at once: the per-pixel votes are BINS floats each (about 38 MB), whatever the resolution.
PIXELS_PER_CHUNK = 2**20


def gradient_histograms(images: torch.Tensor) -> torch.Tensor:
    """N×C×H×W images (uint8 or float) as N×(BINS·BLOCK²·(CELLS−BLOCK+1)²) HOG vectors."""
    chunk = max(1, PIXELS_PER_CHUNK // (images.shape[-2] * images.shape[-1]))
    return torch.cat([_histograms(images[start : start + chunk]) for start in range(0, len(images), chunk)])


def _histograms(images: torch.Tensor) -> torch.Tensor:
    grey = F.pad(images.float().mean(dim=1, keepdim=True), (1, 1, 1, 1), mode="replicate")
    dx = grey[:, :, 1:-1, 2:] - grey[:, :, 1:-1, :-2]
    dy = grey[:, :, 2:, 1:-1] - grey[:, :, :-2, 1:-1]
    magnitude = (dx**2 + dy**2).sqrt()
    # Each pixel's vote is shared between the two orientation bins nearest its gradient's angle.
    position = torch.atan2(dy, dx).remainder(math.pi) / math.pi * BINS
    lower = position.floor()
    upper_share = position - lower
    lower = lower.long() % BINS
    votes = torch.zeros(len(images), BINS, *magnitude.shape[2:])
    votes.scatter_add_(1, lower, magnitude * (1 - upper_share))
    votes.scatter_add_(1, (lower + 1) % BINS, magnitude * upper_share)
    cells = F.adaptive_avg_pool2d(votes, CELLS)
    # Normalising each block of cells makes the vector blind to contrast.
    blocks = F.normalize(F.unfold(cells, BLOCK), dim=1)
    return blocks.flatten(1)
