"""What a training checkpoint holds, and restoring the random state for exact resume."""

import random
from pathlib import Path

import torch

from ganaug_cli.runs import checkpoint_time, save_checkpoint, write_run_summary
from ganaug_cli.training.base import Trainer


def rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if device.type == "cuda":  # never touch CUDA on a CPU run
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def write_training_checkpoint(trainer: Trainer, run_dir: Path, step: int, seed: int) -> Path:
    model = trainer.sampling_model
    info = trainer.info
    path = save_checkpoint(
        run_dir,
        step,
        {
            "family": trainer.family,
            "model_args": model.args,
            "model_state": model.state_dict(),
            "class_names": info.class_names,
            "resolution": info.resolution,
            "channels": info.channels,
            "config": trainer.config.model_dump(mode="json"),
            "seed": seed,
            "trainer": trainer.state_dict(),
            "rng": rng_state(trainer.device),
        },
        keep=trainer.config.train.keep_checkpoints,
    )
    write_run_summary(
        run_dir,
        {
            "family": trainer.family,
            "step": step,
            "class_names": info.class_names,
            "conditional": model.num_classes > 0,
            "resolution": info.resolution,
            "channels": info.channels,
            "last_checkpoint": path.name,
            "last_checkpoint_time": checkpoint_time(path),
        },
    )
    return path
