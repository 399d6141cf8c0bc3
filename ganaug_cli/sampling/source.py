"""Find a trained run and rebuild its sampling model from the checkpoint alone."""

from dataclasses import dataclass, field
from pathlib import Path

import torch
from pydantic import ValidationError

from ganaug_cli.config import DataConfig
from ganaug_cli.data import ImageFolder, load_image_folder
from ganaug_cli.data.folder import CHANNEL_NAMES
from ganaug_cli.errors import CheckpointError, GanaugError, RunError
from ganaug_cli.families import FAMILIES, Family, get_family
from ganaug_cli.models import GenerativeModel
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.runs import DEFAULT_RUNS_ROOT, find_latest_run, latest_checkpoint, list_runs, load_checkpoint


@dataclass
class LoadedModel:
    model: GenerativeModel
    family: str
    class_names: list[str]
    step: int
    run_dir: Path
    checkpoint: Path
    config: dict
    resolution: int
    channels: int  # 1 gray, 3 RGB, 4 RGBA
    sample_options: dict = field(default_factory=dict)  # the run's own, as model.sample keywords

    @property
    def entry(self) -> Family:
        return FAMILIES[self.family]

    @property
    def conditional(self) -> bool:
        return self.model.num_classes > 0

    def real_images(self, data: Path, progress: Progress = SILENT) -> ImageFolder:
        """A real folder loaded at this run's resolution and channels, to compare with its samples."""
        config = DataConfig(path=data, resolution=self.resolution, channels=CHANNEL_NAMES[self.channels])
        return load_image_folder(config, progress=progress)

    def data_folder(self, given: Path | None, purpose: str) -> Path:
        """``given``, else the folder the run was trained on."""
        data = given or self.config.get("data", {}).get("path")
        if not data:
            raise GanaugError(f"{purpose} need the real image folder: give --data DIR")
        return Path(data)

    def unseen_files(self, data: Path) -> set[str]:
        """The files of ``data`` the run was trained without (``data.exclude``; empty when it saw them all)."""
        stored = self.config.get("data", {})
        same_folder = stored.get("path") and Path(stored["path"]).resolve() == Path(data).resolve()
        return set(stored.get("exclude") or []) if same_folder else set()


def _known_runs(runs_root: Path) -> str:
    runs = list_runs(runs_root)
    return ", ".join(str(r) for r in runs) if runs else f"none under {runs_root}/"


def resolve_checkpoint(run: Path | None, checkpoint: Path | None, runs_root: Path = DEFAULT_RUNS_ROOT) -> Path:
    """The checkpoint to sample from: given, the run's newest, or the latest run's newest."""
    if checkpoint is not None:
        return Path(checkpoint)
    run = Path(run) if run is not None else find_latest_run(runs_root)
    if not run.is_dir():
        raise RunError(f"{run}: no such run folder (runs found: {_known_runs(runs_root)})")
    found = latest_checkpoint(run)
    if found is None:
        raise RunError(f"{run}: has no checkpoint (runs found: {_known_runs(runs_root)})")
    return found


def _run_of(checkpoint: Path) -> Path:
    folder = checkpoint.parent
    return folder.parent if folder.name == "checkpoints" else folder


def run_sample_options(family: Family, config: dict, checkpoint: Path) -> dict:
    """The family's sampling options as the run set them (its config's ``sample`` section)."""
    try:
        return family.sample_options(**config.get("sample", {})).model_dump()
    except ValidationError:
        raise CheckpointError(f"{checkpoint}: its sampling options do not fit the {family.title} schema") from None


def load_sampling_model(path: Path, device: torch.device) -> LoadedModel:
    content = load_checkpoint(path)
    name = content.get("family")
    try:
        family = get_family(name)
    except GanaugError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    try:
        model = family.build_model(dict(content["model_args"]))
        model.load_state_dict(content["model_state"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint does not match its model ({exc.__class__.__name__})") from None
    model.to(device).eval()
    config = content.get("config", {})
    return LoadedModel(
        model=model,
        family=name,
        class_names=list(content["class_names"]),
        step=int(content["step"]),
        run_dir=_run_of(Path(path)),
        checkpoint=Path(path),
        config=config,
        resolution=int(content["resolution"]),
        channels=int(content["channels"]),
        sample_options=run_sample_options(family, config, Path(path)),
    )
