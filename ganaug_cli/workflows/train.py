"""A whole training command: plan, run folder, the loop, the final checkpoint."""

import logging
import secrets
from pathlib import Path
from typing import Any

import torch

from ganaug_cli.data.folder import CHANNEL_COUNT
from ganaug_cli.errors import RunError, TrainingError
from ganaug_cli.families import Family
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.runs import create_run_dir, write_run_config
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.checkpoint import restore_rng
from ganaug_cli.training.loop import LoopState, train_loop
from ganaug_cli.workflows.run_plan import RunPlan, plan_run

log = logging.getLogger("ganaug")


def _data_info(plan: RunPlan) -> DataInfo:
    data = plan.data
    return DataInfo(CHANNEL_COUNT[data.channels], data.resolution, data.class_names, data.class_counts())


def _check_same_data(checkpoint: dict, info: DataInfo, run_dir: Path) -> None:
    stored = (checkpoint["class_names"], checkpoint["resolution"], checkpoint["channels"])
    now = (info.class_names, info.resolution, info.channels)
    if list(stored[0]) != list(now[0]) or stored[1:] != now[1:]:
        raise RunError(
            f"{run_dir}: the data folder no longer matches the run "
            f"(classes/resolution/channels were {stored}, now {now})"
        )


def train_family(
    family: Family,
    *,
    config_file: Path | None = None,
    flags: dict[str, tuple[str, Any]] | None = None,
    sets: list[str] | None = None,
    resume: Path | None = None,
    out: Path | None = None,
    progress: Progress = SILENT,
) -> Path:
    """Validate everything, train, and return the run folder."""
    if resume is not None and out is not None:
        raise TrainingError("--out cannot be combined with --resume (the run folder is the one resumed)")
    plan = plan_run(family, config_file=config_file, flags=flags, sets=sets, resume=resume, progress=progress)
    config = plan.config
    device = plan.device
    info = _data_info(plan)
    checkpoint = plan.checkpoint
    if checkpoint is not None:
        _check_same_data(checkpoint, info, plan.run_dir)
        seed, run_dir = int(checkpoint["seed"]), plan.run_dir
    else:
        seed = config.train.seed if config.train.seed is not None else secrets.randbelow(2**31)
        # The run folder records the seed actually used and an absolute data path, so that
        # --resume works from any directory.
        config = config.model_copy(
            update={
                "train": config.train.model_copy(update={"seed": seed}),
                "data": config.data.model_copy(update={"path": Path(config.data.path).resolve()}),
            }
        )
        run_dir = create_run_dir(family.name, out)
        write_run_config(run_dir, config.model_dump(mode="json"))
    log.info("run folder: %s", run_dir)
    log.info("device: %s%s", device, " (auto)" if config.train.device == "auto" else "")
    torch.manual_seed(seed)
    trainer = family.trainer(config, info, device)
    state = LoopState(step=0, seed=seed)
    if checkpoint is not None:
        trainer.load_state_dict(checkpoint["trainer"])
        restore_rng(checkpoint["rng"], device)
        state.step = int(checkpoint["step"])
        log.info("resuming from %s (step %d)", plan.resume_from, state.step)
    train_loop(trainer, plan.data.images, plan.data.labels, run_dir, state, progress)
    return run_dir
