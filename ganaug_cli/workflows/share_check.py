"""How many synthetic images to add, measured on the user's own folder.

A share s means that s of the training files are synthetic, as a classifier that reads the
augmented folder uniformly sees them. Part of the real images is held out (stratified, fixed
seed); the judge classifier is trained on the rest with each candidate share of synthetic
images, a few seeds each, and scored on the held-out images. A share is chosen only when its
mean accuracy beats real images alone by more than the noise between seeds; otherwise the
answer is 0, and augment writes no synthetic image.
"""

import math
import statistics
from dataclasses import dataclass, field

import torch

from ganaug_cli.metrics.classifier import predict, train_classifier
from ganaug_cli.metrics.downstream import stratified_split
from ganaug_cli.progress import SILENT, Progress

SPLIT_SEED = 0


@dataclass
class ShareTrial:
    share: float
    accuracies: list[float]

    @property
    def mean(self) -> float:
        return statistics.mean(self.accuracies)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accuracies)

    def as_dict(self) -> dict:
        return {"share": self.share, "mean": round(self.mean, 4), "std": round(self.std, 4),
                "runs": [round(a, 4) for a in self.accuracies]}


@dataclass
class ShareChoice:
    share: float  # 0: synthetic images did not measurably help
    reason: str
    trials: list[ShareTrial] = field(default_factory=list)
    held_out_images: int = 0
    train_real_images: int = 0

    def as_dict(self) -> dict:
        return {"chosen_share": self.share, "reason": self.reason, "held_out_images": self.held_out_images,
                "train_real_images": self.train_real_images, "trials": [t.as_dict() for t in self.trials]}


def smallest_class(labels: torch.Tensor) -> int:
    return int(torch.bincount(labels).min()) if len(labels) else 0


def helped(trial: ShareTrial, baseline: ShareTrial) -> bool:
    """A gain larger than the standard error of the difference between the two means."""
    noise = math.sqrt((trial.std**2 + baseline.std**2) / len(trial.accuracies))
    return trial.mean - baseline.mean > noise


def choose_share(
    real: torch.Tensor,
    real_labels: torch.Tensor,
    synthetic: torch.Tensor,
    synthetic_labels: torch.Tensor,
    num_classes: int,
    *,
    shares: list[float],
    seeds: int,
    held_out: float,
    judge: dict | None = None,
    progress: Progress = SILENT,
) -> ShareChoice:
    """The best of ``shares`` (or 0) for real + synthetic N×C×H×W uint8 images.

    ``judge`` holds train_classifier's options (width, epochs, min_steps).
    """
    train, test = stratified_split(real_labels, held_out, seed=SPLIT_SEED)
    x, y, x_test, y_test = real[train], real_labels[train], real[test], real_labels[test]
    train_counts = torch.bincount(y, minlength=num_classes).tolist()
    trials = []
    with progress.task("share check", total=(1 + len(shares)) * seeds, unit="judge") as bar:
        for share in [0.0, *shares]:
            # The images the folder would hold at this share, in proportion to the training part.
            wanted = [synthetic_per_class(count, share) for count in train_counts]
            chosen = first_per_class(synthetic_labels, wanted)
            pool = (synthetic[chosen], synthetic_labels[chosen]) if len(chosen) else None
            accuracies = []
            for seed in range(seeds):
                model = train_classifier(x, y, num_classes, seed=seed, synthetic=pool,
                                         synthetic_share=share if pool else 0.0, **(judge or {}))
                accuracies.append(float((predict(model, x_test).argmax(1) == y_test).float().mean()))
                bar.update(1, share=share)
            trials.append(ShareTrial(share, accuracies))
    baseline, best = trials[0], max(trials[1:], key=lambda t: t.mean)
    choice = ShareChoice(0.0, "", trials, len(test), len(train))
    if helped(best, baseline):
        choice.share = best.share
        choice.reason = (f"share {best.share:g} gave {best.mean:.1%} ± {best.std:.1%} on the held-out images, "
                         f"against {baseline.mean:.1%} ± {baseline.std:.1%} with real images alone")
    else:
        choice.reason = (f"no share beat real images alone ({baseline.mean:.1%} ± {baseline.std:.1%}) by more than "
                         f"the spread between seeds (best: share {best.share:g}, {best.mean:.1%} ± {best.std:.1%})")
    return choice


def synthetic_per_class(real_count: int, share: float) -> int:
    """Synthetic files that make ``share`` of a class of ``real_count`` real files."""
    return round(real_count * share / (1 - share)) if share > 0 else 0


def first_per_class(labels: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """Indices of the first ``counts[c]`` entries of each class c (in their order)."""
    chosen = [torch.nonzero(labels == c).squeeze(1)[:count] for c, count in enumerate(counts)]
    return torch.cat(chosen).sort().values if chosen else torch.zeros(0, dtype=torch.long)
