"""Turn a train command's inputs into a validated plan: config, data, run folder."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from ganaug_cli.config import resolve_config
from ganaug_cli.data import ImageFolder, load_image_folder
from ganaug_cli.data.folder import CHANNEL_NAMES
from ganaug_cli.devices import resolve_device
from ganaug_cli.errors import ConfigError, RunError
from ganaug_cli.families import Family
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.runs import latest_checkpoint, load_checkpoint, read_run_config, read_run_summary

# What may change when a run is resumed; everything else comes from the run folder.
RESUME_OVERRIDES = {"train.steps", "train.epochs", "train.max_minutes", "train.device"}


@dataclass
class RunPlan:
    family: Family
    config: BaseModel
    data: ImageFolder
    device: torch.device
    resume_from: Path | None = None  # checkpoint to continue from
    run_dir: Path | None = None  # set when resuming
    checkpoint: dict | None = None  # resume_from's content, read before the data


def resolve_run_config(
    family: Family,
    *,
    config_file: Path | None,
    flags: dict[str, tuple[str, Any]],
    sets: list[str],
    resume: Path | None,
) -> tuple[BaseModel, Path | None]:
    """The validated config and, when resuming, the checkpoint to start from."""
    schema = family.config
    if resume is None:
        return resolve_config(schema, file=config_file, flags=flags, sets=sets), None
    refused = [label for key, (label, _) in flags.items() if key not in RESUME_OVERRIDES]
    refused += ["--config"] * (config_file is not None) + ["--set"] * bool(sets)
    if refused:
        raise ConfigError(
            f"{', '.join(refused)}: cannot change a resumed run (it keeps its config; only "
            "--steps, --epochs, --max-minutes and --device may be given with --resume)"
        )
    summary = read_run_summary(resume)
    if summary.get("family") != family.name:
        raise RunError(f"{resume}: is a {summary.get('family')} run, not a {family.name} run")
    checkpoint = latest_checkpoint(resume)
    if checkpoint is None:
        raise RunError(f"{resume}: has no checkpoint to resume from")
    base = read_run_config(resume)
    return resolve_config(schema, base=base, flags=flags), checkpoint


def plan_run(
    family: Family,
    *,
    config_file: Path | None = None,
    flags: dict[str, tuple[str, Any]] | None = None,
    sets: list[str] | None = None,
    resume: Path | None = None,
    progress: Progress = SILENT,
) -> RunPlan:
    config, checkpoint = resolve_run_config(
        family, config_file=config_file, flags=flags or {}, sets=sets or [], resume=resume
    )
    # Checked before the (slower) data load, so a bad device fails fast; announced when training starts.
    device = resolve_device(config.train.device, announce=False)
    if resume is not None and config.data.path is not None and not Path(config.data.path).exists():
        raise RunError(f"{resume}: its data folder {config.data.path} no longer exists")
    content = load_checkpoint(checkpoint) if checkpoint is not None else None  # a broken one fails first
    data_config = config.data
    if content is not None and data_config.channels == "auto":
        # A resumed run keeps the channels it was built with, whatever ``auto`` would pick today.
        data_config = data_config.model_copy(update={"channels": CHANNEL_NAMES[int(content["channels"])]})
    data = load_image_folder(data_config, auto_sizes=family.resolutions, progress=progress)
    return RunPlan(family, config, data, device, checkpoint, Path(resume) if resume else None, content)
