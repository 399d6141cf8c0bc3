"""RBM training: images to visible units, the learning-rate and momentum schedules, and the
per-epoch reconstruction error, pseudo-likelihood and AIS; the update rule is in rbm_learner."""

import math

import torch
import torch.nn.functional as F

from ganaug_cli.config import RbmConfig
from ganaug_cli.metrics.ais import ais_log_partition, base_rates
from ganaug_cli.metrics.likelihood import log_likelihood, pseudo_log_likelihood, reconstruction_error
from ganaug_cli.models.rbm import RBM, bernoulli
from ganaug_cli.training.base import DataInfo, Trainer
from ganaug_cli.training.rbm_learner import RbmLearner

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


def momentum_at(train, epoch: int) -> float:
    return train.momentum_start if epoch < train.momentum_switch_epoch else train.momentum_end


def rate_at(train, update: int, planned: float) -> float:
    """The learning rate of update ``update`` (from 0) of ``planned`` (inf when unknown)."""
    if train.lr_decay == "none" or planned == math.inf:
        return train.lr
    return train.lr * max(0.0, 1 - update / planned)


class RbmTrainer(Trainer):
    family = "rbm"
    checkpoint_each_epoch = True

    def __init__(self, config: RbmConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model = config.model
        shape = [info.channels, info.resolution, info.resolution]
        classes = label_units(model.labels, info.class_names)
        self.rbm = RBM(shape, model.hidden, model.visible, model.learn_variance, classes, **config.sample.model_dump())
        init_weights(self.rbm, config.train.init_std)
        self.rbm.to(device)
        self.visible = VisibleData(self.rbm, model.binarize, model.threshold)
        self.learner = RbmLearner(self.rbm, config.train)
        self.updates = 0
        self.recon = TrainingRecon()
        self.steps_per_epoch = 1
        self.held_out: tuple[torch.Tensor, torch.Tensor] | None = None
        self.base_bias = torch.zeros(self.rbm.pixels)
        self.ais_updates: int | None = None  # when the last likelihood estimate was made

    @property
    def sampling_model(self) -> RBM:
        return self.rbm

    def hold_out(self, images, labels):
        train, val = split_validation(images.shape[0], self.config.eval.val_fraction)
        self.steps_per_epoch = math.ceil(len(train) / self.config.train.batch_size)
        self.base_bias = self.visible.fit(images[train], labels[train], fresh=self.updates == 0)
        if len(val):
            self.held_out = images[val].to(self.device), labels[val].to(self.device)
        return images[train], labels[train]

    def train_step(self, images, labels):
        v = self.visible.with_labels(self.visible.images(images), labels, self.rbm.num_classes)
        cfg = self.config.train
        momentum = momentum_at(cfg, self.updates // self.steps_per_epoch)
        # The planned epochs set the decay; --steps and --max-minutes only cut the run short,
        # so a cut run resumed to its planned end matches a straight one.
        planned = cfg.epochs * self.steps_per_epoch if cfg.epochs else cfg.steps or math.inf
        rate = rate_at(cfg, self.updates, planned)
        measured = self.learner.update(v, rate, momentum, measure=self.recon.due(self.updates))
        self.updates += 1
        return self.recon.step(measured)

    def end_of_epoch(self, epoch, images, labels):
        return self.metrics(images, labels, epoch if self.ais_due(epoch) else None)

    def ais_due(self, epoch: int) -> bool:
        every, planned = self.config.eval.ais_every, self.planned_epochs()
        if every == "auto":
            every = math.ceil(planned / 2) if planned else None  # unplanned: end_of_run's estimate only
        return epoch == planned or (every is not None and epoch % every == 0)

    def end_of_run(self, images, labels):
        if self.ais_updates == self.updates:
            return {}
        return self.metrics(images, labels, ais_seed=math.ceil(self.updates / self.steps_per_epoch))

    def metrics(self, images, labels, ais_seed: int | None) -> dict[str, float]:
        """Held-out (or first training) images' recon error and pseudo-likelihood; AIS when seeded."""
        cfg, rbm = self.config.eval, self.rbm
        prefix, (images, labels) = ("val", self.held_out) if self.held_out else ("train", (images[:METRIC_IMAGES], labels[:METRIC_IMAGES]))
        image_units = self.visible.evaluation(images)
        v = self.visible.with_labels(image_units, labels, rbm.num_classes)
        metrics = {f"{prefix}_recon_error": round(reconstruction_error(rbm, v), 6)}
        if not rbm.gaussian:
            metrics[f"{prefix}_pll"] = round(pseudo_log_likelihood(rbm, v[: cfg.pll_images]).mean().item(), 4)
        if ais_seed is not None:
            metrics.update(self.likelihood(image_units, prefix, ais_seed))
            self.ais_updates = self.updates
        return metrics

    def likelihood(self, image_units: torch.Tensor, prefix: str, seed: int) -> dict[str, float]:
        """AIS log Z and the mean log p(v) in nats of ``image_units`` (Gaussian: per [0, 1]-scaled image)."""
        cfg, rbm = self.config.eval, self.rbm
        generator = torch.Generator().manual_seed(seed)  # CPU: it seeds a source on the device
        estimate = ais_log_partition(
            rbm, betas=cfg.ais_betas, chains=cfg.ais_chains, base_bias=self.base_bias, generator=generator
        )
        log_p = log_likelihood(rbm, image_units, estimate.log_z)
        if rbm.gaussian:  # densities of standardised pixels -> of pixels in [0, 1]
            log_p = log_p - rbm.pixel_std.log().sum().double()
        spread = math.sqrt(estimate.std**2 + (log_p.var().item() / len(log_p) if len(log_p) > 1 else 0.0))
        return {
            "ais_log_z": round(estimate.log_z, 4),
            "ais_log_z_std": round(estimate.std, 4),
            f"{prefix}_log_p": round(log_p.mean().item(), 4),
            f"{prefix}_log_p_std": round(spread, 4),
        }

    def extra_previews(self):
        return {"filters": (self.rbm.filters().cpu(), 8)}

    def state_dict(self):
        return {"rbm": self.rbm.state_dict(), "learner": self.learner.state_dict(), "updates": self.updates,
                "recon_error": self.recon.value}

    def load_state_dict(self, state):
        self.rbm.load_state_dict(state["rbm"])
        self.learner.load_state_dict(state["learner"], self.device)
        self.updates = int(state["updates"])
        self.recon.value = state.get("recon_error", self.recon.value)
