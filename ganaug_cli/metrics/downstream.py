"""Did the synthetic images help? The same small classifier trained on real images only
and on real + synthetic, both scored on the same held-out real images."""

import statistics

import torch

from ganaug_cli.metrics.classifier import predict, train_classifier


def stratified_split(labels: torch.Tensor, held_out: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, held-out) with every class split in the same proportion (fixed seed)."""
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in labels.unique():
        members = torch.nonzero(labels == c).squeeze(1)
        members = members[torch.randperm(len(members), generator=generator)]
        cut = max(1, round(len(members) * held_out)) if len(members) > 1 else 0
        test.append(members[:cut])
        train.append(members[cut:])
    return torch.cat(train), torch.cat(test)


def accuracy(model, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(model, images).argmax(1) == labels).float().mean())


def downstream_gain(
    real: torch.Tensor,
    real_labels: torch.Tensor,
    synthetic: torch.Tensor,
    synthetic_labels: torch.Tensor,
    num_classes: int,
    seeds: tuple[int, ...] = (0, 1, 2),
    held_out: float = 0.3,
    **train_options,
) -> dict:
    """Held-out accuracy (mean ± std over seeds) of real-only vs real + synthetic training."""
    train, test = stratified_split(real_labels, held_out)
    arms = {
        "real": (real[train], real_labels[train]),
        "real+synthetic": (torch.cat([real[train], synthetic]), torch.cat([real_labels[train], synthetic_labels])),
    }
    result = {"held_out_images": len(test), "train_real_images": len(train), "synthetic_images": len(synthetic)}
    for name, (images, labels) in arms.items():
        scores = [accuracy(train_classifier(images, labels, num_classes, seed=s, **train_options), real[test], real_labels[test]) for s in seeds]
        result[name] = {"mean": statistics.mean(scores), "std": statistics.pstdev(scores), "runs": scores}
    result["gain"] = result["real+synthetic"]["mean"] - result["real"]["mean"]
    return result
