"""RBM training: CD-k or persistent CD-k with momentum, weight decay and an optional sparsity
target (Hinton's practical guide), plus per-epoch reconstruction error, pseudo-likelihood and AIS."""

import math

import torch
import torch.nn.functional as F

from ganaug_cli.config import RbmConfig
from ganaug_cli.metrics.ais import ais_log_partition, base_rates
from ganaug_cli.metrics.likelihood import log_likelihood, pseudo_log_likelihood, reconstruction_error
from ganaug_cli.models.random_bits import training_random
from ganaug_cli.models.rbm import RBM, bernoulli
from ganaug_cli.training.base import DataInfo, Trainer

SPLIT_SEED = 1234  # the validation split and evaluation binarisation depend on the data alone
# The per-step training recon error is a progress signal (the held-out one is measured each
# epoch): RECON_ROWS rows of every RECON_EVERY-th batch, repeated in between, so it costs almost
# nothing per step. The last measurement is checkpointed, so a resumed run logs the same values.
RECON_ROWS = 10
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


class RbmLearner:
    """CD-k / PCD-k updates of one RBM; its velocities and persistent chains are checkpointed."""

    def __init__(self, rbm: RBM, train):
        self.rbm, self.train = rbm, train
        self.velocity = {name: torch.zeros_like(p) for name, p in rbm.named_parameters()}
        self.chain: torch.Tensor | None = None  # pcd: hidden states of the persistent chains
        self.activity: torch.Tensor | None = None  # running mean hidden probability (sparsity)
        self.random = training_random(rbm.W.device)
        self.parameters = dict(rbm.named_parameters())  # updated in place, so built once

    @torch.no_grad()
    def update(self, v0: torch.Tensor, rate: float, momentum: float, measure: bool = True) -> torch.Tensor | None:
        """One update from visible vectors ``v0`` at learning rate ``rate``; returns the
        reconstruction error of the batch's first rows when ``measure`` (an extra small
        product), else None."""
        rbm, cfg = self.rbm, self.train
        n, P = v0.shape[0], rbm.pixels
        s0 = rbm.scale(v0)
        ph0 = torch.addmm(rbm.b_h, s0, rbm.W).sigmoid_()
        persistent = cfg.method == "pcd" and self.chain is not None and self.chain.shape[0] == n
        h = self.chain if persistent else bernoulli(ph0, self.random)
        for step in range(cfg.k):
            vk, _ = rbm.sample_visible(h, self.random)
            sk = rbm.scale(vk)
            phk = torch.addmm(rbm.b_h, sk, rbm.W).sigmoid_()
            if step < cfg.k - 1 or cfg.method == "pcd":
                h = bernoulli(phk, self.random)
        if cfg.method == "pcd":
            self.chain = h
        recon = self.reconstruction_error(v0, ph0) if measure else None
        # All gradients come from the current parameters, so the variance one is taken first.
        learn_variance = rbm.gaussian and rbm.args["learn_variance"]
        variance_grad = self._variance_grad(v0, ph0) - self._variance_grad(vk, phk) if learn_variance else None
        lr = rate / n
        # Momentum SGD on the CD gradient <v h>_data - <v h>_model, with L2 weight decay. Without
        # momentum the velocity is never read again, so the step goes straight into the parameters.
        direct = not (cfg.momentum_start or cfg.momentum_end)
        step = self.parameters if direct else self.velocity
        if direct:  # weight decay folded into the product: W ← (1 - lr·decay)·W + ...
            rbm.W.addmm_(s0.t(), ph0, beta=1 - rate * cfg.weight_decay, alpha=lr)
        else:
            step["W"].addmm_(s0.t(), ph0, beta=momentum, alpha=lr)
            if cfg.weight_decay:
                step["W"].add_(rbm.W, alpha=-rate * cfg.weight_decay)
            for name in ("b_v", "b_h", "log_var") if rbm.gaussian else ("b_v", "b_h"):
                step[name].mul_(momentum)
        step["W"].addmm_(sk.t(), phk, alpha=-lr)
        visible_grad = v0.sum(0).sub_(vk.sum(0))
        if rbm.gaussian:
            visible_grad[:P] /= rbm.log_var.exp()
        step["b_v"].add_(visible_grad, alpha=lr)
        step["b_h"].add_(ph0.sum(0).sub_(phk.sum(0)), alpha=lr)
        if cfg.sparsity_target is not None:
            self._sparsity(ph0, s0, step, rate)
        if variance_grad is not None:
            step["log_var"].add_(variance_grad, alpha=lr)
        if not direct:
            for name, p in self.parameters.items():
                p.add_(step[name])
        if rbm.gaussian:
            rbm.log_var.clamp_(-4.6, 2.0)  # σ in [0.1, 2.7]: a collapsing variance blows the energy up
        return recon

    def reconstruction_error(self, v0: torch.Tensor, ph0: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the image units of the first RECON_ROWS rows, in pixel units."""
        rbm, rows, P = self.rbm, min(v0.shape[0], RECON_ROWS), self.rbm.pixels
        recon = rbm.visible_mean(ph0[:rows])[:, :P] - v0[:rows, :P]
        if rbm.gaussian:
            recon = recon * rbm.pixel_std
        return recon.pow(2).mean()

    def _sparsity(self, ph0: torch.Tensor, s0: torch.Tensor, step: dict[str, torch.Tensor], rate: float) -> None:
        cfg = self.train
        current = ph0.mean(0)
        if self.activity is None:
            self.activity = current.clone()
        else:
            self.activity.mul_(cfg.sparsity_decay).add_(current, alpha=1 - cfg.sparsity_decay)
        push = (self.activity - cfg.sparsity_target) * (rate * cfg.sparsity_cost)
        step["b_h"].sub_(push)
        step["W"].sub_(torch.outer(s0.mean(0), push))

    def _variance_grad(self, v: torch.Tensor, ph: torch.Tensor) -> torch.Tensor:
        """Σ over rows of -∂E/∂log σ² for the image units (Cho et al. 2011)."""
        rbm, P = self.rbm, self.rbm.pixels
        image, sigma = v[:, :P], rbm.sigma()
        top = ph @ rbm.W[:P].t()
        return ((image - rbm.b_v[:P]) ** 2 / (2 * sigma**2) - 0.5 * image / sigma * top).sum(0)

    def state_dict(self) -> dict:
        random = self.random.state_dict() if self.random is not None else None
        return {"velocity": self.velocity, "chain": self.chain, "activity": self.activity, "random": random}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.velocity = {k: v.to(device) for k, v in state["velocity"].items()}
        self.chain = state["chain"].to(device) if state["chain"] is not None else None
        self.activity = state["activity"].to(device) if state["activity"] is not None else None
        if self.random is not None and state.get("random") is not None:
            self.random.load_state_dict(state["random"])


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
        cfg = self.config.eval
        return self.metrics(images, labels, epoch if epoch % cfg.ais_every == 0 or epoch == self.planned_epochs() else None)

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
        generator = torch.Generator(self.device).manual_seed(seed)
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
