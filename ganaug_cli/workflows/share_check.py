"""How many synthetic images to add, measured on the user's own folder.

A share s means that s of the training files are synthetic, as a classifier that reads the
augmented folder uniformly sees them. For each of a few seeds, part of the real images is
held out (stratified; the seed picks the split) and the judge classifier is trained on the
rest with real images alone and with each candidate share, then scored on the held-out
images. A share is chosen only when it beat real images alone on every split, by a mean
gain of more than two standard errors; the best of several noisy candidates would
otherwise often look like a gain. Else the answer is 0: augment writes no synthetic image.
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
    """Better on every split, and by a mean gain of more than two standard errors of the
    paired differences (trial and baseline share each split and seed)."""
    gains = [a - b for a, b in zip(trial.accuracies, baseline.accuracies)]
    if min(gains) <= 0:
        return False
    if len(gains) == 1:
        return True
    return statistics.mean(gains) > 2 * statistics.stdev(gains) / math.sqrt(len(gains))


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
    candidates = [0.0, *shares]
    accuracies: dict[float, list[float]] = {share: [] for share in candidates}
    with progress.task("share check", total=len(candidates) * seeds, unit="judge") as bar:
        for seed in range(seeds):
            train, test = stratified_split(real_labels, held_out, seed=SPLIT_SEED + seed)
            x, y, x_test, y_test = real[train], real_labels[train], real[test], real_labels[test]
            train_counts = torch.bincount(y, minlength=num_classes).tolist()
            for share in candidates:
                # The images the folder would hold at this share, in proportion to the training part.
                chosen = first_per_class(synthetic_labels, [synthetic_per_class(c, share) for c in train_counts])
                pool = (synthetic[chosen], synthetic_labels[chosen]) if len(chosen) else None
                model = train_classifier(x, y, num_classes, seed=seed, synthetic=pool,
                                         synthetic_share=share if pool else 0.0, **(judge or {}))
                accuracies[share].append(float((predict(model, x_test).argmax(1) == y_test).float().mean()))
                bar.update(1, share=share)
    trials = [ShareTrial(share, accuracies[share]) for share in candidates]
    baseline = trials[0]
    winners = [t for t in trials[1:] if helped(t, baseline)]
    choice = ShareChoice(0.0, "", trials, len(test), len(train))
    if winners:
        best = max(winners, key=lambda t: t.mean)
        choice.share = best.share
        choice.reason = (f"share {best.share:g} beat real images alone on each of {seeds} held-out splits: "
                         f"{best.mean:.1%} ± {best.std:.1%} against {baseline.mean:.1%} ± {baseline.std:.1%}")
    else:
        best = max(trials[1:], key=lambda t: t.mean)
        choice.reason = (f"no share beat real images alone ({baseline.mean:.1%} ± {baseline.std:.1%}) on every "
                         f"held-out split by more than two standard errors (best: share {best.share:g}, "
                         f"{best.mean:.1%} ± {best.std:.1%})")
    return choice


def synthetic_per_class(real_count: int, share: float) -> int:
    """Synthetic files that make ``share`` of a class of ``real_count`` real files."""
    return round(real_count * share / (1 - share)) if share > 0 else 0


def first_per_class(labels: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """Indices of the first ``counts[c]`` entries of each class c (in their order)."""
    chosen = [torch.nonzero(labels == c).squeeze(1)[:count] for c, count in enumerate(counts)]
    return torch.cat(chosen).sort().values if chosen else torch.zeros(0, dtype=torch.long)
