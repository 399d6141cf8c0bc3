"""Inception-v3 features (2048-d pool features), only from weights already on disk.

ganaug never downloads: the weights file must already be in torch's hub cache,
as torchvision leaves it after ``inception_v3(weights="DEFAULT")`` on a machine
with internet access.
"""

from pathlib import Path

import torch
import torch.nn.functional as F

from ganaug_cli.errors import GanaugError

WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"


def weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def require_weights() -> Path:
    """The weights file, or a one-line error saying where to put it (checked before any work)."""
    path = weights_path()
    if not path.is_file():
        raise GanaugError(
            f"--features inception needs torchvision's Inception-v3 weights at {path} "
            f"(copy {WEIGHTS_FILE} there from a machine where torchvision has downloaded it), "
            "or use the default --features domain"
        )
    return path


def load_inception(device: torch.device) -> torch.nn.Module:
    from torchvision.models import inception_v3

    path = require_weights()
    model = inception_v3(weights=None, aux_logits=True, init_weights=False)
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:
        raise GanaugError(f"{path}: not usable Inception-v3 weights ({exc.__class__.__name__})") from None
    model.fc = torch.nn.Identity()  # keep the 2048-d pooled features
    return model.eval().to(device)


@torch.no_grad()
def inception_features(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Features of uint8 N×C×H×W images (gray and RGBA become RGB), resized to 299×299."""
    device = next(model.parameters()).device
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device).float() / 255
        batch = batch[:, :3] if batch.shape[1] >= 3 else batch.expand(-1, 3, -1, -1)
        batch = F.interpolate(batch, size=(299, 299), mode="bilinear", antialias=True, align_corners=False)
        out.append(model((batch - mean) / std).cpu())
    return torch.cat(out)
