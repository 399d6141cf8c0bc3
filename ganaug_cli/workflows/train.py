"""A whole training command: plan, run folder, the loop, the final checkpoint."""

import logging
import secrets
from pathlib import Path
from typing import Any

import torch

from ganaug_cli.data.folder import CHANNEL_COUNT
from ganaug_cli.data.unlabelled import read_unlabelled
from ganaug_cli.errors import RunError, TrainingError
from ganaug_cli.families import Family
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.runs import create_run_dir, write_run_config
from ganaug_cli.training.base import DataInfo
from ganaug_cli.training.checkpoint import restore_rng
from ganaug_cli.training.initialise import read_initial_run
from ganaug_cli.training.distributed import (
    World, process_group, rank_device, rank_seed, state_tensors, world_from_environment,
)
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


def _recorded(config, seed: int):
    """The config as the run folder records it: the seed actually used and absolute paths, so
    that --resume works from any directory and the run says where it started from."""
    def absolute(path):
        return Path(path).resolve() if path is not None else None

    data = {"path": absolute(config.data.path)}
    if getattr(config.data, "unlabeled", None) is not None:
        data["unlabeled"] = absolute(config.data.unlabeled)
    return config.model_copy(update={
        "data": config.data.model_copy(update=data),
        "train": config.train.model_copy(update={"seed": seed, "init": absolute(config.train.init)}),
    })


def _start_from(trainer, run: Path, family: str, info: DataInfo) -> None:
    if not trainer.starts_from_runs:
        trainer.start_from({}, False, str(run))  # the family's one-line refusal, before the run is read
    content = read_initial_run(run, family, info)
    same_classes = list(content["class_names"]) == list(info.class_names)
    fresh = trainer.start_from(content["trainer"], same_classes, str(run))
    log.info("starting from the weights of %s (step %d)%s", run, int(content["step"]),
             f"; its classes differ, so {len(fresh)} class-dependent tensor(s) start afresh" if fresh else "")


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
    """Validate everything, train, and return the run folder. Under torchrun, every rank of
    the job calls this; they train one model together (training/distributed.py)."""
    if resume is not None and out is not None:
        raise TrainingError("--out cannot be combined with --resume (the run folder is the one resumed)")
    world = world_from_environment()
    with process_group(world):
        return _train(family, world, config_file, flags, sets, resume, out, progress)


def _train(family, world: World, config_file, flags, sets, resume, out, progress) -> Path:
    def planned() -> RunPlan:
        return plan_run(family, config_file=config_file, flags=flags, sets=sets, resume=resume, progress=progress)

    # Rank 0 decodes the folder (and writes its cache) first; the others then read the cache.
    plan = planned() if world.main else None
    world.barrier()
    plan = plan or planned()
    config = plan.config
    device = rank_device(world, plan.device)
    info = _data_info(plan)
    checkpoint = plan.checkpoint
    if checkpoint is not None:
        _check_same_data(checkpoint, info, plan.run_dir)
        seed = int(checkpoint["seed"])
    else:
        seed = config.train.seed if config.train.seed is not None else secrets.randbelow(2**31)
        seed = world.gather(seed)[0]  # rank 0's fresh seed is the job's
        config = _recorded(config, seed)
    torch.manual_seed(rank_seed(seed, world))
    # The model, its starting weights and its unlabelled images come before the run folder:
    # a mistake in them leaves no empty run behind.
    trainer = family.trainer(config, info, device)
    trainer.world = world
    if checkpoint is None and config.train.init is not None:
        _start_from(trainer, config.train.init, family.name, info)
    unlabelled = getattr(config.data, "unlabeled", None)
    if unlabelled is not None:
        found = read_unlabelled(unlabelled, info.resolution, info.channels, progress)
        trainer.add_unlabelled(found.images)
        log.info("unlabelled images: %d from %s", len(found.images), unlabelled)
    if checkpoint is not None:
        run_dir = plan.run_dir
    else:
        run_dir = create_run_dir(family.name, out) if world.main else None
        run_dir = Path(world.gather(str(run_dir))[0])
        if world.main:
            write_run_config(run_dir, config.model_dump(mode="json"))
    log.info("run folder: %s", run_dir)
    log.info("device: %s%s", device, " (auto)" if config.train.device == "auto" else "")
    if world.active:
        log.info("processes: %d, global batch %d (train.batch_size %d per process)", world.size,
                 world.size * config.train.batch_size, config.train.batch_size)
    state = LoopState(step=0, seed=seed)
    if checkpoint is not None:
        trainer.load_state_dict(checkpoint["trainer"])
        state.step = int(checkpoint["step"])
        if world.main:
            restore_rng(checkpoint["rng"], device)
        else:  # only rank 0's streams are checkpointed; the others start afresh for this step
            torch.manual_seed(rank_seed(seed + state.step, world))
        log.info("resuming from %s (step %d)", plan.resume_from, state.step)
    else:
        world.broadcast_(state_tensors(trainer.state_dict()))  # every replica starts as rank 0's
    train_loop(trainer, plan.data.images, plan.data.labels, run_dir, state, progress, world)
    return run_dir
