"""Samples near the user's real images: variations of a given image that keep its class.

Each real image is inverted once into the model's code space (the code whose image comes
closest to it). A sample then decodes a source image's code mixed with fresh noise:
``(code + r·noise) / sqrt(1 + r²)``, which keeps the codes' typical length. Radius 0 gives
the source's reconstruction; a large radius gives the model's ordinary samples.
"""

import math
from dataclasses import replace

import torch

from ganaug_cli.data import ImageFolder
from ganaug_cli.errors import GanaugError
from ganaug_cli.models import GenerativeModel
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.sampling.source import LoadedModel

INVERSION_SEED = 0
SOURCES_PER_TASK = 256  # real images inverted per progress step


class NearRealModel(GenerativeModel):
    """Draws around the codes of real images, each source of the asked class in turn."""

    def __init__(self, model: GenerativeModel, codes: torch.Tensor, code_labels: torch.Tensor | None, radius: float,
                 class_names: list[str] | None = None):
        super().__init__(**model.args)
        self.family = model.family
        self.model, self.radius = model, radius
        self.codes, self.code_labels, self.class_names = codes, code_labels, class_names or []

    def sources(self, labels: torch.Tensor | None, n: int, generator: torch.Generator) -> torch.Tensor:
        """Index of each sample's source: every source of a class once before any twice."""
        if labels is None or self.code_labels is None:
            groups = {None: torch.arange(n)}
        else:
            groups = {c: torch.nonzero(labels == c).squeeze(1) for c in labels.unique().tolist()}
        chosen = torch.empty(n, dtype=torch.long)
        for c, positions in groups.items():
            pool = torch.arange(len(self.codes)) if c is None else torch.nonzero(self.code_labels == c).squeeze(1)
            if not len(pool):
                raise GanaugError(f"--near-real: the real folder has no image of class {self.class_names[c]!r}")
            rounds = math.ceil(len(positions) / len(pool))
            order = torch.cat([pool[torch.randperm(len(pool), generator=generator)] for _ in range(rounds)])
            chosen[positions] = order[: len(positions)]
        return chosen

    def sample(self, n, labels, generator, **options):
        chosen = self.sources(labels.cpu() if labels is not None else None, n, generator)
        noise = torch.randn(n, self.codes.shape[1], generator=generator, device=generator.device).cpu()
        codes = (self.codes[chosen] + self.radius * noise) / math.sqrt(1 + self.radius**2)
        return self.model.decode(codes, labels)


def require_invertible(loaded: LoadedModel) -> None:
    if not loaded.model.invertible:
        raise GanaugError(f"--near-real: only GAN runs can sample near real images; {loaded.run_dir} is a run of "
                          f"the {loaded.entry.title} family")


def near_real(loaded: LoadedModel, real: ImageFolder, radius: float, steps: int, progress: Progress = SILENT) -> LoadedModel:
    """``loaded`` whose model samples near ``real``'s images (loaded at the run's resolution)."""
    require_invertible(loaded)
    if loaded.conditional:
        unknown = [name for name in real.class_names if name not in loaded.class_names]
        if unknown:
            raise GanaugError(f"--near-real: class {unknown[0]!r} of the real folder is not one of the run's")
        labels = torch.tensor([loaded.class_names.index(real.class_names[i]) for i in real.labels.tolist()])
    else:
        labels = None
    generator = torch.Generator().manual_seed(INVERSION_SEED)
    images = real.images.float() / 255
    codes = []
    with progress.task("inverting real images", total=len(images), unit="img") as bar:
        for start in range(0, len(images), SOURCES_PER_TASK):
            part = slice(start, start + SOURCES_PER_TASK)
            codes.append(loaded.model.invert(images[part], labels[part] if labels is not None else None, steps, generator))
            bar.update(len(codes[-1]))
    model = NearRealModel(loaded.model, torch.cat(codes), labels, radius, loaded.class_names)
    return replace(loaded, model=model)
