"""RBM objectives that need neither Gibbs chains nor the partition function, written for
autograd: ratio matching (binary units), score matching (Gaussian units) and noise-contrastive
estimation. Each returns the batch mean of a quantity to minimise.

Label units are conditioned on by score matching (they are discrete) and take part in ratio
matching as one categorical variable: its neighbours are the other labels.
"""

import math

import torch
import torch.nn.functional as F

from ganaug_cli.models.rbm import RBM


# Rows per chunk of the N×P×H flip tensors: small enough to stay in the CPU's caches.
FLIP_CHUNK_ROWS = 16


class FlipGaps(torch.autograd.Function):
    """F(v with image unit i flipped) − F(v) for every row and unit, with a hand-written backward.

    Flipping unit i moves the hidden input ``a`` by ±W_i, so all flips are one N×P×H tensor of
    softplus terms. Autograd would keep that tensor (and its softplus) for the backward pass;
    recomputing it in chunks that stay in cache is faster (docs/benchmarks.md, section
    rbm-criteria, times both)."""

    @staticmethod
    def forward(ctx, a, sign, W, b):
        """a: N×H hidden inputs, sign: N×P (+1 turns a unit on, −1 off), W: P×H, b: P."""
        gaps = F.softplus(a).sum(1, keepdim=True).expand(-1, sign.shape[1]).clone()
        for rows in range(0, len(a), FLIP_CHUNK_ROWS):
            part = slice(rows, rows + FLIP_CHUNK_ROWS)
            flipped = torch.addcmul(a[part, None, :], sign[part, :, None], W)
            gaps[part] -= torch.logaddexp(flipped, flipped.new_zeros(()), out=flipped).sum(2)  # softplus
        ctx.save_for_backward(a, sign, W)
        return gaps.sub_(sign * b)

    @staticmethod
    def backward(ctx, grad):
        a, sign, W = ctx.saved_tensors
        grad_a = torch.sigmoid(a) * grad.sum(1, keepdim=True)
        grad_W = torch.zeros_like(W)
        for rows in range(0, len(a), FLIP_CHUNK_ROWS):
            part = slice(rows, rows + FLIP_CHUNK_ROWS)
            flipped = torch.addcmul(a[part, None, :], sign[part, :, None], W)
            slope = torch.sigmoid(flipped, out=flipped)
            grad_a[part] -= torch.bmm(grad[part, None, :], slope).squeeze(1)
            grad_W -= torch.einsum("ni,nij->ij", grad[part] * sign[part], slope)
        return grad_a, None, grad_W, -(grad * sign).sum(0)


def flip_gaps(rbm: RBM, v: torch.Tensor) -> torch.Tensor:
    """N×P: F(v with image unit i flipped) − F(v), for binary image units."""
    P = rbm.pixels
    return FlipGaps.apply(rbm.hidden_input(v), 1 - 2 * v[:, :P], rbm.W[:P], rbm.b_v[:P])


def label_gaps(rbm: RBM, v: torch.Tensor) -> torch.Tensor:
    """N×K: F(v with label c) − F(v) (0 for the row's own label)."""
    P = rbm.pixels
    a = rbm.hidden_input(v)
    own = v[:, P:]
    label_rows, label_bias = rbm.W[P:], rbm.b_v[P:]
    base = a - own @ label_rows  # the hidden input without the label's row
    per_label = F.softplus(base[:, None, :] + label_rows[None]).sum(2) + label_bias  # −F(v with label c) + image terms
    return (per_label * own).sum(1, keepdim=True) - per_label


def ratio_matching(rbm: RBM, v: torch.Tensor) -> torch.Tensor:
    """Hyvärinen (2007), the binary form of score matching: Σ_i g(p(v) / p(v̄_i))² with
    g(u) = 1 / (1 + u) over every neighbour v̄_i of v (one unit flipped; another label).
    p(v) / p(v̄) = exp(F(v̄) − F(v)), so each term is σ(F(v) − F(v̄))² and Z cancels."""
    terms = torch.sigmoid(-flip_gaps(rbm, v)).pow(2).sum(1)
    if rbm.num_classes:
        others = 1 - v[:, rbm.pixels :]
        terms = terms + (torch.sigmoid(-label_gaps(rbm, v)).pow(2) * others).sum(1)
    return terms.mean()


def score_matching(rbm: RBM, x: torch.Tensor) -> torch.Tensor:
    """Hyvärinen (2005) for Gaussian image units: Σ_i ½ ψ_i² + ∂ψ_i/∂x_i with ψ = −∂F/∂x, in
    closed form for the Gaussian–Bernoulli energy (s: the hidden units' probabilities):

        ψ_i = −(x_i − b_i) / σ_i² + Σ_j W_ij s_j / σ_i,    ∂ψ_i/∂x_i = (Σ_j W_ij² s_j (1 − s_j) − 1) / σ_i²
    """
    P = rbm.pixels
    image, W = x[:, :P], rbm.W[:P]
    variance = rbm.log_var.exp()
    s = torch.sigmoid(rbm.hidden_input(x))
    psi = (s @ W.t()) / variance.sqrt() - (image - rbm.b_v[:P]) / variance
    slope = ((s * (1 - s)) @ W.pow(2).t() - 1) / variance
    return (0.5 * psi.pow(2) + slope).sum(1).mean()


def nce(rbm: RBM, data: torch.Tensor, noise: torch.Tensor, log_q_data: torch.Tensor, log_q_noise: torch.Tensor,
        log_z: torch.Tensor) -> torch.Tensor:
    """Gutmann & Hyvärinen (2010): logistic regression of data against ``noise`` (ν rows per data
    row, log densities ``log_q_*`` under the noise model), with the model's log density
    −F(v) − log_z and log_z a parameter. Per data row, so ν changes the scale, not the optimum."""
    log_ratio = math.log(len(noise) / len(data))
    data_logit = -rbm.free_energy(data) - log_z - log_q_data - log_ratio
    noise_logit = -rbm.free_energy(noise) - log_z - log_q_noise - log_ratio
    return -(F.logsigmoid(data_logit).sum() + F.logsigmoid(-noise_logit).sum()) / len(data)


def independent_log_partition(rbm: RBM) -> torch.Tensor:
    """log Z of the RBM with its weights set to 0: where NCE's log_z starts (weights start small)."""
    P = rbm.pixels
    if rbm.gaussian:
        log_z = 0.5 * (math.log(2 * math.pi) + rbm.log_var).sum()
    else:
        log_z = F.softplus(rbm.b_v[:P]).sum()
    if rbm.num_classes:
        log_z = log_z + rbm.b_v[P:].logsumexp(0)
    return log_z + F.softplus(rbm.b_h).sum()
