"""Label spreading: labels follow the graph of near neighbours to points far from any labelled one."""

import torch

from ganaug_cli.metrics.label_spreading import neighbour_graph, pixel_features, spread_labels


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


def test_pixel_features_keep_the_main_axes():
    images = torch.zeros(20, 1, 4, 4, dtype=torch.uint8)
    images[10:, :, :2] = 255  # two kinds of image: a bright top half or none
    features = pixel_features(images, dims=3)
    assert features.shape == (20, 3)
    assert (features[:10, 0] * features[10:, 0].mean() < 0).all()  # the first axis parts the two kinds
