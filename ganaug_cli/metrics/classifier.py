"""A small CNN classifier trained on the user's own folder.

It judges class fidelity of conditional samples and gives the domain feature
space for the metrics, fully offline: nothing is downloaded.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class DomainClassifier(nn.Module):
    def __init__(self, channels: int, num_classes: int, width: int = 32, feature_size: int = 128):
        super().__init__()
        self.args = {"channels": channels, "num_classes": num_classes, "width": width, "feature_size": feature_size}

        def block(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(block(channels, width), block(width, 2 * width), block(2 * width, 4 * width))
        self.features_head = nn.Sequential(nn.Linear(4 * width, feature_size), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.classify = nn.Linear(feature_size, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features of images in [0, 1]."""
        h = self.body(images * 2 - 1).mean(dim=(2, 3))
        return self.features_head(h)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classify(self.dropout(self.features(images)))


def _shift_and_flip(images: torch.Tensor, generator: torch.Generator, flips: bool) -> torch.Tensor:
    """Cheap classical augmentation: random shifts of up to 1/8 of the side, optional flips."""
    n, _, h, w = images.shape
    pad = max(1, h // 8)
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (torch.arange(h)[None, :] + dy[:, None])[:, :, None].expand(n, h, w)
    cols = (torch.arange(w)[None, :] + dx[:, None])[:, None, :].expand(n, h, w)
    out = padded.permute(0, 2, 3, 1)[torch.arange(n)[:, None, None], rows, cols].permute(0, 3, 1, 2)
    if flips:
        flip = torch.rand(n, generator=generator) < 0.5
        out[flip] = out[flip].flip(-1)
    return out


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    augment: bool = True,
    flips: bool = False,
    min_steps: int = 300,
) -> DomainClassifier:
    """Train on uint8 or float [0, 1] images; small folders get at least ``min_steps`` updates."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    data = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    model = DomainClassifier(data.shape[1], num_classes)
    n = data.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = max(epochs * steps_per_epoch, min_steps)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total_steps)
    model.train()
    for step in range(total_steps):
        if step % steps_per_epoch == 0:
            order = torch.randperm(n, generator=generator)
        index = order[(step % steps_per_epoch) * batch_size :][:batch_size]
        batch = data[index]
        if augment:
            batch = _shift_and_flip(batch, generator, flips)
        loss = F.cross_entropy(model(batch), labels[index], label_smoothing=0.1)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval()


@torch.no_grad()
def predict(model: DomainClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities for uint8 or [0, 1] images."""
    data = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return torch.cat([model(data[i : i + batch_size]).softmax(dim=1) for i in range(0, len(data), batch_size)])


@torch.no_grad()
def extract_features(model: DomainClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    data = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    return torch.cat([model.features(data[i : i + batch_size]) for i in range(0, len(data), batch_size)])
