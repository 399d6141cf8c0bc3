"""``ganaug augment``: a new ImageFolder tree with the real images plus filtered synthetic ones.

The real folder is only read. Real files are copied unchanged (or hard-linked with
``link``: no extra disk space, but the two names share one file, so editing one
edits both); synthetic files are named ``ganaug-NNNNNN.png`` so they can never
collide with a real file, and ``manifest.jsonl`` says which files are synthetic.
"""

import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganaug_cli.data.decode import image_size
from ganaug_cli.data.scan import FolderScan, scan_image_folder
from ganaug_cli.errors import GanaugError, RunError
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.sampling import SampleRequest, load_sampling_model, resolve_checkpoint, sample_images
from ganaug_cli.workflows.sample_filters import FilterStats, build_filter

log = logging.getLogger("ganaug")
SYNTHETIC_PREFIX = "ganaug-"


@dataclass
class AugmentPlan:
    ratio: float | None = None
    per_class: int | None = None
    balance: bool = False
    link: bool = False
    min_confidence: float | None = 0.5
    reject_copies: bool = False
    seed: int | None = None
    allow_fewer: bool = False


@dataclass
class AugmentReport:
    out: Path
    run: Path
    real: dict = field(default_factory=dict)
    synthetic: dict = field(default_factory=dict)
    rejection_rate: float = 0.0


def check_out_folder(out: Path) -> None:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out}: already exists and is not empty (augment writes a new folder)")


def synthetic_counts(real_counts: dict[str, int], plan: AugmentPlan) -> dict[str, int]:
    if plan.balance:
        largest = max(real_counts.values())
        return {name: largest - count for name, count in real_counts.items()}
    if plan.per_class is not None:
        return {name: plan.per_class for name in real_counts}
    return {name: round(count * (plan.ratio or 1.0)) for name, count in real_counts.items()}


def most_common_size(scan: FolderScan) -> tuple[int, int]:
    sizes = Counter(size for f in scan.files if (size := image_size(f.path)))
    if not sizes:
        raise GanaugError("no readable image in the data folder")
    return sizes.most_common(1)[0][0]


def _copy_real(scan: FolderScan, out: Path, link: bool) -> list[dict]:
    records, linked = [], link
    for item in scan.files:
        target = out / item.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if linked:
            try:
                os.link(os.path.realpath(item.path), target)
            except OSError as exc:  # another file system, or links not allowed
                log.warning("warning: cannot hard-link (%s); copying the real images instead", exc.strerror)
                linked = False
        if not linked:
            shutil.copy2(item.path, target)
        records.append({"file": item.relative, "class": item.class_name, "synthetic": False, "source": str(item.path)})
    return records


def augment_folder(
    data: Path, out: Path, run: Path, plan: AugmentPlan, device: torch.device, progress: Progress = SILENT
) -> AugmentReport:
    """Write real + synthetic images under ``out`` (which must not exist or be empty)."""
    check_out_folder(out)
    scan = scan_image_folder(Path(data))
    real_counts = dict(sorted(Counter(f.class_name for f in scan.files).items()))
    loaded = load_sampling_model(resolve_checkpoint(run, None), device)
    several = len(real_counts) > 1
    if several and not loaded.conditional:
        raise GanaugError(f"{run}: an unconditional run cannot fill class folders; train a conditional model")
    if several and sorted(loaded.class_names) != sorted(real_counts):
        raise GanaugError(f"{run}: its classes ({', '.join(loaded.class_names)}) differ from the folder's")
    wanted = synthetic_counts(real_counts, plan)
    counts = {(name if loaded.conditional else None): n for name, n in wanted.items() if n > 0}
    stats = FilterStats()
    keep = build_filter(loaded, Path(data), plan.min_confidence if loaded.conditional else None, plan.reject_copies, stats)
    out = Path(out)
    # Built beside --out and renamed at the end: a failure (say, a filter that rejects
    # everything) leaves no half-written tree behind.
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    report = AugmentReport(out=out, run=loaded.run_dir, real=real_counts, synthetic={})
    try:
        real_records = _copy_real(scan, partial, plan.link)
        with open(partial / "manifest.jsonl", "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in real_records)
        if counts:
            request = SampleRequest(counts=counts, seed=plan.seed, size=most_common_size(scan), prefix=SYNTHETIC_PREFIX,
                                    allow_fewer=plan.allow_fewer)
            for path in sample_images(loaded, partial, request, progress, keep=keep):
                name = path.parent.name if loaded.conditional else next(iter(real_counts))
                report.synthetic[name] = report.synthetic.get(name, 0) + 1
        if out.exists():
            out.rmdir()  # checked empty above
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    report.rejection_rate = stats.rejection_rate
    return report
