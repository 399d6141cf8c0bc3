"""``ganaug augment``: a new ImageFolder tree with the real images plus filtered synthetic ones.

Unless a count is given (ratio, per class, balance), the held-out check (share_check)
decides how many synthetic images each class gets, possibly none; ``augment-report.json``
in the new folder says what it measured. The real folder is only read. Real files are copied unchanged (or hard-linked with
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

from ganaug_cli.config.commands import AugmentCommandConfig, NearRealFields
from ganaug_cli.config import DataConfig
from ganaug_cli.data import load_image_folder
from ganaug_cli.data.cache import cache_dir
from ganaug_cli.data.decode import image_size
from ganaug_cli.data.scan import FolderScan, scan_image_folder
from ganaug_cli.errors import GanaugError, RunError
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.sampling import SampleRequest, load_sampling_model, resolve_checkpoint, sample_images
from ganaug_cli.sampling.near_real import near_real, require_invertible
from ganaug_cli.workflows.candidates import check_share, keep_first, write_teacher_probabilities
from ganaug_cli.workflows.held_out import check_refusal, files_to_hold_out
from ganaug_cli.workflows.pseudo_labels import PseudoLabelPlan, PseudoLabels, add_pseudo_labels
from ganaug_cli.workflows.sample_filters import FilterStats, build_filter
from ganaug_cli.workflows.share_check import ShareCheck, ShareChoice, synthetic_per_class

log = logging.getLogger("ganaug")
SYNTHETIC_PREFIX = "ganaug-"
REPORT_NAME = "augment-report.json"


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
    # Used when no count (ratio, per_class, balance) is given.
    check: ShareCheck = field(default_factory=lambda: ShareCheck.from_config(AugmentCommandConfig()))
    near: NearRealFields = field(default_factory=NearRealFields)  # near_real off: fresh noise
    pseudo: PseudoLabelPlan | None = None  # unlabelled images to pseudo-label

    @property
    def counted(self) -> bool:
        return self.balance or self.per_class is not None or self.ratio is not None


@dataclass
class AugmentReport:
    out: Path
    run: Path | None
    real: dict = field(default_factory=dict)
    synthetic: dict = field(default_factory=dict)
    rejection_rate: float = 0.0
    share: ShareChoice | None = None  # the held-out check's measurements, when it ran
    note: str = ""  # why no check ran, when it could not
    pseudo: PseudoLabels | None = None

    def as_dict(self) -> dict:
        return {
            "run": str(self.run) if self.run else None,
            "real": self.real,
            "synthetic": self.synthetic,
            "rejection_rate": round(self.rejection_rate, 4),
            "share_check": self.share.as_dict() if self.share else None,
            "note": self.note,
            "pseudo_labels": self.pseudo.as_dict() if self.pseudo else None,
        }


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
    if plan.ratio is not None:
        return {name: round(count * plan.ratio) for name, count in real_counts.items()}
    # The held-out check's candidates: as many as its largest share needs.
    largest = max(plan.check.shares)
    return {name: synthetic_per_class(count, largest) for name, count in real_counts.items()}


def most_common_size(scan: FolderScan) -> tuple[int, int]:
    sizes = Counter(size for f in scan.files if (size := image_size(f.path)))
    if not sizes:
        raise GanaugError("no readable image in the data folder")
    return sizes.most_common(1)[0][0]


def _only_class_folder(scan: FolderScan) -> str:
    """Where a one-class folder's synthetic files go: beside its real ones, in its class
    subfolder (which a classifier reading the new folder sees), or at the top of a flat folder."""
    first = scan.files[0].relative
    return first.split("/")[0] if "/" in first else ""


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


def _pseudo_labels(data: Path, loaded, held: set[str], plan: AugmentPlan, partial: Path,
                   progress: Progress) -> PseudoLabels | None:
    """The pseudo-label step, scored on the generator's held-out images when there are some."""
    real = loaded.real_images(data, progress) if loaded else load_image_folder(DataConfig(path=data), progress=progress)
    refusal = check_refusal(dict(zip(real.class_names, real.class_counts())), plan.check.min_class_images)
    if refusal and plan.pseudo.share is None:
        log.warning("warning: %s; adding no pseudo-labelled images (they are added only when the check shows "
                    "they help)", refusal)
        return None
    if plan.pseudo.share is not None:
        held = set()  # unchecked: the teacher learns from every real image
    else:
        held = held or set(files_to_hold_out(data, plan.check.held_out, plan.check.min_class_images))
    cache = loaded.run_dir / "eval" if loaded else cache_dir()
    result, records = add_pseudo_labels(real, held, plan.pseudo, plan.check, partial, cache, progress)
    with open(partial / "manifest.jsonl", "a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    return result


def augment_folder(
    data: Path, out: Path, run: Path | None, plan: AugmentPlan, device: torch.device, progress: Progress = SILENT
) -> AugmentReport:
    """Write real + synthetic images (from ``run``; none without one) and, with ``plan.pseudo``,
    pseudo-labelled ones under ``out`` (which must not exist or be empty)."""
    check_out_folder(out)
    scan = scan_image_folder(Path(data))
    real_counts = dict(sorted(Counter(f.class_name for f in scan.files).items()))
    loaded = load_sampling_model(resolve_checkpoint(run, None), device) if run is not None else None
    several = len(real_counts) > 1
    if loaded and several and not loaded.conditional:
        raise GanaugError(f"{run}: an unconditional run cannot fill class folders; train a conditional model")
    if loaded and several and sorted(loaded.class_names) != sorted(real_counts):
        raise GanaugError(f"{run}: its classes ({', '.join(loaded.class_names)}) differ from the folder's")
    report = AugmentReport(out=Path(out), run=loaded.run_dir if loaded else None, real=real_counts, synthetic={})
    checking = loaded is not None and not plan.counted
    report.note = check_refusal(real_counts, plan.check.min_class_images) if checking else ""
    if report.note:
        log.warning("warning: %s; adding no synthetic images (give --ratio, --per-class or --balance to add them "
                    "unchecked)", report.note)
        checking = False
    held = loaded.unseen_files(Path(data)) if checking else set()
    if checking and not held:
        log.warning("warning: %s learned from every image of %s, so the held-out check scores on images its "
                    "generator saw and can keep synthetic images that do not help (without --run, augment trains "
                    "a model that never sees them)", loaded.run_dir, data)
    wanted = synthetic_counts(real_counts, plan) if loaded and (plan.counted or checking) else {}
    counts = {(name if loaded.conditional else None): n for name, n in wanted.items() if n > 0}
    near = counts and (loaded.model.invertible if plan.near.near_real == "auto" else plan.near.near_real)
    if near:
        require_invertible(loaded)
        # Variations of the images the generator trained on: the held-out ones stay unseen.
        real = loaded.real_images(Path(data), progress).without(held)
        loaded = near_real(loaded, real, plan.near.near_radius, plan.near.inversion_steps, progress)
    stats = FilterStats()
    confidence = plan.min_confidence if loaded and loaded.conditional else None
    filtering = plan.min_confidence is not None
    keep = build_filter(loaded, Path(data), confidence, plan.reject_copies, stats, filtering, held) if counts else None
    out = Path(out)
    # Built beside --out and renamed at the end: a failure (say, a filter that rejects
    # everything) leaves no half-written tree behind.
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    written: dict[str, list[Path]] = {name: [] for name in real_counts}
    try:
        real_records = _copy_real(scan, partial, plan.link)
        with open(partial / "manifest.jsonl", "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in real_records)
        if counts:
            # The check's candidates: a class whose samples fail the filters has fewer to offer, not an error.
            request = SampleRequest(counts=counts, seed=plan.seed, size=most_common_size(scan), prefix=SYNTHETIC_PREFIX,
                                    allow_fewer=plan.allow_fewer or checking,
                                    unlabelled_folder="" if loaded.conditional else _only_class_folder(scan))
            for path in sample_images(loaded, partial, request, progress, keep=keep):
                written[path.parent.name if loaded.conditional else next(iter(real_counts))].append(path)
        if checking and any(written.values()):
            report.share = check_share(loaded, Path(data), held, partial, written, plan.check, progress)
            keep_first(partial, written, {name: synthetic_per_class(n, report.share.share) for name, n in real_counts.items()})
        if len(real_counts) > 1 and any(written.values()):
            write_teacher_probabilities(loaded, Path(data), held, partial, written)
        report.synthetic = {name: len(paths) for name, paths in written.items() if paths}
        if plan.pseudo is not None:
            report.pseudo = _pseudo_labels(data, loaded, held, plan, partial, progress)
        report.rejection_rate = stats.rejection_rate
        (partial / REPORT_NAME).write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()  # checked empty above
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return report
