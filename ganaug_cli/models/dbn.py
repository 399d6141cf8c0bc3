"""Deep belief network: a stack of RBMs trained greedily (Hinton, Osindero & Teh 2006).

The top RBM is undirected and holds the label units; the layers below it are directed,
top-down, with their RBMs' weights. Sampling runs Gibbs in the top RBM with the label
clamped, then one down-pass; the image is the bottom layer's visible mean.
"""

import math

import torch
from torch import nn

from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.random_sources import Source, sampling_random
from ganaug_cli.models.rbm import RBM, bernoulli


class DBN(GenerativeModel):
    family = "dbn"

    def __init__(
        self,
        shape: list[int],
        layers: list[int],
        units: str,
        learn_variance: bool,
        num_classes: int,
    ):
        super().__init__(
            shape=list(shape), layers=list(layers), units=units, learn_variance=learn_variance, num_classes=num_classes
        )
        sizes = [math.prod(shape), *layers]
        top = len(layers) - 1
        self.rbms = nn.ModuleList(
            RBM(
                shape if i == 0 else [sizes[i]],
                sizes[i + 1],
                units if i == 0 else "bernoulli",  # upper layers model binary hidden states
                learn_variance and i == 0,
                num_classes if i == top else 0,
            )
            for i in range(len(layers))
        )

    def up(self, v: torch.Tensor, layers: int, sample: bool = False, source: Source = None) -> torch.Tensor:
        """Image units -> the states of layer ``layers`` (0 = the image itself), bottom-up;
        ``sample``: binary states drawn from ``source`` instead of probabilities."""
        for rbm in self.rbms[:layers]:
            v = torch.sigmoid(rbm.hidden_input(v))
            if sample:
                v = bernoulli(v, source)
        return v

    @torch.no_grad()
    def sample_from(
        self, level: int, n: int, labels: torch.Tensor | None, generator: torch.Generator, **gibbs
    ) -> torch.Tensor:
        """Images from the stack up to ``level``: Gibbs in that RBM (``gibbs``: the GibbsOptions
        fields), then the down-pass."""
        generator = sampling_random(generator, self.rbms[0].W.device)
        v = self.rbms[level].gibbs_chain(n, labels, generator, **gibbs)
        for rbm in reversed(self.rbms[:level]):
            v = rbm.visible_mean(bernoulli(v, generator=generator))[:, : rbm.pixels]
        return self.rbms[0].to_images(v)

    def sample(self, n, labels, generator, **gibbs):
        return self.sample_from(len(self.rbms) - 1, n, labels, generator, **gibbs)
