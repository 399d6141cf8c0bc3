"""The denoising auto-encoder: a small U-Net that, given an image corrupted by Gaussian noise
of level sigma (and the class), returns its estimate of the clean image.

Trained at one level it is the classic denoising auto-encoder (Vincent et al. 2008); trained
over a range of levels its error D(x; sigma) - x is sigma² times the score of the noisy data
(Vincent 2011), which the samplers (models/dae_samplers.py) follow down to the data.
The network's input and output are scaled per level as in Karras et al. 2022 (EDM), so that
it sees and predicts unit-variance signals at every level.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganaug_cli.config.dae import resolve_sampler
from ganaug_cli.models.base import GenerativeModel
from ganaug_cli.models.dae_samplers import SAMPLERS

EMBED_FREQUENCIES = 16  # sin/cos pairs that encode the noise level


def groups_for(channels: int) -> int:
    # Groups of at least 8 channels: normalising fewer values (a 1×1 image) would erase them.
    return max(1, min(32, channels // 8))


class ResBlock(nn.Module):
    """Two convolutions with the noise level and class as a per-channel scale and shift."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_for(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(embed_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(groups_for(c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable from the first step
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, embed: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(embed)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm2(h) * (1 + scale) + shift)
        return self.skip(x) + self.conv2(h)


class Denoiser(GenerativeModel):
    family = "dae"

    def __init__(self, resolution: int, channels: int, width: int, levels: int, num_classes: int, noise: str,
                 sigma: float, sigma_min: float, sigma_max: float, sigma_data: float):
        """The noise settings are the run's DaeModelConfig (where their defaults live)."""
        super().__init__(resolution=resolution, channels=channels, width=width, levels=levels,
                         num_classes=num_classes, noise=noise, sigma=sigma, sigma_min=sigma_min,
                         sigma_max=sigma_max, sigma_data=sigma_data)
        plan = [min(width * 2**i, 256) for i in range(levels)]
        embed_dim = 4 * width
        self.noise_mlp = nn.Sequential(nn.Linear(2 * EMBED_FREQUENCIES, embed_dim), nn.SiLU(),
                                       nn.Linear(embed_dim, embed_dim))
        # One more class than the data's: "no class", what label dropout trains and guidance contrasts.
        self.class_embed = nn.Embedding(num_classes + 1, embed_dim) if num_classes else None
        self.stem = nn.Conv2d(channels, plan[0], 3, padding=1)
        self.down = nn.ModuleList(ResBlock(a, b, embed_dim) for a, b in zip([plan[0], *plan], plan))
        self.middle = ResBlock(plan[-1], plan[-1], embed_dim)
        # The decoder adds each encoder level's features (cheaper than concatenating them, which
        # matters for sampling speed on a CPU), after a 1×1 convolution matches the channels.
        self.lift = nn.ModuleList(nn.Conv2d(plan[i + 1], plan[i], 1) for i in range(levels - 1))
        self.up = nn.ModuleList(ResBlock(plan[i], plan[i], embed_dim) for i in range(levels))
        self.out_norm = nn.GroupNorm(groups_for(plan[0]), plan[0])
        self.out = nn.Conv2d(plan[0], channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def null_class(self) -> int:
        return self.num_classes

    def embed(self, sigma: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        c_noise = sigma.log() / 4
        frequencies = torch.arange(EMBED_FREQUENCIES, device=sigma.device, dtype=sigma.dtype)
        angles = c_noise[:, None] * (2 ** frequencies)[None] * math.pi / 8
        embed = self.noise_mlp(torch.cat([angles.sin(), angles.cos()], dim=1))
        if self.class_embed is not None:
            if labels is None:
                labels = torch.full_like(sigma, self.null_class, dtype=torch.long)
            embed = embed + self.class_embed(labels)
        return F.silu(embed)

    def encode(self, x: torch.Tensor, embed: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The encoder's features at its lowest resolution, and the skips for the decoder."""
        h = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, embed)
            skips.append(h)
            if i + 1 < len(self.down):
                h = F.avg_pool2d(h, 2)
        return self.middle(h, embed), skips

    def decode_features(self, h: torch.Tensor, skips: list[torch.Tensor], embed: torch.Tensor) -> torch.Tensor:
        for level in reversed(range(len(self.up))):
            if level < len(self.lift):
                h = self.lift[level](F.interpolate(h, scale_factor=2, mode="nearest"))
            h = self.up[level](h + skips[level], embed)
        return self.out(F.silu(self.out_norm(h)))

    def scalings(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """c_skip, c_out and c_in for N noise levels, shaped N×1×1×1 (EDM's preconditioning)."""
        s, d = sigma[:, None, None, None], self.args["sigma_data"]
        total = s**2 + d**2
        return d**2 / total, s * d / total.sqrt(), 1 / total.sqrt()

    def network(self, noisy: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor | None,
                with_features: bool = False):
        """The raw network output F (D = c_skip·noisy + c_out·F) and, if asked, the encoder's features."""
        _, _, c_in = self.scalings(sigma)
        embed = self.embed(sigma, labels)
        h, skips = self.encode(c_in * noisy, embed)
        out = self.decode_features(h, skips, embed)
        return (out, h) if with_features else out

    def forward(self, noisy: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The denoised images D(noisy; sigma) in [-1, 1] scale; ``sigma`` has one level per image."""
        c_skip, c_out, _ = self.scalings(sigma)
        return c_skip * noisy + c_out * self.network(noisy, sigma, labels)

    def guided(self, labels: torch.Tensor | None, guidance: float):
        """D(x; sigma) for the samplers: conditional, unconditional, or pushed by ``guidance``
        from the unconditional estimate past the conditional one (classifier-free guidance)."""

        def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
            levels = torch.full((x.shape[0],), sigma, device=x.device, dtype=x.dtype)
            if labels is None or self.class_embed is None or guidance == 1:
                return self(x, levels, labels if self.class_embed is not None else None)
            both = self(torch.cat([x, x]), torch.cat([levels, levels]),
                        torch.cat([labels, torch.full_like(labels, self.null_class)]))
            conditional, unconditional = both.chunk(2)
            return unconditional + guidance * (conditional - unconditional)

        return denoise

    @torch.no_grad()
    def sample(self, n, labels, generator, *, sampler, steps, langevin_steps, langevin_size, chain_steps, guidance):
        """``sampler`` and the rest: the DaeSampleOptions fields."""
        device = next(self.parameters()).device
        labels = labels.to(device) if labels is not None else None
        chosen = resolve_sampler(sampler, self.args["noise"])
        size = self.args["resolution"]
        noise = torch.randn((n, self.args["channels"], size, size), generator=generator, device=generator.device)
        settings = {"heun": {"steps": steps},
                    "langevin": {"steps": steps, "per_level": langevin_steps, "size": langevin_size},
                    "chain": {"steps": chain_steps}}[chosen]
        levels = {key: self.args[key] for key in ("sigma", "sigma_min", "sigma_max")}
        images = SAMPLERS[chosen](self.guided(labels, guidance), noise.to(device), generator, **levels, **settings)
        return ((images.clamp(-1, 1) + 1) / 2).float()
