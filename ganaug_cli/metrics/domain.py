"""The domain feature network: a classifier trained on the user's real folder, cached.

It works offline (nothing is downloaded) and speaks the user's own classes, so it
gives both a feature space for FID/KID/precision/recall and a judge of whether a
conditional sample looks like its class.
"""

import hashlib
import logging
from pathlib import Path

import torch

from ganaug_cli.errors import CheckpointError
from ganaug_cli.metrics.classifier import DomainClassifier, train_classifier
from ganaug_cli.runs import write_atomic

log = logging.getLogger("ganaug")
DOMAIN_FORMAT = 1


def data_fingerprint(images: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(images.contiguous().numpy().tobytes())
    digest.update(labels.numpy().tobytes())
    digest.update("\n".join(class_names).encode())
    return digest.hexdigest()[:24]


def domain_classifier(
    images: torch.Tensor, labels: torch.Tensor, class_names: list[str], cache_dir: Path, seed: int = 0
) -> DomainClassifier:
    """The classifier for this exact real data, trained once and then read from ``cache_dir``."""
    key = data_fingerprint(images, labels, class_names)
    path = Path(cache_dir) / f"domain-classifier-{key}.pt"
    if path.exists():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            model = DomainClassifier(**saved["args"])
            model.load_state_dict(saved["state"])
            return model.eval()
        except Exception:  # a damaged cache only costs a retraining
            log.warning("warning: retraining the domain classifier (unreadable cache %s)", path)
    log.info("training the domain classifier on %d real images (cached in %s)", len(images), cache_dir)
    model = train_classifier(images, labels, len(class_names), seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"format": DOMAIN_FORMAT, "args": model.args, "state": model.state_dict()}
    try:
        write_atomic(path, lambda p: torch.save(content, p))
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot cache the domain classifier ({exc})") from None
    return model
