"""Pick the torch device from ``auto|cpu|cuda|cuda:N|mps``."""

import logging

import torch

from ganaug_cli.errors import ConfigError

log = logging.getLogger("ganaug")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(spec: str, announce: bool = True) -> torch.device:
    """The device named by ``spec``; ``auto`` picks CUDA, then MPS, else CPU and says which."""
    if spec == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif _mps_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        if announce:
            log.info("device: %s (auto)", device)
        return device
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {spec}: CUDA is not available on this machine (try --device cpu)")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
    if spec == "mps" and not _mps_available():
        raise ConfigError("--device mps: MPS is not available on this machine (try --device cpu)")
    return torch.device(spec)
