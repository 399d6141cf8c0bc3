"""How many synthetic images to add, measured on the user's own folder.

A share s means that s of the training files are synthetic, as a classifier that reads the
augmented folder uniformly sees them. Part of the real images is held out (stratified) and
the judge classifier is trained on the rest with real images alone and with each candidate
share, a few seeds each, then scored on the held-out images. The split is the one the
generator was trained without, when there is one (images the generator learned from would
flatter its samples); else each seed draws a fresh split.

A share is chosen only when it beat real images alone with every seed, by a mean gain of
more than two standard errors over the seeds and over the held-out images (paired: each
image is scored by both arms). The best of several noisy candidates would otherwise often
look like a gain, and a small held-out set cannot show a small gain: then the answer is 0,
and augment writes no synthetic image. Pseudo-labelled images take the largest share that
helped instead of the best scoring one (see choose_share).
"""

import math
import statistics
from dataclasses import dataclass, field

import torch

from ganaug_cli.config.commands import AugmentCommandConfig
from ganaug_cli.metrics.classifier import predict, train_classifier
from ganaug_cli.metrics.downstream import stratified_split
from ganaug_cli.progress import SILENT, Progress

SPLIT_SEED = 0


@dataclass
class ShareCheck:
    """The held-out check's settings (AugmentCommandConfig holds their defaults)."""

    shares: list[float]
    seeds: int
    held_out: float
    min_class_images: int
    judge: dict  # train_classifier's width, min_steps, epochs

    @classmethod
    def from_config(cls, config: AugmentCommandConfig) -> "ShareCheck":
        judge = {"width": config.judge_width, "min_steps": config.judge_steps, "epochs": config.judge_epochs}
        return cls(list(config.check_shares), config.check_seeds, config.held_out, config.min_class_images, judge)


@dataclass
class ShareTrial:
    share: float
    accuracies: list[float]  # one per seed
    # Per seed: which held-out images (indices into the real images) and whether each was right.
    scored: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list, repr=False)

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
    unseen_by_generator: bool = False  # the held-out images were left out of the generator's training

    def as_dict(self) -> dict:
        return {"chosen_share": self.share, "reason": self.reason, "held_out_images": self.held_out_images,
                "train_real_images": self.train_real_images, "held_out_unseen_by_generator": self.unseen_by_generator,
                "trials": [t.as_dict() for t in self.trials]}


def smallest_class(labels: torch.Tensor) -> int:
    return int(torch.bincount(labels).min()) if len(labels) else 0


def two_standard_errors_above_zero(gains: list[float]) -> bool:
    if len(gains) < 2:
        return len(gains) == 1 and gains[0] > 0
    return statistics.mean(gains) > 2 * statistics.stdev(gains) / math.sqrt(len(gains))


def image_gains(trial: ShareTrial, baseline: ShareTrial) -> list[float]:
    """Per held-out image: its mean over seeds of (right with the share) - (right without)."""
    total: dict[int, list[float]] = {}
    for (images, right), (base_images, base_right) in zip(trial.scored, baseline.scored):
        assert torch.equal(images, base_images)  # both arms of a seed score the same images
        for image, gain in zip(images.tolist(), (right.float() - base_right.float()).tolist()):
            total.setdefault(image, []).append(gain)
    return [statistics.mean(gains) for gains in total.values()]


def helped(trial: ShareTrial, baseline: ShareTrial) -> bool:
    """Better with every seed, and by a mean gain of more than two standard errors both over
    the seeds and (when the images are known) over the held-out images."""
    gains = [a - b for a, b in zip(trial.accuracies, baseline.accuracies)]
    if min(gains) <= 0 or not two_standard_errors_above_zero(gains):
        return False
    return not trial.scored or two_standard_errors_above_zero(image_gains(trial, baseline))


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
    split: tuple[torch.Tensor, torch.Tensor] | None = None,
    judge: dict | None = None,
    largest: bool = False,
    progress: Progress = SILENT,
) -> ShareChoice:
    """The best of ``shares`` (or 0) for real + synthetic N×C×H×W uint8 images.

    ``split`` (train, held-out indices into ``real``) is the generator's own, used by every
    seed; without it each seed draws a stratified ``held_out`` split. ``judge`` holds
    train_classifier's options (width, epochs, min_steps). Of the shares that helped, the one
    that scored best is chosen, or with ``largest`` the largest: a few held-out images cannot
    tell apart shares that all helped, and for pseudo-labelled images (real ones) more helped.
    """
    candidates = [0.0, *shares]
    trials = {share: ShareTrial(share, []) for share in candidates}
    with progress.task("share check", total=len(candidates) * seeds, unit="judge") as bar:
        for seed in range(seeds):
            train, test = split if split is not None else stratified_split(real_labels, held_out, seed=SPLIT_SEED + seed)
            x, y, x_test, y_test = real[train], real_labels[train], real[test], real_labels[test]
            train_counts = torch.bincount(y, minlength=num_classes).tolist()
            for share in candidates:
                # The images the folder would hold at this share, in proportion to the training part.
                chosen = first_per_class(synthetic_labels, [synthetic_per_class(c, share) for c in train_counts])
                pool = (synthetic[chosen], synthetic_labels[chosen]) if len(chosen) else None
                model = train_classifier(x, y, num_classes, seed=seed, synthetic=pool,
                                         synthetic_share=share if pool else 0.0, **(judge or {}))
                right = predict(model, x_test).argmax(1) == y_test
                trials[share].accuracies.append(float(right.float().mean()))
                trials[share].scored.append((test, right))
                bar.update(1, share=share)
    baseline, others = trials[0.0], [trials[share] for share in shares]
    choice = ShareChoice(0.0, "", list(trials.values()), len(test), len(train), split is not None)
    best = winner(baseline, others, largest)
    if best:
        choice.share = best.share
        choice.reason = (f"share {best.share:g} beat real images alone with each of {seeds} judge seeds, by more "
                         f"than two standard errors: {best.mean:.1%} ± {best.std:.1%} against "
                         f"{baseline.mean:.1%} ± {baseline.std:.1%} on {len(test)} held-out images")
        if largest:
            passed = ", ".join(f"{t.share:g}" for t in others if helped(t, baseline))
            choice.reason += f" (the largest of the shares that did: {passed})"
    else:
        best = max(others, key=lambda t: t.mean)
        choice.reason = (f"no share beat real images alone ({baseline.mean:.1%} ± {baseline.std:.1%} on {len(test)} "
                         f"held-out images) with every seed by more than two standard errors (best: share "
                         f"{best.share:g}, {best.mean:.1%} ± {best.std:.1%})")
    return choice


def winner(baseline: ShareTrial, trials: list[ShareTrial], largest: bool = False) -> ShareTrial | None:
    """Of the trials that helped, the best scoring one, or with ``largest`` the largest share; None if none helped."""
    helping = [t for t in trials if helped(t, baseline)]
    return max(helping, key=lambda t: t.share if largest else t.mean) if helping else None


def synthetic_per_class(real_count: int, share: float) -> int:
    """Synthetic files that make ``share`` of a class of ``real_count`` real files."""
    return round(real_count * share / (1 - share)) if share > 0 else 0


def first_per_class(labels: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """Indices of the first ``counts[c]`` entries of each class c (in their order)."""
    chosen = [torch.nonzero(labels == c).squeeze(1)[:count] for c, count in enumerate(counts)]
    return torch.cat(chosen).sort().values if chosen else torch.zeros(0, dtype=torch.long)
