"""The real images augment's held-out check scores on, kept out of the generator's training.

A generator that learned from the held-out images makes samples that look like them, and the
check then rewards the synthetic images for it: at 10 images per class it kept a share that
cost the user's classifier 2 to 5 points. So when augment trains the model itself, it first
sets aside a stratified part of each class (fixed seed) and trains without it
(``data.exclude`` in the run's config); the check reads that list back from the run
(``LoadedModel.unseen_files``).
"""

from collections import Counter
from pathlib import Path

import torch

from ganaug_cli.data.scan import scan_image_folder
from ganaug_cli.metrics.downstream import stratified_split

HOLD_OUT_SEED = 0


def check_refusal(real_counts: dict[str, int], min_class_images: int) -> str:
    """Why the held-out check cannot run on a folder with these class counts ("" when it can)."""
    if len(real_counts) < 2:
        return "the held-out check needs two or more classes"
    name, fewest = min(real_counts.items(), key=lambda item: item[1])
    if fewest < min_class_images:
        return f"class {name!r} has {fewest} real images, fewer than the {min_class_images} the held-out check needs"
    return ""


def files_to_hold_out(data: Path, held_out: float, min_class_images: int) -> list[str]:
    """The relative paths the check will score on (none when the check cannot run here)."""
    scan = scan_image_folder(Path(data))
    if check_refusal(Counter(f.class_name for f in scan.files), min_class_images):
        return []
    labels = torch.tensor([scan.class_names.index(f.class_name) for f in scan.files])
    _, test = stratified_split(labels, held_out, seed=HOLD_OUT_SEED)
    return sorted(scan.files[i].relative for i in test.tolist())


def split_of(files: list[str], held: set[str]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(train, held-out) indices of ``files`` for the held-out names (None when none are there)."""
    test = [i for i, name in enumerate(files) if name in held]
    if not test:
        return None
    train = [i for i, name in enumerate(files) if name not in held]
    return torch.tensor(train), torch.tensor(test)
