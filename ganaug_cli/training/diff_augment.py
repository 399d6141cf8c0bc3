"""Differentiable augmentation (DiffAugment) with an optional adaptive strength (as ADA).

The same random transforms are applied to real and generated images before every
discriminator call, so the discriminator cannot memorise a small folder while
gradients still flow to the generator. Images are in [-1, 1].
"""

import torch
import torch.nn.functional as F


def _brightness(x):
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def _saturation(x):
    if x.shape[1] < 3:
        return x
    rgb, rest = x[:, :3], x[:, 3:]
    mean = rgb.mean(dim=1, keepdim=True)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2
    return torch.cat([(rgb - mean) * factor + mean, rest], dim=1)


def _contrast(x):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5
    return (x - mean) * factor + mean


def color(x):
    return _contrast(_saturation(_brightness(x)))


def translation(x, ratio: float = 0.125):
    """Shift by up to ``ratio`` of the size, filling with zeros (mid-gray)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    padded = F.pad(x, (1, 1, 1, 1))
    rows = rows.clamp(-1, h).add(1).expand(n, h, w)
    cols = cols.clamp(-1, w).add(1).expand(n, h, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1).expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x, ratio: float = 0.5):
    """Zero one square of ``ratio`` of the side at a random place."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


OPERATIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: list[str], p: float) -> torch.Tensor:
    """Apply ``policy`` to each image with probability ``p``."""
    if not policy or p <= 0:
        return x
    out = x
    for name in policy:
        out = OPERATIONS[name](out)
    if p >= 1:
        return out
    chosen = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < p
    return torch.where(chosen, out, x)


class AdaptiveStrength:
    """Raise p when the discriminator is overconfident on reals (overfitting), lower it otherwise."""

    def __init__(self, p: float, target: float, adjust_images: int, interval: int, batch_size: int):
        self.p, self.target = p, target
        self.step_size = batch_size * interval / adjust_images
        self.interval = interval
        self._signs: list[float] = []

    def observe(self, sign: torch.Tensor) -> None:
        """``sign``: the batch's mean sign of the discriminator's scores on real images."""
        self._signs.append(sign.item())
        if len(self._signs) >= self.interval:
            r_t = sum(self._signs) / len(self._signs)
            self.p = min(1.0, max(0.0, self.p + (self.step_size if r_t > self.target else -self.step_size)))
            self._signs.clear()

    def state_dict(self) -> dict:
        return {"p": self.p, "signs": list(self._signs)}

    def load_state_dict(self, state: dict) -> None:
        self.p = float(state["p"])
        self._signs = list(state["signs"])
