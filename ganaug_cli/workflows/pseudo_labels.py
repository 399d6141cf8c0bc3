"""Unlabelled images of the user's domain, given a class by a classifier trained on the real
folder (pseudo-labels), and added to augment's folder only when the held-out check shows that
they help.

The teacher is trained on the real images less the held-out ones, so the check scores on
images that neither the teacher nor the judge saw. The "spread" teacher also learns from the
unlabelled images: label spreading over a nearest-neighbour graph of all of them gives each a
class, and the classifier is trained on the real images plus each class's surest spread labels
(half the unlabelled folder in all); the "labelled" teacher is trained on the real images
alone. Images the teacher is unsure of are left out (``min_confidence``); each class's most
confident images come first, so a smaller share keeps the surest ones. The files are copied
unchanged (they are real images, only their class is a guess) as ``ganaug-pseudo-NNNNNN.ext``,
and the manifest marks them with their confidence.
The unlabelled folder is only read.
"""

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganaug_cli.data import ImageFolder
from ganaug_cli.data.unlabelled import read_unlabelled
from ganaug_cli.metrics.classifier import predict
from ganaug_cli.metrics.domain import DomainClassifier, domain_classifier
from ganaug_cli.metrics.label_spreading import image_features, spread_labels
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.workflows.held_out import split_of
from ganaug_cli.workflows.share_check import ShareCheck, ShareChoice, choose_share, first_per_class, synthetic_per_class

log = logging.getLogger("ganaug")
PSEUDO_PREFIX = "ganaug-pseudo-"


@dataclass
class PseudoLabelPlan:
    folder: Path
    min_confidence: float
    shares: list[float]  # shares of the folder the check tries for them, besides 0
    share: float | None = None  # this share, unchecked, instead of the check's choice
    teacher: str = "spread"  # spread or labelled (see the module's docstring)


@dataclass
class PseudoLabels:
    """What the pseudo-label step found and kept, for augment's report."""

    folder: Path
    teacher: str
    unlabelled: int = 0
    confident: dict[str, int] = field(default_factory=dict)  # per class, before the check
    added: dict[str, int] = field(default_factory=dict)
    share: ShareChoice | None = None

    def as_dict(self) -> dict:
        return {"folder": str(self.folder), "teacher": self.teacher, "unlabelled_images": self.unlabelled,
                "confident": self.confident, "added": self.added,
                "share_check": self.share.as_dict() if self.share else None}


def add_pseudo_labels(
    real: ImageFolder, held: set[str], plan: PseudoLabelPlan, check: ShareCheck, out: Path, cache_dir: Path,
    progress: Progress = SILENT,
) -> tuple[PseudoLabels, list[dict]]:
    """Copy the confidently labelled unlabelled images that help into ``out``'s class folders;
    returns what was done and their manifest records."""
    result = PseudoLabels(Path(plan.folder), plan.teacher)
    unlabelled = read_unlabelled(plan.folder, real.resolution, real.images.shape[1], progress)
    result.unlabelled = len(unlabelled.files)
    seen = real.without(held)
    teacher = _teacher(plan.teacher, seen, unlabelled, cache_dir)
    confidence, guess, order = _surest_first(predict(teacher, unlabelled.images))
    order = order[confidence[order] >= plan.min_confidence]
    result.confident = {name: int((guess[order] == c).sum()) for c, name in enumerate(real.class_names)}
    log.info("pseudo-labels: %d of %d unlabelled images have a class with probability >= %g", len(order),
             len(unlabelled.files), plan.min_confidence)
    if not len(order):
        return result, []
    if plan.share is None:
        result.share = choose_share(real.images, real.labels, unlabelled.images[order], guess[order],
                                    len(real.class_names), shares=plan.shares, seeds=check.seeds,
                                    held_out=check.held_out, split=split_of(real.files, held), judge=check.judge,
                                    largest=True, progress=progress)
        log.info("held-out check of the pseudo-labels: %s", result.share.reason)
    share = plan.share if plan.share is not None else result.share.share
    counts = [min(synthetic_per_class(n, share), result.confident[name])
              for name, n in zip(real.class_names, real.class_counts())]
    chosen = order[first_per_class(guess[order], counts)]
    return result, _copy_chosen(unlabelled, chosen, guess, confidence, real.class_names, out, result)


def _surest_first(probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each image's likeliest class and its probability, and the images in order, surest first."""
    confidence, guess = probabilities.max(dim=1)
    return confidence, guess, torch.argsort(confidence, descending=True, stable=True)


def _teacher(kind: str, seen: ImageFolder, unlabelled: ImageFolder, cache_dir: Path) -> DomainClassifier:
    if kind == "labelled":
        return domain_classifier(seen.images, seen.labels, seen.class_names, cache_dir)
    log.info("pseudo-labels: spreading %d labels over %d unlabelled images", len(seen.images), len(unlabelled.images))
    images = torch.cat([seen.images, unlabelled.images])
    unknown = torch.full((len(unlabelled.images),), -1, dtype=seen.labels.dtype)
    spread = spread_labels(image_features(images), torch.cat([seen.labels, unknown]), len(seen.class_names))
    _, guess, order = _surest_first(spread[len(seen.images):])
    per_class = max(1, len(order) // (2 * len(seen.class_names)))
    picked = order[first_per_class(guess[order], [per_class] * len(seen.class_names))]
    log.info("pseudo-labels: the teacher learns from the real images and %d spread labels", len(picked))
    return domain_classifier(torch.cat([seen.images, unlabelled.images[picked]]),
                             torch.cat([seen.labels, guess[picked]]), seen.class_names, cache_dir)


def _copy_chosen(unlabelled: ImageFolder, chosen: torch.Tensor, guess: torch.Tensor, confidence: torch.Tensor,
                 class_names: list[str], out: Path, result: PseudoLabels) -> list[dict]:
    records = []
    for number, index in enumerate(chosen.tolist()):
        source = Path(result.folder) / unlabelled.files[index]
        name = class_names[int(guess[index])]
        relative = f"{name}/{PSEUDO_PREFIX}{number:06d}{source.suffix.lower()}"
        (out / name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, out / relative)
        result.added[name] = result.added.get(name, 0) + 1
        records.append({"file": relative, "class": name, "synthetic": False, "pseudo_label": True,
                        "confidence": round(float(confidence[index]), 4), "source": str(source)})
    return records
