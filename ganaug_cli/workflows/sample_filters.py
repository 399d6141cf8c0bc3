"""Keep only samples worth adding: not copies of training images, confidently of their class.

Both judges come from the real folder: the domain classifier (trained on it) and its
feature space. A conditional GAN trained briefly on a few images per class makes many
samples that look like another class; mixed into training they lower accuracy.
"""

from pathlib import Path

import numpy as np
import torch

from ganaug_cli.errors import GanaugError
from ganaug_cli.metrics.classifier import extract_features, predict
from ganaug_cli.metrics.domain import domain_classifier
from ganaug_cli.metrics.sample_quality import CopyDetector, DuplicateDetector
from ganaug_cli.sampling.generate import SampleFilter
from ganaug_cli.sampling.source import LoadedModel


class FilterStats:
    def __init__(self):
        self.drawn = self.rejected_class = self.rejected_copy = self.rejected_duplicate = 0

    @property
    def rejection_rate(self) -> float:
        rejected = self.rejected_class + self.rejected_copy + self.rejected_duplicate
        return rejected / self.drawn if self.drawn else 0.0


def build_filter(
    loaded: LoadedModel,
    data: Path | None,
    min_confidence: float | None,
    reject_copies: bool,
    stats: FilterStats,
    reject_duplicates: bool = False,
    exclude: set[str] | None = None,
) -> SampleFilter | None:
    """A filter for ``sample_images`` (None when no filtering was asked for); its judges learn
    from the real images less ``exclude`` (augment's held-out images, kept unseen)."""
    if not reject_copies and not min_confidence and not reject_duplicates:
        return None
    if min_confidence and not loaded.conditional:
        raise GanaugError("--min-confidence needs a class-conditional run (this run has no classes)")
    data = loaded.data_folder(data, "the filters")
    real = loaded.real_images(data).without(exclude or set())
    classifier = domain_classifier(real.images, real.labels, real.class_names, loaded.run_dir / "eval")
    to_real_class = {i: real.class_names.index(n) for i, n in enumerate(loaded.class_names) if n in real.class_names}
    if min_confidence and len(to_real_class) < len(loaded.class_names):
        raise GanaugError(f"{data}: its classes do not match the run's ({', '.join(loaded.class_names)})")
    copies = CopyDetector(extract_features(classifier, real.images)) if reject_copies or reject_duplicates else None
    duplicates = DuplicateDetector(copies.threshold) if reject_duplicates else None

    def keep(arrays: np.ndarray, class_index: int) -> np.ndarray:
        images = torch.from_numpy(arrays).permute(0, 3, 1, 2)
        mask = torch.ones(len(images), dtype=torch.bool)
        stats.drawn += len(images)
        if min_confidence:
            confident = predict(classifier, images)[:, to_real_class[class_index]] >= min_confidence
            stats.rejected_class += int((~confident).sum())
            mask &= confident
        features = extract_features(classifier, images) if copies is not None else None
        if reject_copies:
            copied = copies.flags(features) & mask
            stats.rejected_copy += int(copied.sum())
            mask &= ~copied
        if duplicates is not None:
            repeated = duplicates.flags(features, class_index, mask)
            stats.rejected_duplicate += int(repeated.sum())
            mask &= ~repeated
        return mask.numpy()

    return keep
