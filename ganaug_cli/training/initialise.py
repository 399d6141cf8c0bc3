"""Starting a run from another run's weights (``train.init`` / ``--init RUN``), for example a
model trained on a larger related folder, then fine-tuned on the user's small one.

Every weight whose name and shape match is kept. The class-dependent parts (which a family's
trainer names) are kept only when both runs have the same classes, in the same order, and are
otherwise left as freshly initialised; any other part that does not fit is an error, since
keeping half a network would not be a fine-tuning of anything.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganaug_cli.errors import RunError
from ganaug_cli.runs import latest_checkpoint, load_checkpoint
from ganaug_cli.training.base import DataInfo

CHANNEL_WORDS = {1: "gray", 3: "rgb", 4: "rgba"}


def read_initial_run(run: Path, family: str, info: DataInfo) -> dict:
    """The latest checkpoint of ``run``, checked against this run's family and images."""
    path = latest_checkpoint(Path(run)) if Path(run).is_dir() else None
    if path is None:
        raise RunError(f"{run}: --init needs a run folder with a checkpoint")
    content = load_checkpoint(path)
    if content["family"] != family:
        raise RunError(f"{run}: is a {content['family']} run; --init needs a {family} run")
    theirs = (int(content["resolution"]), int(content["channels"]))
    ours = (info.resolution, info.channels)
    if theirs != ours:
        raise RunError(f"{run}: its images are {theirs[0]}×{theirs[0]} {CHANNEL_WORDS.get(theirs[1], theirs[1])}, "
                       f"these are {ours[0]}×{ours[0]} {CHANNEL_WORDS.get(ours[1], ours[1])} (set data.resolution and "
                       "data.channels to match)")
    return content


def load_matching(
    module: nn.Module, state: dict[str, torch.Tensor], class_dependent: Callable[[str], bool], same_classes: bool,
    where: str,
) -> list[str]:
    """Load ``state`` into ``module`` as described above; returns the names left as initialised."""
    kept, fresh = {}, []
    for name, value in module.state_dict().items():
        source = state.get(name)
        fits = source is not None and source.shape == value.shape
        if class_dependent(name) and not (same_classes and fits):
            fresh.append(name)
            continue
        if not fits:
            found = "is missing" if source is None else f"has shape {tuple(source.shape)}, here {tuple(value.shape)}"
            raise RunError(f"{where}: {name} {found} (the model settings, such as model.width or model.z_dim, "
                           "must match the run's)")
        kept[name] = source
    module.load_state_dict(kept, strict=False)
    return fresh
