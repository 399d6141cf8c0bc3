"""The one interface every model family's sampling model offers."""

from abc import ABC, abstractmethod

import torch
from torch import nn


class GenerativeModel(nn.Module, ABC):
    """A trained model that turns randomness (and optional class labels) into images.

    ``args`` holds the constructor's keyword arguments so that a checkpoint can
    rebuild the model alone: ``type(model)(**args)`` then ``load_state_dict``.
    """

    family: str
    # True for models that also offer ``invert(images, labels, steps, generator) -> codes``
    # (codes whose images come closest to N×C×H×W images in [0, 1]) and ``decode(codes,
    # labels) -> images``: what sampling near real images needs (sampling/near_real.py).
    invertible = False

    def __init__(self, **args):
        super().__init__()
        self.args = dict(args)

    @property
    def num_classes(self) -> int:
        """Classes the model can be asked for (0 = unconditional)."""
        return int(self.args.get("num_classes", 0))

    @abstractmethod
    def sample(self, n: int, labels: torch.Tensor | None, generator: torch.Generator, **options) -> torch.Tensor:
        """``n`` images as an N×C×H×W float tensor in [0, 1], on the model's device.

        ``labels`` (N int64) picks each image's class for conditional models;
        ``generator`` is the only source of randomness, so a seed fixes the output.
        ``options`` are the family's sampling options (its registry entry's schema, as
        keywords): chosen per call, so they are never part of the constructor's ``args``.
        """
