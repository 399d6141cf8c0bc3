"""A small CNN classifier trained on the user's own folder.

It judges class fidelity of conditional samples and gives the domain feature
space for the metrics, fully offline: nothing is downloaded.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganaug_cli.metrics.classical_transforms import AUGMENTATIONS


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


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    augment: str = "shift",
    min_steps: int = 300,
    width: int = 32,
    synthetic: tuple[torch.Tensor, torch.Tensor] | None = None,
    synthetic_share: float = 0.0,
) -> DomainClassifier:
    """Train on uint8 or float [0, 1] images; small folders get at least ``min_steps`` updates.

    ``augment`` is none, shift or classical (see classical_transforms). With ``synthetic``
    images, ``synthetic_share`` of every batch is drawn from them (epochs count real images).
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    data = _as_float(images)
    model = DomainClassifier(data.shape[1], num_classes, width=width)
    n = data.shape[0]
    fake_per_batch = round(batch_size * synthetic_share) if synthetic is not None else 0
    real_per_batch = batch_size - fake_per_batch
    steps_per_epoch = math.ceil(n / real_per_batch)
    total_steps = max(epochs * steps_per_epoch, min_steps)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total_steps)
    augmentation = AUGMENTATIONS[augment]
    model.train()
    for step in range(total_steps):
        if step % steps_per_epoch == 0:
            order = torch.randperm(n, generator=generator)
        index = order[(step % steps_per_epoch) * real_per_batch :][:real_per_batch]
        batch, batch_labels = data[index], labels[index]
        if fake_per_batch:
            chosen = torch.randint(len(synthetic[0]), (fake_per_batch,), generator=generator)
            batch = torch.cat([batch, _as_float(synthetic[0][chosen])])
            batch_labels = torch.cat([batch_labels, synthetic[1][chosen]])
        # No label smoothing: its probabilities are used as confidences (smoothing would cap them).
        loss = F.cross_entropy(model(augmentation(batch, generator)), batch_labels)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval()


def _as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255 if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def predict(model: DomainClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities for uint8 or [0, 1] images."""
    data = _as_float(images)
    return torch.cat([model(data[i : i + batch_size]).softmax(dim=1) for i in range(0, len(data), batch_size)])


@torch.no_grad()
def extract_features(model: DomainClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    data = _as_float(images)
    return torch.cat([model.features(data[i : i + batch_size]) for i in range(0, len(data), batch_size)])
