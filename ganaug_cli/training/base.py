"""The small interface each family's trainer implements for the shared run loop."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from pydantic import BaseModel

from ganaug_cli.errors import TrainingError
from ganaug_cli.models import GenerativeModel
from ganaug_cli.training.distributed import SINGLE, World


@dataclass(frozen=True)
class DataInfo:
    """What a trainer needs to know about the data to build its model."""

    channels: int
    resolution: int
    class_names: list[str]
    class_counts: list[int]


class Trainer(ABC):
    """One family's training step and state; the loop owns batches, time, files and progress."""

    family: str
    balanced_batches = False  # draw classes evenly instead of shuffling each epoch
    checkpoint_each_epoch = False  # also checkpoint at every epoch's end (Boltzmann models)
    world: World = SINGLE  # the job's processes; the workflow sets it for a torchrun job

    def __init__(self, config: BaseModel, info: DataInfo, device: torch.device):
        self.config, self.info, self.device = config, info, device

    @property
    @abstractmethod
    def sampling_model(self) -> GenerativeModel:
        """The model ``ganaug sample`` rebuilds from the checkpoint."""

    @abstractmethod
    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """One update from a batch (images float in [0, 1] on the device); returns scalar losses."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything needed to continue training exactly (weights, optimisers, schedules)."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    def start_from(self, state: dict, same_classes: bool, where: str) -> list[str]:
        """Take another run's weights (its checkpoint's ``trainer`` state) before training; returns
        the names of the class-dependent parts left as initialised (training/initialise.py)."""
        raise TrainingError(f"train.init: the {self.family} family cannot start from another run's weights yet")

    @property
    def starts_from_runs(self) -> bool:
        """Whether the family implements ``start_from`` (checked before the other run is read)."""
        return type(self).start_from is not Trainer.start_from

    def add_unlabelled(self, images: torch.Tensor) -> None:
        """Unlabelled images of the same kind (N×C×H×W uint8) to learn from besides the labelled ones."""
        raise TrainingError(f"data.unlabeled: the {self.family} family cannot learn from unlabelled images yet")

    def hold_out(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep a validation split for the trainer's own metrics; return the training part.

        Called once before the loop, on uint8 images; the split must not depend on
        the run's progress, so that a resumed run holds out the same images.
        """
        return images, labels

    def planned_epochs(self) -> int | None:
        """Epochs the whole run may last (a DBN multiplies its per-layer epochs by its layers)."""
        return self.config.train.epochs

    def end_of_epoch(self, epoch: int, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Per-epoch metrics (the RBM's likelihood estimates); none by default."""
        return {}

    def end_of_run(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Final metrics the last epoch's did not give (a run cut short by its step or time
        budget still ends with the RBM's likelihood estimate); none by default."""
        return {}

    def sample_options(self) -> dict:
        """The family's sampling options from the run's config, as ``sample`` keywords."""
        return {}

    def preview(self) -> tuple[torch.Tensor, int]:
        """Images for the preview grid and its row length: one row per class when conditional.

        Fixed randomness makes grids of successive steps comparable.
        """
        model = self.sampling_model
        classes = max(model.num_classes, 1)
        per_class = 10 if classes > 1 else 64
        labels = torch.arange(classes).repeat_interleave(per_class) if model.num_classes else None
        generator = torch.Generator().manual_seed(0)
        was_training = model.training
        model.eval()
        try:
            images = model.sample(classes * per_class, labels, generator, **self.sample_options())
            return images.cpu(), per_class if classes > 1 else 8
        finally:
            model.train(was_training)

    def extra_previews(self) -> dict[str, tuple[torch.Tensor, int]]:
        """More grids, saved as previews/<name>.png with each preview (the RBM's filters)."""
        return {}

    def extra_metrics(self) -> dict[str, float]:
        """Values to log besides the losses (the GAN's augmentation p)."""
        return {}
