"""How close generated images are to real ones, measured in a feature space.

FID and KID come from torchmetrics, fed precomputed features; precision and
recall follow Kynkäänniemi et al. (2019): k-nearest-neighbour balls around each
real (generated) feature approximate the real (generated) manifold.
"""

import warnings
from dataclasses import dataclass

import torch
from torch import nn


class PrecomputedFeatures(nn.Module):
    """Lets torchmetrics take features computed once, instead of images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return max(float(metric.compute()), 0.0)


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = 50, subset_size: int = 1000) -> tuple[float, float]:
    """Kernel distance as (mean, std) over random subsets."""
    from torchmetrics.image.kid import KernelInceptionDistance

    size = max(2, min(subset_size, min(len(real), len(fake)) // 2))  # random halves give a spread
    with warnings.catch_warnings():  # its note about keeping features in memory: ours are small
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), subsets=subsets, subset_size=size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    mean, std = metric.compute()
    return float(mean), float(std)


def _kth_neighbour_radius(features: torch.Tensor, k: int) -> torch.Tensor:
    distances = torch.cdist(features, features)
    return distances.kthvalue(k + 1, dim=1).values  # +1: each point is its own nearest neighbour


def _inside_manifold(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    return (torch.cdist(points, centres) <= radii[None, :]).any(dim=1)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Precision: share of samples inside the real manifold; recall: share of reals inside the samples'."""
    real, fake = real.float(), fake.float()
    precision = _inside_manifold(fake, real, _kth_neighbour_radius(real, k)).float().mean()
    recall = _inside_manifold(real, fake, _kth_neighbour_radius(fake, k)).float().mean()
    return float(precision), float(recall)


class CopyDetector:
    """Flags samples closer to a training image than real images typically are to each other.

    "Typically" is the ``quantile`` of each training image's distance to its nearest other
    training image: a generator that samples the real distribution flags about that share,
    one that copies flags far more (an exact copy is at distance 0).
    """

    def __init__(self, train: torch.Tensor, quantile: float = 0.05):
        self.train = train.float()
        real_to_real = torch.cdist(self.train, self.train).fill_diagonal_(float("inf")).min(dim=1).values
        self.threshold = torch.quantile(real_to_real, quantile)

    def flags(self, fake: torch.Tensor) -> torch.Tensor:
        return torch.cdist(fake.float(), self.train).min(dim=1).values < self.threshold


class DuplicateDetector:
    """Flags samples closer to an already kept sample of their class than ``threshold`` (a
    CopyDetector's: closer than real images typically are to each other), so a class whose
    generator repeats one image keeps it once."""

    def __init__(self, threshold: torch.Tensor):
        # Features of one image differ by float noise between batches, so when real images repeat
        # themselves (threshold 0) exact repeats still count.
        self.threshold = max(float(threshold), 1e-3)
        self.kept: dict[int, torch.Tensor] = {}

    def flags(self, features: torch.Tensor, class_index: int, candidates: torch.Tensor) -> torch.Tensor:
        """Which rows are near-duplicates; the ``candidates`` rows that are not become kept ones."""
        kept = self.kept.get(class_index, features.new_zeros((0, features.shape[1])))
        flagged = torch.zeros(len(features), dtype=torch.bool)
        for i in torch.nonzero(candidates).squeeze(1).tolist():  # in order: a batch's own repeats count too
            row = features[i : i + 1].float()
            if len(kept) and torch.cdist(row, kept, compute_mode="donot_use_mm_for_euclid_dist").min() < self.threshold:
                flagged[i] = True
            else:
                kept = torch.cat([kept, row])
        self.kept[class_index] = kept
        return flagged


@dataclass
class SampleQuality:
    fid: float
    kid_mean: float
    kid_std: float
    precision: float
    recall: float
    copies: float  # share of samples flagged by CopyDetector

    def as_dict(self) -> dict:
        return {k: round(v, 6) for k, v in self.__dict__.items()}


def sample_quality(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> SampleQuality:
    """All metrics between real and generated features.

    Features are scaled to unit length first, so that KID's polynomial kernel does not
    depend on the feature network's activation scale (unnormalised, a small set compared
    with itself would score far from 0 because each point's kernel with itself dominates).
    """
    real = torch.nn.functional.normalize(real.double(), dim=1)
    fake = torch.nn.functional.normalize(fake.double(), dim=1)
    kid_mean, kid_std = kid(real, fake)
    precision, recall = precision_recall(real, fake, k)
    return SampleQuality(
        fid=fid(real, fake),
        kid_mean=kid_mean,
        kid_std=kid_std,
        precision=precision,
        recall=recall,
        copies=float(CopyDetector(real).flags(fake).float().mean()),
    )
