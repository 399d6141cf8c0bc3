"""Label spreading: labels follow the graph of near neighbours to points far from any labelled one."""

import torch
import torch.nn.functional as F

from ganaug_cli.metrics.gradient_features import gradient_histograms
from ganaug_cli.metrics.label_spreading import image_features, neighbour_graph, principal_axes, spread_labels


def chain(start: int, end: int, points: int = 30, dims: int = 4) -> torch.Tensor:
    """Points turning step by step from axis ``start`` to axis ``end``."""
    angle = torch.linspace(0, torch.pi / 2, points)[:, None]
    axes = torch.eye(dims)
    return angle.cos() * axes[start] + angle.sin() * axes[end]


def test_labels_spread_along_each_chain_to_points_no_labelled_one_is_near():
    # Each chain's far end is orthogonal to both labelled points: only the chain carries a label there.
    points = torch.cat([chain(0, 1), chain(2, 3)])
    labels = torch.full((len(points),), -1)
    labels[0], labels[30] = 0, 1
    probabilities = spread_labels(points, labels, 2, neighbours=3)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(len(points)))
    assert (probabilities[:30].argmax(dim=1) == 0).all() and (probabilities[30:].argmax(dim=1) == 1).all()


def test_a_point_no_label_reaches_is_unsure_of_every_class():
    points = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.01]])
    probabilities = spread_labels(points, torch.tensor([0, -1, -1, -1]), 2, neighbours=1)
    assert probabilities[1].argmax() == 0
    assert torch.allclose(probabilities[2:], torch.full((2, 2), 0.5))


def test_the_graph_is_symmetric_and_leaves_out_self_edges():
    graph = neighbour_graph(torch.randn(30, 5, generator=torch.Generator().manual_seed(0)), 3).to_dense()
    assert torch.allclose(graph, graph.T) and (graph.diagonal() == 0).all() and (graph >= 0).all()
    assert ((graph > 0).sum(dim=1) >= 3).all()


def test_principal_axes_keep_the_main_axes():
    vectors = torch.zeros(20, 16)
    vectors[10:, :8] = 1  # two kinds of vector, parted along one direction
    features = principal_axes(vectors, dims=3)
    assert features.shape == (20, 3)
    assert (features[:10, 0] * features[10:, 0].mean() < 0).all()  # the first axis parts the two kinds


def stripes(vertical: bool, shift: int = 0, brightness: int = 255) -> torch.Tensor:
    image = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    rows = torch.arange(32)
    bright = ((rows + shift) // 4) % 2 == 0
    if vertical:
        image[..., bright] = brightness
    else:
        image[..., bright, :] = brightness
    return image


def test_gradient_histograms_see_edge_directions_not_brightness_or_small_shifts():
    vectors = gradient_histograms(torch.cat([stripes(True), stripes(True, shift=1, brightness=90),
                                             stripes(False)]))
    assert vectors.shape == (3, 9 * 4 * 49)
    same, turned = F.cosine_similarity(vectors[:1], vectors[1:]).tolist()
    assert same > 0.9 and turned < 0.1


def test_image_features_of_any_resolution_and_channels_have_the_asked_dims():
    images = torch.randint(0, 256, (12, 3, 20, 20), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert image_features(images, dims=5).shape == (12, 10)  # the edges' 5 axes and the pixels' 5
