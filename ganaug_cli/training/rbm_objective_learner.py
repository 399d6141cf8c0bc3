"""One RBM trained by an objective instead of CD's sampled statistics: ratio matching, score
matching or noise-contrastive estimation, differentiated by autograd and stepped by Adam.

Adam rather than CD's plain steps: the objectives' gradients differ in scale by orders of
magnitude between criteria and between NCE's log Z and the weights, and one learning rate
per criterion then works across folders (train.lr; the schedule of train.lr_decay applies).
"""

import math

import torch
import torch.nn.functional as F

from ganaug_cli.config.boltzmann import SAMPLED_CRITERIA
from ganaug_cli.models.rbm import RBM, bernoulli, sample_categorical
from ganaug_cli.models.rbm_likelihood import reconstruction_error
from ganaug_cli.models.rbm_objectives import independent_log_partition, nce, ratio_matching, score_matching
from ganaug_cli.random_sources import normal, training_random
from ganaug_cli.training.distributed import SINGLE, World
from ganaug_cli.training.rbm_learner import RECON_ROWS, RbmLearner


class FactorialNoise:
    """NCE's noise: independent units fitted to the training data. Binary image units at the
    pixels' base rates, Gaussian ones as a diagonal Gaussian, labels at the classes' frequencies."""

    def __init__(self, rbm: RBM, units: torch.Tensor, labels: torch.Tensor | None):
        self.rbm = rbm
        if rbm.gaussian:
            self.mean, self.std = units.mean(0), units.std(0).clamp_min(1e-3)
        else:  # smoothed like a Beta(1, 1) prior, so that no pixel is certain
            self.rate = ((units.sum(0) + 1) / (len(units) + 2)).clamp(1e-4, 1 - 1e-4)
        if rbm.num_classes:
            counts = torch.bincount(labels, minlength=rbm.num_classes).to(units) + 1
            self.label_probs = counts / counts.sum()

    def sample(self, n: int, source) -> torch.Tensor:
        if self.rbm.gaussian:
            like = self.mean.expand(n, -1)
            v = self.mean + self.std * normal(like, source)
        else:
            v = bernoulli(self.rate.expand(n, -1).contiguous(), source).to(self.rate.dtype)
        if not self.rbm.num_classes:
            return v
        label = sample_categorical(self.label_probs.expand(n, -1), source)
        return torch.cat([v, F.one_hot(label, self.rbm.num_classes).to(v.dtype)], dim=1)

    def log_prob(self, v: torch.Tensor) -> torch.Tensor:
        P = self.rbm.pixels
        image = v[:, :P]
        if self.rbm.gaussian:
            z = (image - self.mean) / self.std
            log_q = (-0.5 * z.pow(2) - self.std.log()).sum(1) - 0.5 * math.log(2 * math.pi) * P
        else:
            log_q = image @ self.rate.log() + (1 - image) @ torch.log1p(-self.rate)
        if self.rbm.num_classes:
            log_q = log_q + v[:, P:] @ self.label_probs.log()
        return log_q


class ObjectiveLearner:
    """Adam steps on one criterion's objective; Adam's moments, NCE's log Z and the noise
    source are checkpointed."""

    def __init__(self, rbm: RBM, train, criterion: str):
        self.rbm, self.train, self.criterion = rbm, train, criterion
        self.trainable = [rbm.W, rbm.b_v, rbm.b_h]
        if rbm.gaussian and rbm.args["learn_variance"]:
            self.trainable.append(rbm.log_var)
        self.log_z = torch.zeros((), device=rbm.W.device)
        self.log_z_started = False
        groups = [{"params": [rbm.W], "weight_decay": train.weight_decay},
                  {"params": self.trainable[1:] + ([self.log_z] if criterion == "nce" else []), "weight_decay": 0.0}]
        self.optimizer = torch.optim.Adam(groups, lr=train.lr)
        self.noise: FactorialNoise | None = None
        self.random = training_random(rbm.W.device)
        self.objective: torch.Tensor | None = None  # the last batch's, for the step metrics

    def fit_noise(self, units: torch.Tensor, labels: torch.Tensor | None) -> None:
        """The noise model from the training data's visible units (image units only)."""
        if self.criterion == "nce":
            self.noise = FactorialNoise(self.rbm, units, labels)

    def loss(self, v: torch.Tensor) -> torch.Tensor:
        if self.criterion == "ratio-matching":
            return ratio_matching(self.rbm, v)
        if self.criterion == "score-matching":
            return score_matching(self.rbm, v)
        if self.noise is None:
            raise RuntimeError("NCE needs the noise model: call fit_noise with the training data first")
        noise = self.noise.sample(len(v) * self.train.nce_noise_ratio, self.random)
        return nce(self.rbm, v, noise, self.noise.log_prob(v), self.noise.log_prob(noise), self.log_z)

    def update(self, v0: torch.Tensor, rate: float, momentum: float, measure: bool = True,
               world: World = SINGLE) -> torch.Tensor | None:
        """One Adam step at learning rate ``rate`` (``momentum`` is CD's and unused here) on the
        gradient averaged over the job's ranks."""
        if self.criterion == "nce" and not self.log_z_started:
            self.log_z.copy_(independent_log_partition(self.rbm))
            self.log_z_started = True
        parameters = self.optimizer.param_groups[0]["params"] + self.optimizer.param_groups[1]["params"]
        for p in parameters:
            p.requires_grad_(True)
        try:
            with torch.enable_grad():
                loss = self.loss(v0)
                grads = torch.autograd.grad(loss, parameters)
        finally:
            for p in parameters:
                p.requires_grad_(False)
        for p, grad in zip(parameters, grads):
            p.grad = grad
        world.average_gradients(parameters)
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.rbm.gaussian:
            self.rbm.log_var.clamp_(-4.6, 2.0)  # as for CD: a collapsing variance blows the energy up
        self.objective = loss.detach()
        if not measure:
            return None
        return torch.tensor(reconstruction_error(self.rbm, v0[:RECON_ROWS]))

    def state_dict(self) -> dict:
        random = self.random.state_dict() if self.random is not None else None
        return {"optimizer": self.optimizer.state_dict(), "log_z": self.log_z.clone(),
                "log_z_started": self.log_z_started, "random": random}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.log_z.copy_(state["log_z"])
        self.log_z_started = state["log_z_started"]
        if self.random is not None and state.get("random") is not None:
            self.random.load_state_dict(state["random"])


def learner_for(rbm: RBM, train) -> RbmLearner | ObjectiveLearner:
    """The learner of ``train.criterion`` for ``rbm``. Score matching is for real-valued units:
    a DBN's binary layers above a Gaussian one take its binary form, ratio matching."""
    criterion = train.criterion
    if criterion in SAMPLED_CRITERIA:
        return RbmLearner(rbm, train)
    if criterion == "score-matching" and not rbm.gaussian:
        criterion = "ratio-matching"
    return ObjectiveLearner(rbm, train, criterion)
