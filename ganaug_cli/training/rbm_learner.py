"""One RBM's CD-k / PCD-k updates: momentum, weight decay and an optional sparsity target
(Hinton's practical guide).

The learner packs the RBM's weights, visible biases (an extra column) and hidden biases (an
extra row) into one (V+1)×(H+1) matrix; W, b_v and b_h become views of it, so sampling, AIS
and checkpoints see the usual parameters. With a constant 1 appended to the visible and
hidden states, the products add the biases themselves, and for Bernoulli visibles one
product of the stacked statistics, [v0 1; vk 1]ᵀ·[ph0 1; −phk −1], gives every gradient at
once: fewer passes over memory than separate bias terms (benchmarks/rbm_vs_sklearn.py).
Gaussian visibles scale their units by σ and take the general path on the same views.
"""

import torch
import torch.nn.functional as F

from ganaug_cli.random_sources import training_random
from ganaug_cli.training.distributed import SINGLE, World
from ganaug_cli.models.rbm import RBM, bernoulli, sample_categorical, softmax_rows

# The per-step training recon error is a progress signal (the held-out one is measured each
# epoch): RECON_ROWS rows of the batches it is measured on.
RECON_ROWS = 10


def pack(tensors: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(W, b_v, b_h) -> one (V+1)×(H+1) matrix with them in place (corner 0), and views of it."""
    W = tensors["W"]
    V, H = W.shape
    packed = torch.zeros(V + 1, H + 1, device=W.device, dtype=W.dtype)
    views = {"W": packed[:V, :H], "b_v": packed[:V, H], "b_h": packed[V, :H]}
    for name, view in views.items():
        view.copy_(tensors[name])
    return packed, views


class StepBuffers:
    """A step's states, kept between steps: [v0 1; vk 1], [ph0 1; −phk −1] and the chains' [h 1],
    with the views a step reads (views stay valid while their storage is updated in place)."""

    def __init__(self, n: int, packed: torch.Tensor):
        visible, hidden = packed.shape[0] - 1, packed.shape[1] - 1
        device = packed.device
        self.visible = torch.ones(2 * n, visible + 1, device=device)
        self.hidden = torch.ones(2 * n, hidden + 1, device=device)
        self.hidden[n:, hidden] = -1
        self.chain = torch.ones(n, hidden + 1, device=device)
        self.logits = torch.empty(n, visible, device=device)
        self.threshold = torch.empty(n, hidden, device=device)
        self.data, self.model, self.data_units = self.visible[:n], self.visible[n:], self.visible[:n, :visible]
        self.ph0, self.phk, self.hidden_states = self.hidden[:n, :hidden], self.hidden[n:, :hidden], self.chain[:, :hidden]
        self.probabilities = self.hidden[:, :hidden]  # [ph0; phk]
        self.up, self.down = packed[:, :hidden], packed[:visible].t()  # [v 1]·up, [h 1]·down
        self.visible_t = self.visible.t()


class RbmLearner:
    """CD-k / PCD-k updates of one RBM; its velocities and persistent chains are checkpointed."""

    objective = None  # CD follows no objective's gradient, so it has none to log

    def __init__(self, rbm: RBM, train):
        self.rbm, self.train = rbm, train
        self.packed, views = pack(dict(rbm.named_parameters()))
        for name, view in views.items():
            getattr(rbm, name).data = view
        self.parameters = dict(rbm.named_parameters())  # updated in place, so built once
        self.packed_velocity, self.velocity = pack({name: torch.zeros_like(p) for name, p in self.parameters.items()})
        if rbm.gaussian:
            self.velocity["log_var"] = torch.zeros_like(rbm.log_var)
        self.chain: torch.Tensor | None = None  # pcd: hidden states of the persistent chains
        self.activity: torch.Tensor | None = None  # running mean hidden probability (sparsity)
        self.random = training_random(rbm.W.device)
        self.buffers: StepBuffers | None = None

    @torch.no_grad()
    def update(self, v0: torch.Tensor, rate: float, momentum: float, measure: bool = True,
               world: World = SINGLE) -> torch.Tensor | None:
        """One update from visible vectors ``v0`` at learning rate ``rate``; returns the
        reconstruction error of the batch's first rows when ``measure`` (an extra small
        product), else None.

        In a job of several processes each rank updates from its own batch and chains, then
        the ranks average their new parameters, velocities and sparsity statistics: from equal
        starting values, that is the update of the averaged gradient."""
        if self.rbm.gaussian:
            recon = self._update_scaled(v0, rate, momentum, measure)
        else:
            recon = self._update_packed(v0, rate, momentum, measure)
        if world.active:
            shared = [self.packed, self.packed_velocity]
            if self.rbm.gaussian:
                shared += [self.rbm.log_var, self.velocity["log_var"]]
            world.average_(shared + ([self.activity] if self.activity is not None else []))
        return recon

    def _update_packed(self, v0: torch.Tensor, rate: float, momentum: float, measure: bool) -> torch.Tensor | None:
        rbm, cfg, n = self.rbm, self.train, v0.shape[0]
        if self.buffers is None or self.buffers.chain.shape[0] != n:
            self.buffers = StepBuffers(n, self.packed)
            if self.chain is not None and self.chain.shape[0] == n:  # chains loaded from a checkpoint
                self.buffers.hidden_states.copy_(self.chain)
                self.chain = self.buffers.hidden_states
        b = self.buffers
        b.data_units.copy_(v0)
        ph0, phk = b.ph0, b.phk
        persistent = cfg.criterion == "pcd" and self.chain is not None and self.chain.shape[0] == n
        if not persistent:  # the chains start from the data's hidden states
            torch.mm(b.data, b.up, out=ph0).sigmoid_()
            bernoulli(ph0, self.random, out=b.hidden_states, scratch=b.threshold)
        for step in range(cfg.k):
            self._sample_visible(torch.mm(b.chain, b.down, out=b.logits), b.model)
            if persistent and step == cfg.k - 1:
                # Persistent chains do not depend on the data, so the data's hidden probabilities
                # wait for the last model sample: one product over [v0 1; vk 1] gives both.
                torch.mm(b.visible, b.up, out=b.probabilities).sigmoid_()
            else:
                torch.mm(b.model, b.up, out=phk).sigmoid_()
            if step < cfg.k - 1 or cfg.criterion == "pcd":
                bernoulli(phk, self.random, out=b.hidden_states, scratch=b.threshold)
        if cfg.criterion == "pcd":
            self.chain = b.hidden_states
        recon = self.reconstruction_error(v0, ph0) if measure else None
        phk.neg_()  # the stacked product below then subtracts the model's statistics
        lr = rate / n
        direct = not (cfg.momentum_start or cfg.momentum_end)  # see _update_scaled
        if direct:
            if cfg.weight_decay:
                rbm.W.mul_(1 - rate * cfg.weight_decay)
            self.packed.addmm_(b.visible_t, b.hidden, alpha=lr)
        else:
            self.packed_velocity.addmm_(b.visible_t, b.hidden, beta=momentum, alpha=lr)
            if cfg.weight_decay:
                self.velocity["W"].add_(rbm.W, alpha=-rate * cfg.weight_decay)
        if cfg.sparsity_target is not None:
            self._sparsity(ph0, v0, self.parameters if direct else self.velocity, rate)
        if not direct:
            self.packed.add_(self.packed_velocity)
        return recon

    def _sample_visible(self, logits: torch.Tensor, out: torch.Tensor) -> None:
        """Binary image units and one-hot labels drawn from the visible ``logits`` into ``out``."""
        rbm = self.rbm
        P = rbm.pixels
        image = logits[:, :P].sigmoid_()
        bernoulli(image, self.random, out=out[:, :P], scratch=image)  # the means are not needed after
        if rbm.num_classes:
            label = sample_categorical(softmax_rows(logits[:, P:]), self.random)
            out[:, P : P + rbm.num_classes] = F.one_hot(label, rbm.num_classes)

    def _update_scaled(self, v0: torch.Tensor, rate: float, momentum: float, measure: bool) -> torch.Tensor | None:
        """Gaussian visibles: units scaled by σ, a σ²-scaled visible gradient, optionally σ itself."""
        rbm, cfg = self.rbm, self.train
        n, P = v0.shape[0], rbm.pixels
        s0 = rbm.scale(v0)
        ph0 = torch.addmm(rbm.b_h, s0, rbm.W).sigmoid_()
        persistent = cfg.criterion == "pcd" and self.chain is not None and self.chain.shape[0] == n
        h = self.chain if persistent else bernoulli(ph0, self.random)
        for step in range(cfg.k):
            vk, _ = rbm.sample_visible(h, self.random)
            sk = rbm.scale(vk)
            phk = torch.addmm(rbm.b_h, sk, rbm.W).sigmoid_()
            if step < cfg.k - 1 or cfg.criterion == "pcd":
                h = bernoulli(phk, self.random)
        if cfg.criterion == "pcd":
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
        self.buffers = None  # rebuilt at the next update, around the loaded chains
        for name, saved in state["velocity"].items():
            self.velocity[name].copy_(saved)  # in place: the packed velocity
        self.chain = state["chain"].to(device) if state["chain"] is not None else None
        self.activity = state["activity"].to(device) if state["activity"] is not None else None
        if self.random is not None and state.get("random") is not None:
            self.random.load_state_dict(state["random"])
