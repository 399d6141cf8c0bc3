"""``ganaug eval``: what a run's (or a folder's) synthetic images are worth against real ones."""

from dataclasses import dataclass
from pathlib import Path

import torch

from ganaug_cli.config import DataConfig
from ganaug_cli.data import ImageFolder, load_image_folder
from ganaug_cli.data.cache import cache_dir
from ganaug_cli.errors import GanaugError
from ganaug_cli.metrics.classifier import extract_features, predict
from ganaug_cli.metrics.domain import domain_classifier
from ganaug_cli.metrics.downstream import downstream_gain
from ganaug_cli.metrics.inception import inception_features, load_inception
from ganaug_cli.metrics.sample_quality import sample_quality
from ganaug_cli.progress import Progress
from ganaug_cli.sampling import LoadedModel
from ganaug_cli.sampling.generate import generate_in_memory


@dataclass
class Synthetic:
    images: torch.Tensor  # N×C×H×W uint8
    labels: torch.Tensor | None  # indices into the real folder's classes, None if unlabelled
    source: str


def _labels_for(names: list[str | None], real: ImageFolder) -> torch.Tensor | None:
    """Map sample class names onto the real folder's classes (None if any is unknown)."""
    if any(name not in real.class_names for name in names):
        return None
    return torch.tensor([real.class_names.index(name) for name in names], dtype=torch.int64)


def synthetic_from_run(loaded: LoadedModel, data: Path, n: int, seed: int, progress: Progress):
    real = loaded.real_images(data, progress)
    images, names = generate_in_memory(loaded, n, seed)
    labels = _labels_for(names, real) if loaded.conditional else None
    return real, Synthetic(images, labels, str(loaded.run_dir))


def synthetic_from_folder(samples: Path, data: Path, progress: Progress):
    fake = load_image_folder(DataConfig(path=samples, cache=False), progress=progress)
    real = load_image_folder(DataConfig(path=data, resolution=fake.resolution, channels=fake.channels), progress=progress)
    names = [fake.class_names[i] for i in fake.labels.tolist()]
    labels = _labels_for(names, real) if len(fake.class_names) > 1 else None
    return real, Synthetic(fake.images, labels, str(samples))


def evaluate(
    real: ImageFolder,
    synthetic: Synthetic,
    *,
    classifier_cache: Path | None = None,
    features: str = "domain",
    downstream: bool = False,
    device: torch.device = torch.device("cpu"),
) -> dict:
    if len(synthetic.images) < 2 or len(real.images) < 2:
        raise GanaugError("eval needs at least 2 real and 2 synthetic images")
    network = load_inception(device) if features == "inception" else None  # a missing file fails before training
    classifier = domain_classifier(real.images, real.labels, real.class_names, classifier_cache or cache_dir() / "domain")
    if network is not None:
        real_features, fake_features = inception_features(network, real.images), inception_features(network, synthetic.images)
    else:
        real_features, fake_features = extract_features(classifier, real.images), extract_features(classifier, synthetic.images)
    report = {
        "source": synthetic.source,
        "real_images": len(real.images),
        "synthetic_images": len(synthetic.images),
        "features": features,
        **sample_quality(real_features, fake_features).as_dict(),
    }
    if synthetic.labels is not None:
        correct = predict(classifier, synthetic.images).argmax(1) == synthetic.labels
        report["class_fidelity"] = round(float(correct.float().mean()), 4)
        report["class_fidelity_per_class"] = {
            name: round(float(correct[synthetic.labels == i].float().mean()), 4)
            for i, name in enumerate(real.class_names)
            if bool((synthetic.labels == i).any())
        }
    if downstream:
        if synthetic.labels is None:
            raise GanaugError("--downstream needs labelled synthetic images (a conditional run or class subfolders)")
        report["downstream"] = downstream_gain(
            real.images, real.labels, synthetic.images, synthetic.labels, len(real.class_names)
        )
    return report
