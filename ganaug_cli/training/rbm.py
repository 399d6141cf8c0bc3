"""RBM training: the schedules applied per update, and the per-epoch reconstruction error,
pseudo-likelihood and AIS; the update rule is in rbm_learner, the shared parts in boltzmann."""

import math

import torch

from ganaug_cli.config import RbmConfig
from ganaug_cli.models.rbm import RBM
from ganaug_cli.models.rbm_likelihood import log_likelihood, pseudo_log_likelihood, reconstruction_error
from ganaug_cli.models.rbm_partition import ais_log_partition
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.boltzmann import BoltzmannTrainer, init_weights, momentum_at, rate_at
from ganaug_cli.training.rbm_objective_learner import learner_for


class RbmTrainer(BoltzmannTrainer):
    family = "rbm"

    def __init__(self, config: RbmConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model = config.model
        self.rbm = RBM(self.shape, model.hidden, model.visible, model.learn_variance, self.label_units)
        init_weights(self.rbm, config.train.init_std)
        self.rbm.to(device)
        self.setup_visible(self.rbm)
        self.learner = learner_for(self.rbm, config.train)
        self.ais_updates: int | None = None  # when the last likelihood estimate was made

    @property
    def sampling_model(self) -> RBM:
        return self.rbm

    def hold_out(self, images, labels):
        images, labels = super().hold_out(images, labels)
        if self.config.train.criterion == "nce":
            self.learner.fit_noise(self.visible.evaluation(images.to(self.device)), labels.to(self.device))
        return images, labels

    def train_step(self, images, labels):
        v = self.visible.with_labels(self.visible.images(images), labels, self.rbm.num_classes)
        cfg = self.config.train
        momentum = momentum_at(cfg, self.updates // self.steps_per_epoch)
        # The planned epochs set the decay; --steps and --max-minutes only cut the run short,
        # so a cut run resumed to its planned end matches a straight one.
        planned = cfg.epochs * self.steps_per_epoch if cfg.epochs else cfg.steps or math.inf
        rate = rate_at(cfg, self.updates, planned)
        measured = self.learner.update(v, rate, momentum, self.recon.due(self.updates), self.world)
        self.updates += 1
        return self.step_metrics(measured, self.learner)

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
        prefix, images, labels = self.metric_images(images, labels)
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
        learned = {"nce_log_z": round(float(self.learner.log_z), 4)} if self.config.train.criterion == "nce" else {}
        return {
            "ais_log_z": round(estimate.log_z, 4),
            "ais_log_z_std": round(estimate.std, 4),
            **learned,
            f"{prefix}_log_p": round(log_p.mean().item(), 4),
            f"{prefix}_log_p_std": round(spread, 4),
        }

    def state_dict(self):
        return {"rbm": self.rbm.state_dict(), "learner": self.learner.state_dict(), **self.recon_state()}

    def load_state_dict(self, state):
        self.rbm.load_state_dict(state["rbm"])
        self.learner.load_state_dict(state["learner"], self.device)
        self.load_recon_state(state)
