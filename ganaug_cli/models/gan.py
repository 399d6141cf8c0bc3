"""GAN networks: a generator (noise -> image) and a spectrally normalised discriminator.

Depth follows the resolution: one block per doubling from 4×4. Channels are
``width`` at full resolution and double per halving, up to ``max_width``.
Conditional models use class-conditional batch norm in the generator and a
projection head in the discriminator.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganaug_cli.models.base import GenerativeModel


def channel_plan(resolution: int, width: int, max_width: int) -> list[int]:
    """Channels at 4×4, 8×8, ..., resolution×resolution."""
    blocks = int(math.log2(resolution // 4))
    return [min(width * 2 ** (blocks - i), max_width) for i in range(blocks + 1)]


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift come from the class (plain BN when unconditional)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=num_classes == 0)
        self.embed = None
        if num_classes:
            self.embed = nn.Embedding(num_classes, 2 * channels)
            nn.init.ones_(self.embed.weight[:, :channels])
            nn.init.zeros_(self.embed.weight[:, channels:])

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x = self.norm(x)
        if self.embed is None:
            return x
        gamma, beta = self.embed(labels)[:, :, None, None].chunk(2, dim=1)
        return x * gamma + beta


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, num_classes: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.norm = ConditionalBatchNorm(c_out, num_classes)

    def forward(self, x, labels):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.relu(self.norm(self.conv(x), labels))


class Generator(GenerativeModel):
    family = "gan"
    invertible = True

    def __init__(self, resolution: int, channels: int, z_dim: int, width: int, max_width: int, num_classes: int = 0):
        super().__init__(
            resolution=resolution, channels=channels, z_dim=z_dim, width=width, max_width=max_width, num_classes=num_classes
        )
        plan = channel_plan(resolution, width, max_width)
        self.z_dim = z_dim
        self.stem = nn.Linear(z_dim, plan[0] * 16, bias=False)
        self.stem_norm = ConditionalBatchNorm(plan[0], num_classes)
        self.blocks = nn.ModuleList(UpBlock(a, b, num_classes) for a, b in zip(plan, plan[1:]))
        self.to_image = nn.Conv2d(plan[-1], channels, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1]."""
        x = self.stem(z).view(z.shape[0], -1, 4, 4)
        x = F.relu(self.stem_norm(x, labels))
        for block in self.blocks:
            x = block(x, labels)
        return torch.tanh(self.to_image(x))

    @torch.no_grad()
    def sample(self, n, labels, generator):
        z = torch.randn(n, self.z_dim, generator=generator, device=generator.device)
        return self.decode(z, labels)

    @torch.no_grad()
    def decode(self, codes, labels):
        device = next(self.parameters()).device
        labels = labels.to(device) if labels is not None else None
        return (self(codes.to(device), labels).float() + 1) / 2

    def invert(self, images, labels, steps, generator, batch_size: int = 256, lr: float = 0.2):
        """z per image by Adam on the pixel error, from random starts (at lr 0.2, 50 steps fit
        about as closely as 100 at 0.1, in half the time).

        A penalty keeps each z near the norm of the noise the generator was trained on: far
        outside it the generator was never trained and a code can fit noise instead of shape.
        """
        device = next(self.parameters()).device
        frozen = [p.requires_grad for p in self.parameters()]
        self.requires_grad_(False)
        codes = []
        try:
            with torch.enable_grad():
                for start in range(0, len(images), batch_size):
                    target = images[start : start + batch_size].to(device).float() * 2 - 1
                    batch_labels = labels[start : start + batch_size].to(device) if labels is not None else None
                    z = torch.randn(len(target), self.z_dim, generator=generator, device=generator.device).to(device)
                    z.requires_grad_(True)
                    optimiser = torch.optim.Adam([z], lr=lr)
                    for _ in range(steps):
                        error = (self(z, batch_labels) - target).pow(2).mean(dim=(1, 2, 3))
                        norm = (z.pow(2).mean(dim=1) - 1).pow(2)
                        loss = (error + 0.1 * norm).sum()
                        optimiser.zero_grad(set_to_none=True)
                        loss.backward()
                        optimiser.step()
                    codes.append(z.detach().cpu())
        finally:
            for parameter, requires in zip(self.parameters(), frozen):
                parameter.requires_grad_(requires)
        return torch.cat(codes)


class Blur(nn.Module):
    """A fixed [1, 2, 1] ⊗ [1, 2, 1] low-pass per channel: before a strided convolution it keeps
    frequencies the stride would fold into a fine grid pattern (anti-aliased downsampling)."""

    def __init__(self, channels: int):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (taps[:, None] * taps[None, :] / 16).expand(channels, 1, 3, 3).clone())

    def forward(self, x):
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.kernel.to(x.dtype), groups=x.shape[1])


class DownBlock(nn.Module):
    # One strided convolution per halving keeps the discriminator cheaper than the
    # generator, which matters most on CPU.
    def __init__(self, c_in: int, c_out: int, dropout: float, antialias: bool = False):
        super().__init__()
        self.blur = Blur(c_in) if antialias else nn.Identity()
        self.down = spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        return self.dropout(F.leaky_relu(self.down(self.blur(x)), 0.2))


class Discriminator(nn.Module):
    def __init__(self, resolution: int, channels: int, width: int, max_width: int, num_classes: int = 0,
                 dropout: float = 0.0, antialias: bool = False, classifier: bool = False):
        super().__init__()
        plan = list(reversed(channel_plan(resolution, width, max_width)))
        self.from_image = spectral_norm(nn.Conv2d(channels, plan[0], 3, padding=1))
        self.blocks = nn.Sequential(*(DownBlock(a, b, dropout, antialias) for a, b in zip(plan, plan[1:])))
        self.head = spectral_norm(nn.Linear(plan[-1], 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, plan[-1])) if num_classes else None
        # An auxiliary classifier on the same features (AC-GAN), for a class-consistency loss.
        self.classify = nn.Linear(plan[-1], num_classes) if num_classes and classifier else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, with_logits: bool = False,
                with_unconditional: bool = False):
        """One realness score per image (higher = more real); with ``with_logits``, also the
        auxiliary classifier's class logits; with ``with_unconditional``, also the score without
        the class term (what unlabelled images are judged by). ``labels`` None: that score alone."""
        h = self.blocks(F.leaky_relu(self.from_image(x), 0.2))
        h = h.sum(dim=(2, 3))
        unconditional = self.head(h).squeeze(1)
        out = unconditional
        if self.embed is not None and labels is not None:  # projection: agreement between features and the class
            out = out + (self.embed(labels) * h).sum(dim=1)
        extra = ((self.classify(h),) if with_logits else ()) + ((unconditional,) if with_unconditional else ())
        return (out, *extra) if extra else out
