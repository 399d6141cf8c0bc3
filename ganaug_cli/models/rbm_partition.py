"""log Z of an RBM: annealed importance sampling, and exact enumeration for small models.

AIS follows Salakhutdinov & Murray (2008). Chains anneal from a base model without
interactions (β = 0) to the RBM (β = 1), with the hidden units summed out:

    log p*_β(v) = visible term_β(v) + Σ_j softplus(β · a_j(v)),   a(v) = hidden input.

Bernoulli image units: the visible term is v·((1-β)·base + β·b), ``base`` being the
data's base rates (logits of the mean pixel), which starts the chains near the data.
Gaussian image units keep the RBM's quadratic term around b at every β. Label units
start uniform and gain β·b_label.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganaug_cli.errors import GanaugError
from ganaug_cli.random_sources import normal, randint, sampling_random
from ganaug_cli.models.rbm import RBM, bernoulli, sample_categorical, softmax_rows


@dataclass(frozen=True)
class PartitionEstimate:
    log_z: float
    std: float  # standard error of log_z, from the spread of the importance weights


def beta_schedule(count: int) -> torch.Tensor:
    """``count`` + 1 inverse temperatures from 0 to 1, spaced like Salakhutdinov & Murray's
    500 / 4,000 / 10,000 steps over [0, 0.5], [0.5, 0.9], [0.9, 1]: densest near 1."""
    n1 = max(1, round(count * 500 / 14500))
    n2 = max(1, round(count * 4000 / 14500))
    n3 = max(1, count - n1 - n2)
    parts = [torch.linspace(0, 0.5, n1 + 1)[:-1], torch.linspace(0.5, 0.9, n2 + 1)[:-1], torch.linspace(0.9, 1, n3 + 1)]
    return torch.cat(parts).double()


def base_rates(images: torch.Tensor, smoothing: float = 1.0) -> torch.Tensor:
    """Visible biases of the base model: logits of the mean of each image unit (N×P in [0, 1]),
    smoothed like a Beta(1, 1) prior so no pixel is certain."""
    mean = (images.sum(0) + smoothing) / (images.shape[0] + 2 * smoothing)
    return torch.logit(mean)


@torch.no_grad()
def ais_log_partition(
    rbm: RBM,
    *,
    betas: int,
    chains: int,
    base_bias: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> PartitionEstimate:
    device, P, K = rbm.W.device, rbm.pixels, rbm.num_classes
    W, b = rbm.W, rbm.b_v
    schedule = beta_schedule(betas).tolist()
    hidden = W.shape[1]
    source = sampling_random(generator, device)  # on CPU the SFC64 source that training and sampling use
    if rbm.gaussian:
        sigma = rbm.sigma()
        v = b[:P] + sigma * normal(b[:P].expand(chains, P), source)
        base = torch.zeros(P + K, device=device)
        drift = torch.cat([torch.zeros(P, device=device), b[P:]])  # only the label term anneals
        log_z_base = (0.5 * torch.log(2 * math.pi * rbm.log_var.exp())).sum().item()
    else:
        image_base = torch.zeros(P, device=device) if base_bias is None else base_bias.to(device, W.dtype)
        v = bernoulli(torch.sigmoid(image_base).expand(chains, P), source)
        base = torch.cat([image_base, torch.zeros(K, device=device)])
        drift = b - base
        log_z_base = F.softplus(image_base.double()).sum().item()
    if K:
        start = randint(K, chains, device, source)
        v = torch.cat([v, F.one_hot(start, K).to(v.dtype)], dim=1)
        log_z_base += math.log(K)
    log_z_base += hidden * math.log(2)

    # The weights accumulate a thousand small differences of softplus sums, so they are kept
    # in float64; the Gibbs sweeps only sample, and stay in float32.
    log_w = torch.zeros(chains, dtype=torch.float64, device=device)
    hidden_input = rbm.hidden_input(v)
    a = hidden_input.double()
    for k in range(1, len(schedule)):
        now, before = schedule[k], schedule[k - 1]
        log_w += (now - before) * (v @ drift).double()
        log_w += (F.softplus(now * a) - F.softplus(before * a)).sum(1)
        if k == len(schedule) - 1:
            break
        # One Gibbs sweep that leaves p_β (β = now) invariant.
        h = bernoulli(torch.sigmoid(hidden_input.mul_(now)), source)
        top = h @ W.t()
        if rbm.gaussian:
            image = b[:P] + now * sigma * top[:, :P] + sigma * normal(top[:, :P], source)
        else:
            image = bernoulli(torch.sigmoid(base[:P] + now * (drift[:P] + top[:, :P])), source)
        if K:
            probs = softmax_rows(now * (b[P:] + top[:, P:]))
            label = sample_categorical(probs, source)
            image = torch.cat([image, F.one_hot(label, K).to(image.dtype)], dim=1)
        v = image
        hidden_input = rbm.hidden_input(v)
        a = hidden_input.double()

    log_mean = torch.logsumexp(log_w, 0).item() - math.log(chains)
    weights = torch.exp(log_w - log_w.max())
    spread = (weights.std() / (weights.mean() * math.sqrt(chains))).item() if chains > 1 else float("nan")
    return PartitionEstimate(log_z_base + log_mean, spread)


@torch.no_grad()
def exact_log_partition(rbm: RBM, max_hidden: int = 24) -> float:
    """log Z by summing over every hidden configuration (Bernoulli image units, small models)."""
    hidden = rbm.W.shape[1]
    if rbm.gaussian or hidden > max_hidden:
        raise GanaugError(f"exact log Z needs Bernoulli visible units and at most {max_hidden} hidden units")
    P = rbm.pixels
    W, b, c = rbm.W.double(), rbm.b_v.double(), rbm.b_h.double()
    terms = []
    for start in range(0, 2**hidden, 2**16):
        codes = torch.arange(start, min(start + 2**16, 2**hidden), device=W.device)
        h = ((codes[:, None] >> torch.arange(hidden, device=W.device)) & 1).double()
        top = h @ W.t() + b
        term = h @ c + F.softplus(top[:, :P]).sum(1)
        if rbm.num_classes:
            term = term + top[:, P:].logsumexp(1)
        terms.append(term)
    return torch.logsumexp(torch.cat(terms), 0).item()
