"""What augment does with its synthetic files once written: the held-out check on them,
dropping those past the share it chose, and the teacher's class probabilities in the manifest.

The files are read back at the run's resolution, as a classifier reading the new folder would.
"""

import json
import logging
from pathlib import Path

import torch

from ganaug_cli.config import DataConfig
from ganaug_cli.data import load_image_folder
from ganaug_cli.data.folder import CHANNEL_NAMES
from ganaug_cli.data.scan import scan_image_folder
from ganaug_cli.metrics.classifier import predict
from ganaug_cli.metrics.domain import domain_classifier
from ganaug_cli.progress import Progress
from ganaug_cli.sampling import LoadedModel
from ganaug_cli.workflows.held_out import split_of
from ganaug_cli.workflows.share_check import ShareCheck, ShareChoice, choose_share

log = logging.getLogger("ganaug")
MANIFEST = "manifest.jsonl"


def read_synthetic(loaded: LoadedModel, partial: Path, written: dict[str, list[Path]]) -> tuple[torch.Tensor, list[str]]:
    """The written synthetic files as N×C×H×W uint8 images and their class folders' names."""
    wanted = {p.relative_to(partial).as_posix() for paths in written.values() for p in paths}
    real_copies = [f.relative for f in scan_image_folder(partial).files if f.relative not in wanted]  # not decoded
    config = DataConfig(path=partial, resolution=loaded.resolution, channels=CHANNEL_NAMES[loaded.channels],
                        cache=False, exclude=real_copies)
    folder = load_image_folder(config)
    position = {name: i for i, name in enumerate(folder.files)}
    order = [position[p.relative_to(partial).as_posix()] for paths in written.values() for p in paths]
    return folder.images[order], [folder.class_names[int(folder.labels[i])] for i in order]


def check_share(
    loaded: LoadedModel, data: Path, held: set[str], partial: Path, written: dict[str, list[Path]],
    check: ShareCheck, progress: Progress,
) -> ShareChoice:
    """The held-out check on the real images and the candidates; ``held`` are the files the
    generator was trained without, the check's held-out images when there are some."""
    real = loaded.real_images(data, progress)
    synthetic, names = read_synthetic(loaded, partial, written)
    labels = torch.tensor([real.class_names.index(name) for name in names])
    choice = choose_share(real.images, real.labels, synthetic, labels, len(real.class_names), shares=check.shares,
                          seeds=check.seeds, held_out=check.held_out, split=split_of(real.files, held),
                          judge=check.judge, progress=progress)
    log.info("held-out check: %s", choice.reason)
    return choice


def keep_first(partial: Path, written: dict[str, list[Path]], keep: dict[str, int]) -> None:
    """Remove each class's candidates past its first ``keep`` and their manifest lines."""
    dropped = set()
    for name, paths in written.items():
        for path in paths[keep[name]:]:
            path.unlink()
            dropped.add(path.relative_to(partial).as_posix())
        del paths[keep[name]:]
    _rewrite_manifest(partial, lambda record: None if record["file"] in dropped else record)


def write_teacher_probabilities(
    loaded: LoadedModel, data: Path, held: set[str], partial: Path, written: dict[str, list[Path]]
) -> None:
    """Each synthetic file's class probabilities by the domain classifier (trained on the real
    images less ``held``: the filter's own, read from its cache), for trainers that take soft
    targets; the folder a file is in stays its conditioning class."""
    real = loaded.real_images(data).without(held)
    teacher = domain_classifier(real.images, real.labels, real.class_names, loaded.run_dir / "eval")
    synthetic, _ = read_synthetic(loaded, partial, written)
    probabilities = predict(teacher, synthetic)
    files = [p.relative_to(partial).as_posix() for paths in written.values() for p in paths]
    notes = {}
    for file, row in zip(files, probabilities.tolist()):
        notes[file] = {"teacher": {name: round(p, 4) for name, p in zip(real.class_names, row)},
                       "teacher_class": real.class_names[max(range(len(row)), key=row.__getitem__)]}
    _rewrite_manifest(partial, lambda record: {**record, **notes.get(record["file"], {})})


def _rewrite_manifest(partial: Path, change) -> None:
    """Each manifest record through ``change`` (None drops it)."""
    manifest = partial / MANIFEST
    records = [change(json.loads(line)) for line in manifest.read_text(encoding="utf-8").splitlines()]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records if r is not None), encoding="utf-8")
