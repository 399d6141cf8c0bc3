"""Denoising auto-encoder training: denoise images corrupted at one noise level or at levels
drawn log-normally (EDM's weighting), with label dropout for guidance, an optional
contractive penalty, and an averaged copy of the weights for sampling."""

import copy

import torch

from ganaug_cli.config.dae import DaeConfig
from ganaug_cli.models.dae import Denoiser
from ganaug_cli.training.base import DataInfo, Trainer
from ganaug_cli.training.initialise import load_matching
from ganaug_cli.training.ema import update_average


def jacobian_norm_estimate(outputs: torch.Tensor, inputs: torch.Tensor, projections: int = 1,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Per image, an unbiased estimate of the squared Frobenius norm of d outputs / d inputs.

    For u ~ N(0, I), E ||uᵀJ||² = ||J||²_F: one backward pass per projection instead of one per
    output unit (the Jacobian itself). Images must not interact (no batch norm), so one
    backward of the batch gives every image's own uᵀJ. Differentiable (for the penalty).
    """
    total = torch.zeros(outputs.shape[0], device=outputs.device, dtype=outputs.dtype)
    for _ in range(projections):
        u = torch.randn(outputs.shape, generator=generator, device=outputs.device, dtype=outputs.dtype)
        (vjp,) = torch.autograd.grad((outputs * u).sum(), inputs, create_graph=True)
        total = total + vjp.pow(2).flatten(1).sum(1)
    return total / projections


class DaeTrainer(Trainer):
    family = "dae"

    def __init__(self, config: DaeConfig, info: DataInfo, device: torch.device):
        super().__init__(config, info, device)
        model = config.model
        conditional = model.conditional if model.conditional != "auto" else len(info.class_names) > 1
        self.balanced_batches = config.train.balance_classes
        self.net = Denoiser(info.resolution, info.channels, model.width, model.levels,
                            len(info.class_names) if conditional else 0, model.noise, model.sigma,
                            model.sigma_min, model.sigma_max, model.sigma_data).to(device)
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.optimiser = torch.optim.Adam(self.net.parameters(), lr=config.train.lr)
        self.updates = 0

    @property
    def sampling_model(self) -> Denoiser:
        return self.ema

    def noise_levels(self, n: int) -> torch.Tensor:
        model = self.config.model
        if model.noise == "single":
            return torch.full((n,), model.sigma, device=self.device)
        return (model.p_mean + model.p_std * torch.randn(n, device=self.device)).exp()

    def train_step(self, images, labels):
        model = self.config.model
        clean = images * 2 - 1
        sigma = self.noise_levels(clean.shape[0])
        noisy = clean + sigma[:, None, None, None] * torch.randn_like(clean)
        if self.net.num_classes:
            dropped = torch.rand(labels.shape[0], device=self.device) < model.label_dropout
            labels = torch.where(dropped, torch.full_like(labels, self.net.null_class), labels)
        else:
            labels = None
        contractive = model.contractive > 0
        noisy.requires_grad_(contractive)
        out, features = self.net.network(noisy, sigma, labels, with_features=True)
        c_skip, c_out, _ = self.net.scalings(sigma)
        # EDM's loss weight makes every level's error count alike; in terms of the raw output it
        # is a plain squared error against the scaled target.
        target = (clean - c_skip * noisy.detach()) / c_out
        losses = {"loss": (out - target).pow(2).mean()}
        total = losses["loss"]
        if contractive:
            losses["loss_contractive"] = jacobian_norm_estimate(features, noisy).mean()
            total = total + model.contractive * losses["loss_contractive"]
        self.optimiser.zero_grad(set_to_none=True)
        total.backward()
        self.world.average_gradients(self.net.parameters())
        self.optimiser.step()
        self._update_ema()
        return {name: value.detach() for name, value in losses.items()}

    def _update_ema(self) -> None:
        self.updates += 1
        update_average(self.ema, self.net, self.config.model.ema_decay, self.updates)

    def sample_options(self) -> dict:
        return self.config.sample.model_dump()

    def start_from(self, state, same_classes, where):
        fresh = []
        for name, net in (("net", self.net), ("ema", self.ema)):
            fresh += [f"{name}.{key}" for key in load_matching(net, state[name], _class_dependent, same_classes, where)]
        return fresh

    def state_dict(self):
        return {"net": self.net.state_dict(), "ema": self.ema.state_dict(),
                "optimiser": self.optimiser.state_dict(), "updates": self.updates}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.ema.load_state_dict(state["ema"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.updates = int(state["updates"])


def _class_dependent(name: str) -> bool:
    return name.startswith("class_embed.")
