"""Label spreading (Zhou et al., 2004) over a nearest-neighbour graph of labelled and unlabelled images.

Why: a classifier trained on ten images per class knows little of a class beyond those ten; the
unlabelled images lie between them, and a label passed from neighbour to neighbour follows the
data's own shape. augment's pseudo-label teacher learns from the surest spread labels
(workflows/pseudo_labels.py; what that is worth: docs/benchmarks.md, section unlabeled).
"""

import torch
import torch.nn.functional as F

from ganaug_cli.metrics.gradient_features import gradient_histograms

# Rows of the similarity matrix computed at once: the graph of 100,000 images fits in memory.
CHUNK = 2048
# How much the pixels count beside the edges (1): a little, or a shifted outline outweighs its class.
PIXEL_WEIGHT = 0.5


def image_features(images: torch.Tensor, dims: int = 50) -> torch.Tensor:
    """N×C×H×W images as the space whose neighbours the labels spread between: the main axes
    (PCA) of their gradient histograms, for shape, beside those of their pixels at half weight,
    for tone and colour (classes that differ only in colour have the same edges)."""
    shape = F.normalize(principal_axes(gradient_histograms(images), dims), dim=1)
    tone = F.normalize(principal_axes(images.float() / 255 if images.dtype == torch.uint8 else images, dims), dim=1)
    return torch.cat([shape, tone * PIXEL_WEIGHT], dim=1)


def principal_axes(vectors: torch.Tensor, dims: int) -> torch.Tensor:
    """N×D vectors as their coordinates on their ``dims`` main axes (PCA)."""
    flat = vectors.flatten(1).float()
    flat = flat - flat.mean(dim=0)
    dims = min(dims, *flat.shape)
    _, _, axes = torch.pca_lowrank(flat, q=dims, center=False, niter=4)
    return flat @ axes[:, :dims]


def neighbour_graph(features: torch.Tensor, neighbours: int) -> torch.Tensor:
    """The symmetric, degree-normalised N×N sparse graph joining each point to its nearest ones.

    Edges weigh the cosine similarity cubed (negative ones dropped), so close neighbours count most.
    """
    unit = F.normalize(features.float(), dim=1)
    n = len(unit)
    neighbours = min(neighbours, n - 1)
    rows, cols, weights = [], [], []
    for start in range(0, n, CHUNK):
        similarity = unit[start : start + CHUNK] @ unit.T
        index = torch.arange(start, start + len(similarity))
        similarity[torch.arange(len(similarity)), index] = -2  # not one's own neighbour
        value, col = similarity.topk(neighbours, dim=1)
        rows.append(index.repeat_interleave(neighbours))
        cols.append(col.flatten())
        weights.append(value.clamp(min=0).flatten() ** 3)
    row, col, weight = torch.cat(rows), torch.cat(cols), torch.cat(weights)
    graph = torch.sparse_coo_tensor(torch.stack([torch.cat([row, col]), torch.cat([col, row])]),
                                    torch.cat([weight, weight]), (n, n), check_invariants=False).coalesce()
    degree = torch.zeros(n).index_add_(0, graph.indices()[0], graph.values()).clamp(min=1e-12).rsqrt()
    i, j = graph.indices()
    return torch.sparse_coo_tensor(graph.indices(), degree[i] * graph.values() * degree[j], (n, n),
                                   check_invariants=False).coalesce()


def spread_labels(
    features: torch.Tensor, labels: torch.Tensor, num_classes: int, *, neighbours: int = 10, alpha: float = 0.99,
    iterations: int = 50,
) -> torch.Tensor:
    """Class probabilities for every point; ``labels`` holds a class for the labelled points and -1
    for the others. ``alpha`` weighs the neighbours against a point's own label."""
    graph = neighbour_graph(features, neighbours)
    seeds = torch.zeros(len(labels), num_classes)
    known = labels >= 0
    seeds[known.nonzero().squeeze(1), labels[known]] = 1
    scores = seeds.clone()
    for _ in range(iterations):
        scores = alpha * torch.sparse.mm(graph, scores) + (1 - alpha) * seeds
    total = scores.sum(dim=1, keepdim=True)
    # A point no label reached (a component without labelled points) is equally unsure of every class.
    return torch.where(total > 0, scores / total.clamp(min=1e-30), torch.full_like(scores, 1 / num_classes))
