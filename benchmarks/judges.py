"""The classifiers the augment benchmarks train on a folder's files: ganaug's judge CNN and an
MLP that shares no code with ganaug, so that a gain is not one classifier's quirk."""

import statistics

import torch
import torch.nn.functional as F
from torch import nn

from ganaug_cli.metrics.classical_transforms import classical
from ganaug_cli.metrics.classifier import predict, train_classifier


def independent_mlp(images, labels, seed: int, augment: bool, steps: int = 1500) -> nn.Module:
    """Two hidden layers on the pixels, Adam, dropout: nothing shared with ganaug's classifier."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = images.float() / 255
    model = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), 256), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(steps):
        index = torch.randint(len(x), (64,), generator=generator)  # uniform over the files
        batch = classical(x[index], generator) if augment else x[index]
        loss = F.cross_entropy(model(batch), labels[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


@torch.no_grad()
def mlp_accuracy(model, test) -> float:
    return float((model(test[0].float() / 255).argmax(1) == test[1]).float().mean())


def scores(images, labels, test, seeds, classifier: str, augment: bool, cnn_options: dict) -> list[float]:
    result = []
    for seed in seeds:
        if classifier == "cnn":
            model = train_classifier(images, labels, 10, seed=seed, augment="classical" if augment else "none",
                                     **cnn_options)
            result.append(float((predict(model, test[0]).argmax(1) == test[1]).float().mean()))
        else:
            result.append(mlp_accuracy(independent_mlp(images, labels, seed, augment), test))
    return result


def fmt(values: list[float]) -> str:
    return f"{statistics.mean(values):.1%} ± {statistics.pstdev(values):.1%}"
