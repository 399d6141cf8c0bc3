"""Per-image scores of an RBM: log p(v) given log Z, pseudo-log-likelihood, reconstruction error."""

import torch
import torch.nn.functional as F

from ganaug_cli.models.rbm import RBM

CHUNK_ELEMENTS = 2**22  # bounds the memory of the N×K×H tensors of log_likelihood
# The pseudo-likelihood's N×P×H chunks stay small enough for the CPU's caches
# (benchmarks/rbm_run_time.py times it).
PLL_CHUNK_ELEMENTS = 2**21


@torch.no_grad()
def log_likelihood(rbm: RBM, image: torch.Tensor, log_z: float) -> torch.Tensor:
    """log p(v) in nats of each row of image units (model scale), label units summed out."""
    rows = max(1, CHUNK_ELEMENTS // (max(rbm.num_classes, 1) * rbm.W.shape[1]))
    free = torch.cat([rbm.free_energy_images(part) for part in image.split(rows)])
    return -free.double() - log_z


@torch.no_grad()
def pseudo_log_likelihood(rbm: RBM, v: torch.Tensor) -> torch.Tensor:
    """Exact Σ_i log p(v_i | v_-i) over the binary image units of each row (labels given).

    Flipping unit i moves the hidden input by ±W_i, so all P flips cost one
    N×P×H pass instead of P free-energy evaluations.
    """
    P, H = rbm.pixels, rbm.W.shape[1]
    W_image, b_image = rbm.W[:P], rbm.b_v[:P]
    rows = max(1, PLL_CHUNK_ELEMENTS // (P * H))
    # One workspace for every chunk: a fresh multi-megabyte tensor per chunk costs more in
    # page faults (fresh memory from the OS) than the arithmetic on it.
    workspace, zero = W_image.new_empty(min(rows, len(v)), P, H), W_image.new_zeros(())
    scores = []
    for part in v.split(rows):
        a = rbm.hidden_input(part)
        sign = 1 - 2 * part[:, :P]  # +1 turns a unit on, -1 off
        inputs = torch.addcmul(a[:, None, :], sign[:, :, None], W_image, out=workspace[: len(part)])
        flipped = torch.logaddexp(inputs, zero, out=inputs).sum(2)  # softplus, in place
        delta_free = -sign * b_image - (flipped - F.softplus(a).sum(1, keepdim=True))  # F(flipped) - F(v)
        scores.append(-F.softplus(-delta_free).sum(1))
    return torch.cat(scores)


@torch.no_grad()
def reconstruction_error(rbm: RBM, v: torch.Tensor) -> float:
    """Mean squared error per image unit after one mean-field up-down pass, in pixel scale."""
    P = rbm.pixels
    mean = rbm.visible_mean(torch.sigmoid(rbm.hidden_input(v)))[:, :P]
    diff = mean - v[:, :P]
    if rbm.gaussian:
        diff = diff * rbm.pixel_std
    return diff.pow(2).mean().item()
