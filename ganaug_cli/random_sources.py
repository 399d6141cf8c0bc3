"""Random sources for Gibbs sampling and the RBM learner, cheap on CPU.

Torch's CPU generator is a serial Mersenne Twister; numpy's SFC64 makes the same bits
faster, and a PCD step draws one uniform per unit (docs/benchmarks.md has the timings).
CPU training draws from a ``FastRandom`` owned by the learner, seeded from the run's torch
generator and checkpointed with it, so resumed runs stay exact; CPU sampling seeds one from
the caller's generator. CUDA runs keep torch's generators, which are fast there.
"""

import numpy as np
import torch


class FastRandom:
    """Uniform 16-bit integers, uniforms and normals from numpy's SFC64 (CPU tensors)."""

    def __init__(self, seed: int):
        self._bits = np.random.SFC64(seed)
        self._numbers = np.random.Generator(self._bits)

    def int16(self, shape: torch.Size) -> torch.Tensor:
        """Integers uniform on [-32768, 32768), four cut from each 64-bit draw."""
        count = shape.numel()
        raw = self._bits.random_raw((count + 3) // 4)
        return torch.from_numpy(raw.view(np.int16)[:count]).view(shape)

    def uniform(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(self._numbers.random(shape, dtype=np.float32)).to(dtype)

    def normal(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(self._numbers.standard_normal(shape, dtype=np.float32)).to(dtype)

    def state_dict(self) -> dict:
        state = self._bits.state
        # Plain ints only, so checkpoints keep loading with weights_only=True.
        return {"state": [int(x) for x in state["state"]["state"]], "has_uint32": int(state["has_uint32"]),
                "uinteger": int(state["uinteger"])}

    def load_state_dict(self, saved: dict) -> None:
        self._bits.state = {
            "bit_generator": "SFC64",
            "state": {"state": np.array(saved["state"], dtype=np.uint64)},
            "has_uint32": saved["has_uint32"],
            "uinteger": saved["uinteger"],
        }


Source = torch.Generator | FastRandom | None


def training_random(device: torch.device) -> FastRandom | None:
    """The learner's source: SFC64 on CPU, seeded from torch's global generator (which the
    run seeds and restores); None on GPUs, whose global generator is fast and checkpointed."""
    if device.type != "cpu":
        return None
    return FastRandom(int(torch.randint(0, 2**62, (1,))))


def sampling_random(generator: torch.Generator, device: torch.device) -> torch.Generator | FastRandom:
    """A source on ``device`` seeded from the caller's CPU generator, so a seed fixes the images."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    if device.type == "cpu":
        return FastRandom(seed)
    return torch.Generator(device=device).manual_seed(seed)


def uniform_int16(like: torch.Tensor, source: Source) -> torch.Tensor:
    if isinstance(source, FastRandom) and like.device.type == "cpu":
        return source.int16(like.shape)
    count = like.numel()
    bits = torch.empty((count + 3) // 4, dtype=torch.int64, device=like.device)
    bits.random_(-(2**63), None, generator=source)
    return bits.view(torch.int16)[:count].view(like.shape)


def uniform(shape: tuple[int, ...], like: torch.Tensor, source: Source) -> torch.Tensor:
    if isinstance(source, FastRandom) and like.device.type == "cpu":
        return source.uniform(shape, like.dtype)
    return torch.rand(shape, generator=source, device=like.device, dtype=like.dtype)


def normal(like: torch.Tensor, source: Source) -> torch.Tensor:
    if isinstance(source, FastRandom) and like.device.type == "cpu":
        return source.normal(tuple(like.shape), like.dtype)
    return torch.randn(like.shape, generator=source, device=like.device, dtype=like.dtype)


def randint(high: int, count: int, device: torch.device, source: Source) -> torch.Tensor:
    if isinstance(source, FastRandom) and device.type == "cpu":
        return (source.uniform((count,), torch.float64) * high).long().clamp_max(high - 1)
    return torch.randint(high, (count,), generator=source, device=device)
