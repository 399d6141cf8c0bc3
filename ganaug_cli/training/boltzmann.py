"""What the RBM and DBN trainers share: the hold-out split, label units, the visible data,
the learning-rate and momentum schedules, metric prefixes and filter previews."""

import math

import torch
import torch.nn.functional as F

from ganaug_cli.models.rbm import RBM, bernoulli
from ganaug_cli.models.rbm_partition import base_rates
from ganaug_cli.training.base import DataInfo, Trainer

SPLIT_SEED = 1234  # the validation split and evaluation binarisation depend on the data alone
# The per-step training recon error is measured on every RECON_EVERY-th batch and repeated in
# between, so it costs almost nothing per step. The last measurement is checkpointed, so a
# resumed run logs the same values.
RECON_EVERY = 10
METRIC_IMAGES = 1000  # without a validation split, metrics use the first training images


def split_validation(count: int, fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, validation) indices: a fixed shuffle, so a resumed run holds out the same images."""
    held = min(round(count * fraction), count - 1)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[held:].sort().values, order[:held].sort().values


def label_units(setting, class_names: list[str]) -> int:
    if setting == "auto":
        return len(class_names) if len(class_names) > 1 else 0
    return len(class_names) if setting else 0


def init_weights(rbm: RBM, std: float) -> None:
    rbm.W.normal_(0, std)  # the global RNG: seeded by the run, restored on resume


def momentum_at(train, epoch: int) -> float:
    return train.momentum_start if epoch < train.momentum_switch_epoch else train.momentum_end


def rate_at(train, update: int, planned: float) -> float:
    """The learning rate of update ``update`` (from 0) of ``planned`` (inf when unknown)."""
    if train.lr_decay == "none" or planned == math.inf:
        return train.lr
    return train.lr * max(0.0, 1 - update / planned)


class VisibleData:
    """Image batches (float in [0, 1]) -> visible vectors: binarised or standardised, labels one-hot."""

    def __init__(self, rbm: RBM, binarize: str, threshold: float):
        self.rbm, self.binarize, self.threshold = rbm, binarize, threshold

    def images(self, x: torch.Tensor, generator: torch.Generator | None = None, evaluation: bool = False) -> torch.Tensor:
        v = x.flatten(1)
        if self.rbm.gaussian:
            return (v - self.rbm.pixel_mean) / self.rbm.pixel_std
        if self.binarize == "threshold":
            return (v > self.threshold).to(v.dtype)
        # A Bernoulli RBM defines probabilities of binary images, so likelihoods are always
        # measured on binary ones: intensities given as probabilities (none) are sampled once.
        if self.binarize == "stochastic" or evaluation:
            return bernoulli(v, generator=generator)
        return v

    def with_labels(self, v: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
        return torch.cat([v, F.one_hot(labels, classes).to(v.dtype)], dim=1) if classes else v

    def evaluation(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> fixed binary (or standardised) image units, the same every epoch."""
        generator = torch.Generator(images.device).manual_seed(SPLIT_SEED)
        return self.images(images.float() / 255, generator, evaluation=True)

    def fit(self, images: torch.Tensor, labels: torch.Tensor, fresh: bool) -> torch.Tensor:
        """Data statistics from the training images: where sampling chains start, and for a fresh
        model data-based biases (Gaussian: the pixel standardisation).

        Returns the base rates that start the AIS chains.
        """
        rbm = self.rbm
        if rbm.gaussian and fresh:
            x = images.float().flatten(1) / 255
            rbm.pixel_mean.copy_(x.mean(0))
            rbm.pixel_std.copy_(x.std(0).clamp_min(0.02))  # flat pixels would divide by 0
        units = self.evaluation(images.to(rbm.start_mean.device)).flatten(1)
        rbm.fit_start(units, labels)
        if rbm.gaussian:
            return torch.zeros(rbm.pixels)
        rates = base_rates(units)
        if fresh:  # Hinton's guide: visible bias = log(p / (1 - p)) of the training data
            rbm.b_v[: rbm.pixels] = rates
        return rates.cpu()


class TrainingRecon:
    """The last measured training recon error, refreshed every RECON_EVERY updates."""

    def __init__(self):
        self.value = torch.tensor(float("nan"))

    def due(self, updates: int) -> bool:
        return updates % RECON_EVERY == 0

    def step(self, measured: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if measured is not None:
            self.value = measured
        return {"recon_error": self.value}


class BoltzmannTrainer(Trainer):
    """A trainer whose model is one RBM or a stack of them, learnt by CD / PCD or an objective.

    Subclasses build ``self.bottom`` (the RBM that sees the image) before calling
    ``setup_visible``, and count their updates in ``self.updates``.
    """

    checkpoint_each_epoch = True

    def __init__(self, config, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        self.shape = [info.channels, info.resolution, info.resolution]
        self.label_units = label_units(config.model.labels, info.class_names)
        self.updates = 0
        self.recon = TrainingRecon()
        self.steps_per_epoch = 1
        self.held_out: tuple[torch.Tensor, torch.Tensor] | None = None

    def setup_visible(self, bottom: RBM) -> None:
        self.bottom = bottom
        self.visible = VisibleData(bottom, self.config.model.binarize, self.config.model.threshold)
        self.base_bias = torch.zeros(bottom.pixels)

    def sample_options(self) -> dict:
        return self.config.sample.model_dump()

    def hold_out(self, images, labels):
        """Keep the validation split and fit the visible data (and the AIS base rates,
        ``self.base_bias``) to the training part; returns that part."""
        train, val = split_validation(images.shape[0], self.config.eval.val_fraction)
        # A step of a job takes one global batch: batch_size images from each process.
        self.steps_per_epoch = math.ceil(len(train) / (self.config.train.batch_size * self.world.size))
        self.base_bias = self.visible.fit(images[train], labels[train], fresh=self.updates == 0)
        if len(val):
            self.held_out = images[val].to(self.device), labels[val].to(self.device)
        return images[train], labels[train]

    def metric_images(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[str, torch.Tensor, torch.Tensor]:
        """(prefix, images, labels) the epoch metrics are measured on: the held-out images, or
        without a split the first training images."""
        if self.held_out:
            return ("val", *self.held_out)
        return "train", images[:METRIC_IMAGES], labels[:METRIC_IMAGES]

    def extra_previews(self):
        return {"filters": (self.bottom.filters().cpu(), 8)}

    def step_metrics(self, measured: torch.Tensor | None, learner) -> dict[str, torch.Tensor]:
        """The training recon error, and the objective of the criteria that follow one."""
        metrics = self.recon.step(measured)
        if learner.objective is not None:
            metrics["objective"] = learner.objective
        return metrics

    def recon_state(self) -> dict:
        return {"updates": self.updates, "recon_error": self.recon.value}

    def load_recon_state(self, state: dict) -> None:
        self.updates = int(state["updates"])
        self.recon.value = state.get("recon_error", self.recon.value)
