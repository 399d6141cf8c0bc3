"""The weight average that GAN and DAE runs sample from."""

import torch
from torch import nn


@torch.no_grad()
def update_average(average: nn.Module, live: nn.Module, decay: float, updates: int) -> None:
    """Move ``average`` toward ``live`` after update number ``updates`` (counted from 1).

    Warm-up: early on the average follows the live weights closely, so short runs are not
    dominated by the random initial weights. Buffers (batch-norm statistics) are copied.
    """
    decay = min(decay, (1 + updates) / (10 + updates))
    for kept, current in zip(average.parameters(), live.parameters()):
        kept.lerp_(current, 1 - decay)
    for kept, current in zip(average.buffers(), live.buffers()):
        kept.copy_(current)
