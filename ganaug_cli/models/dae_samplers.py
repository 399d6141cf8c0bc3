"""Samplers for a denoiser ``denoise(x, sigma) -> D``, the clean-image estimate at noise level sigma.

``denoise(x, sigma) - x`` is sigma² times the score of the data blurred by that noise
(Tweedie's formula), so each sampler follows it from noise to images in its own way:

- heun: the probability-flow ODE from sigma_max to 0 with Heun's second-order steps on
  EDM's level schedule (Karras et al. 2022): deterministic given the starting noise,
  2·steps - 1 network calls.
- langevin: annealed Langevin dynamics (Song & Ermon 2019): a few noisy score steps at each
  of ``steps`` geometrically spaced levels, then one denoising: steps·per_level + 1 calls.
- chain: the generalized denoising auto-encoder's Markov chain (Bengio et al. 2013): corrupt
  at the training level, denoise, repeat; the last reconstruction is the sample. Works for a
  model trained at one level.

All randomness comes from ``generator``; images are on the [-1, 1] scale.
"""

import torch

RHO = 7  # EDM's schedule exponent: more of the steps at low noise, where detail forms


def _gaussian(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(like.shape, generator=generator, device=generator.device).to(like.device, like.dtype)


def karras_levels(steps: int, sigma_min: float, sigma_max: float) -> list[float]:
    """``steps`` noise levels from sigma_max down to sigma_min, then 0."""
    top, bottom = sigma_max ** (1 / RHO), sigma_min ** (1 / RHO)
    return [(top + i / (steps - 1) * (bottom - top)) ** RHO for i in range(steps)] + [0.0]


def heun(denoise, noise, generator, *, sigma_min, sigma_max, steps, **_):
    levels = karras_levels(steps, sigma_min, sigma_max)
    x = noise * sigma_max
    for t, t_next in zip(levels, levels[1:]):
        slope = (x - denoise(x, t)) / t
        x_next = x + (t_next - t) * slope
        if t_next > 0:  # the last step to 0 stays first-order (its slope would divide by 0)
            x_next = x + (t_next - t) * (slope + (x_next - denoise(x_next, t_next)) / t_next) / 2
        x = x_next
    return x


def langevin(denoise, noise, generator, *, sigma_min, sigma_max, steps, per_level, size, **_):
    ratio = (sigma_min / sigma_max) ** (1 / (steps - 1))
    x = noise * sigma_max
    for i in range(steps):
        level = sigma_max * ratio**i
        for _ in range(per_level):
            # Step alpha = size·level²: x += alpha/2 · score + sqrt(alpha) · z, score = (D - x) / level².
            x = x + size / 2 * (denoise(x, level) - x) + (size**0.5) * level * _gaussian(x, generator)
    return denoise(x, sigma_min)


def chain(denoise, noise, generator, *, sigma, steps, **_):
    x = noise * 0.5  # a random start; the chain forgets it within its first steps
    for _ in range(steps):
        x = denoise(x + sigma * _gaussian(x, generator), sigma)
    return x


SAMPLERS = {"heun": heun, "langevin": langevin, "chain": chain}
