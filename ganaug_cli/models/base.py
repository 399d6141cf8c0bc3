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
    # Whether the model can find a code for a given image (``invert``) and decode codes
    # (``decode``): what sampling near real images needs.
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

    def invert(self, images: torch.Tensor, labels: torch.Tensor | None, steps: int, generator: torch.Generator) -> torch.Tensor:
        """Codes whose decoded images come closest to ``images`` (N×C×H×W in [0, 1])."""
        raise NotImplementedError(f"the {self.family} family cannot invert images")

    def decode(self, codes: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Images in [0, 1] for codes as ``invert`` returns them."""
        raise NotImplementedError(f"the {self.family} family has no codes to decode")
