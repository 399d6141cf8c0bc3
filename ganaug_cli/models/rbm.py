"""Restricted Boltzmann machine: energies, conditionals and Gibbs sampling.

The visible layer is the image units (Bernoulli, or Gaussian on standardised
pixels with per-pixel variance σ² = exp(log_var)) followed by optional one-hot
label units, which form one softmax group. Hidden units are Bernoulli. ``W`` is
stored visible × hidden, so a batch of row vectors goes up as ``v @ W``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.random_sources import Source, normal, randint, sampling_random, uniform, uniform_int16


# Compared against 65536·p - 32768 in one pass: torch.add(THRESHOLD_OFFSET, p, alpha=65536).
THRESHOLD_OFFSET = torch.tensor(-32768.0)


def bernoulli(
    p: torch.Tensor, generator: Source = None, out: torch.Tensor | None = None, scratch: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary samples with P(1) = p, from 16-bit uniform integers: cheaper on CPU than
    torch.rand or torch.bernoulli (docs/benchmarks.md times a layer against torch's generator).
    u < 65536·p - 32768 for u uniform on [-32768, 32768) is u/65536 + 1/2 < p with the
    scaling moved onto p, which saves two passes over the samples. Probabilities resolve
    to 2^-16, far below any minibatch's sampling noise. ``out``: a buffer like ``p`` for the
    samples; ``scratch``: one for the thresholds (``p`` itself when p is not needed after)."""
    threshold = torch.add(THRESHOLD_OFFSET, p, alpha=65536, out=scratch)
    return torch.lt(uniform_int16(p, generator), threshold, out=torch.empty_like(p) if out is None else out)


def softmax_rows(x: torch.Tensor) -> torch.Tensor:
    # torch.softmax is slow on small contiguous CPU tensors (torch 2.14); these three ops are not.
    e = (x - x.amax(1, keepdim=True)).exp()
    return e / e.sum(1, keepdim=True)


def sample_categorical(probs: torch.Tensor, generator: Source = None) -> torch.Tensor:
    """One index per row of ``probs`` by inverse CDF (far faster than torch.multinomial for few classes)."""
    u = uniform((probs.shape[0], 1), probs, generator)
    return (probs.cumsum(1) < u).sum(1).clamp_max(probs.shape[1] - 1)


def _frozen(tensor: torch.Tensor) -> nn.Parameter:
    # Boltzmann models learn from sampled statistics, not autograd.
    return nn.Parameter(tensor, requires_grad=False)


class RBM(GenerativeModel):
    family = "rbm"

    def __init__(
        self,
        shape: list[int],
        hidden: int,
        units: str,
        learn_variance: bool,
        num_classes: int,
    ):
        super().__init__(
            shape=list(shape), hidden=hidden, units=units, learn_variance=learn_variance, num_classes=num_classes
        )
        self.pixels = math.prod(shape)
        self.gaussian = units == "gaussian"
        visible = self.pixels + num_classes
        self.W = _frozen(torch.zeros(visible, hidden))
        self.b_v = _frozen(torch.zeros(visible))
        self.b_h = _frozen(torch.zeros(hidden))
        if self.gaussian:
            self.log_var = _frozen(torch.zeros(self.pixels))
            # Pixel statistics of the training data: the model sees (x - mean) / std.
            self.register_buffer("pixel_mean", torch.zeros(self.pixels))
            self.register_buffer("pixel_std", torch.ones(self.pixels))
        # Where sampling chains start: noise around the training data's mean image units, one row
        # per class (one row without label units). Chains started from uniform noise fall into
        # the spurious modes a PCD-trained RBM keeps, whatever label is clamped (docs/benchmarks.md).
        self.register_buffer("start_mean", self.uniform_start())

    def uniform_start(self) -> torch.Tensor:
        """The chain start of an RBM that has not seen data: uniform noise (Gaussian: N(0, 1))."""
        rows = max(self.num_classes, 1)
        return torch.full((rows, self.pixels), 0.0 if self.gaussian else 0.5)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints written before start_mean existed keep sampling from uniform noise.
        state_dict.setdefault(prefix + "start_mean", self.uniform_start())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def fit_start(self, units: torch.Tensor, labels: torch.Tensor) -> None:
        """Set the chains' start to the mean image units (model scale) of ``units`` per class;
        a class without rows gets the mean of all rows."""
        overall = units.mean(0)
        if self.start_mean.shape[0] == 1:
            self.start_mean.copy_(overall[None])
            return
        one_hot = F.one_hot(labels.to(units.device), self.start_mean.shape[0]).to(units.dtype)
        counts = one_hot.sum(0)
        means = (one_hot.t() @ units) / counts.clamp_min(1)[:, None]
        means[counts == 0] = overall
        self.start_mean.copy_(means)

    # -- the pieces of the energy ---------------------------------------------------------

    def sigma(self) -> torch.Tensor:
        return self.log_var.mul(0.5).exp()

    def scale(self, v: torch.Tensor) -> torch.Tensor:
        """What multiplies ``W`` on the way up: v, with Gaussian image units divided by σ."""
        if not self.gaussian:
            return v
        return torch.cat([v[:, : self.pixels] / self.sigma(), v[:, self.pixels :]], dim=1)

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.b_h, self.scale(v), self.W)

    def visible_input(self, h: torch.Tensor) -> torch.Tensor:
        """Bernoulli/label logits, and for Gaussian image units their conditional mean."""
        if not self.gaussian:
            return torch.addmm(self.b_v, h, self.W.t())
        top = h @ self.W.t()
        top[:, : self.pixels].mul_(self.sigma())
        return top.add_(self.b_v)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        x = self.visible_input(h)
        if not self.gaussian:
            x[:, : self.pixels].sigmoid_()
        if self.num_classes:
            x[:, self.pixels :] = softmax_rows(x[:, self.pixels :])
        return x

    def sample_visible(
        self, h: torch.Tensor, generator: Source = None, clamp: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(sample, mean) of the visible layer given hidden states; ``clamp`` fixes the label units."""
        mean = self.visible_mean(h)
        image = mean[:, : self.pixels]
        if self.gaussian:
            sample = image + normal(image, generator) * self.sigma()
        else:
            sample = bernoulli(image, generator=generator)
        if not self.num_classes:
            return sample, mean
        if clamp is None:
            clamp = sample_categorical(mean[:, self.pixels :], generator)
        one_hot = F.one_hot(clamp, self.num_classes).to(sample.dtype)
        return torch.cat([sample, one_hot], dim=1), mean

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) per row, for visible vectors that include the label units if any."""
        hidden = F.softplus(self.hidden_input(v)).sum(1)
        if not self.gaussian:
            return -(v @ self.b_v) - hidden
        image, labels = v[:, : self.pixels], v[:, self.pixels :]
        quadratic = ((image - self.b_v[: self.pixels]) ** 2 / (2 * self.log_var.exp())).sum(1)
        return quadratic - labels @ self.b_v[self.pixels :] - hidden

    def free_energy_images(self, image: torch.Tensor) -> torch.Tensor:
        """F(v) of image units alone, label units summed out exactly (a logsumexp over classes)."""
        if not self.num_classes:
            return self.free_energy(image)
        scaled = image / self.sigma() if self.gaussian else image
        up = torch.addmm(self.b_h, scaled, self.W[: self.pixels])
        per_class = F.softplus(up[:, None, :] + self.W[self.pixels :][None]).sum(2) + self.b_v[self.pixels :]
        if self.gaussian:
            own = -((image - self.b_v[: self.pixels]) ** 2 / (2 * self.log_var.exp())).sum(1)
        else:
            own = image @ self.b_v[: self.pixels]
        return -(own + per_class.logsumexp(1))

    # -- images in and out ----------------------------------------------------------------

    def to_images(self, image: torch.Tensor) -> torch.Tensor:
        """Flat image units (model scale) -> N×C×H×W in [0, 1]."""
        if self.gaussian:
            image = image * self.pixel_std + self.pixel_mean
        return image.clamp(0, 1).reshape(-1, *self.args["shape"])

    @torch.no_grad()
    def gibbs_chain(
        self, n: int, labels: torch.Tensor | None, generator: Source, *, burn_in: int, thinning: int, images_per_chain: int
    ) -> torch.Tensor:
        """Visible means of the image units from chains started at noise around the class's
        mean image (``burn_in`` steps, then one image every ``thinning`` steps).

        Each chain gives ``images_per_chain`` images; the images of one chain share
        the label asked for its first image.
        """
        per_chain = images_per_chain
        chains = math.ceil(n / per_chain)
        device = self.W.device
        clamp, start = None, torch.zeros(chains, dtype=torch.long, device=device)
        if self.num_classes:
            if labels is not None:
                clamp = start = labels.to(device)[::per_chain][:chains]
            else:
                start = randint(self.num_classes, chains, device, generator)
        mean = self.start_mean[start]
        v = mean + normal(mean, generator) if self.gaussian else bernoulli(mean, generator=generator)
        if self.num_classes:
            v = torch.cat([v, F.one_hot(start, self.num_classes).to(v.dtype)], dim=1)
        first = max(burn_in, 1)
        kept = []
        for step in range(1, first + (per_chain - 1) * thinning + 1):
            h = bernoulli(self.hidden_input(v).sigmoid_(), generator=generator)
            v, mean = self.sample_visible(h, generator, clamp)
            if step >= first and (step - first) % thinning == 0:
                kept.append(mean[:, : self.pixels])
        return torch.stack(kept, dim=1).reshape(chains * per_chain, self.pixels)[:n]

    @torch.no_grad()
    def sample(self, n, labels, generator, **gibbs):
        """``gibbs``: the GibbsOptions fields (burn_in, thinning, images_per_chain)."""
        generator = sampling_random(generator, self.W.device)
        return self.to_images(self.gibbs_chain(n, labels, generator, **gibbs))

    def filters(self, count: int = 64) -> torch.Tensor:
        """The first ``count`` hidden units' weights on the image, each stretched to [0, 1]."""
        w = self.W[: self.pixels, :count].t()
        low, high = w.min(1, keepdim=True).values, w.max(1, keepdim=True).values
        return ((w - low) / (high - low).clamp_min(1e-12)).reshape(-1, *self.args["shape"])
