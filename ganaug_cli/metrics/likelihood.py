"""Per-image scores of an RBM: log p(v) given log Z, pseudo-log-likelihood, reconstruction error."""

import torch
import torch.nn.functional as F

from ganaug_cli.models.rbm import RBM

CHUNK_ELEMENTS = 2**22  # bounds the memory of the N×P×H tensors below


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
    P = rbm.pixels
    W_image, b_image = rbm.W[:P], rbm.b_v[:P]
    rows = max(1, CHUNK_ELEMENTS // (P * rbm.W.shape[1]))
    scores = []
    for part in v.split(rows):
        a = rbm.hidden_input(part)
        sign = 1 - 2 * part[:, :P]  # +1 turns a unit on, -1 off
        flipped = F.softplus(a[:, None, :] + sign[:, :, None] * W_image[None]).sum(2)
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
