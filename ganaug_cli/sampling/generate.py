"""Generate images in batches and stream them to disk as an ImageFolder tree."""

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ganaug_cli.errors import GanaugError
from ganaug_cli.imaging import to_uint8
from ganaug_cli.progress import SILENT, Progress
from ganaug_cli.sampling.source import LoadedModel
from ganaug_cli.sampling.writer import ImageWriter, append_manifest, next_index, remove_numbered_images

log = logging.getLogger("ganaug")


@dataclass
class SampleRequest:
    n: int | None = None
    per_class: int | None = None
    classes: list[str] | None = None
    seed: int | None = None
    batch_size: int = 256
    fmt: str = "png"
    size: int | None = None
    quality: int = 95
    overwrite: bool = False
    prefix: str = ""  # file-name prefix, so synthetic files never collide with real ones
    counts: dict | None = None  # images per class name, instead of n / per_class
    allow_fewer: bool = False  # a class whose filter hits the draw cap keeps what passed
    options: dict | None = None  # the family's sampling options (None: the run's own)
    unlabelled_folder: str = ""  # where an unconditional run's images go under out ("": out itself)


def plan_counts(loaded: LoadedModel, n: int | None, per_class: int | None, classes: list[str] | None) -> dict:
    """Images per class name (None for an unconditional run).

    ``n`` is split evenly over the chosen classes; the remainder goes to the first
    classes in name order.
    """
    if n is not None and per_class is not None:
        raise GanaugError("give -n or --per-class, not both")
    if not loaded.conditional:
        if classes:
            raise GanaugError(f"{loaded.run_dir}: the run is unconditional, so --class cannot be used")
        if per_class is not None:
            raise GanaugError(f"{loaded.run_dir}: the run is unconditional, so use -n instead of --per-class")
        return {None: n}
    known = loaded.class_names
    unknown = [c for c in classes or [] if c not in known]
    if unknown:
        raise GanaugError(f"unknown class {unknown[0]!r} (known: {', '.join(known)})")
    chosen = sorted(set(classes), key=known.index) if classes else list(known)  # name order
    if per_class is not None:
        return {name: per_class for name in chosen}
    base, extra = divmod(n, len(chosen))
    return {name: base + (i < extra) for i, name in enumerate(chosen)}


def batch_seed(seed: int, class_index: int, batch: int) -> int:
    return ((seed * 1_000_003 + class_index) * 1_000_003 + batch) % (2**63)


# A filter takes a batch (N×H×W×C uint8) and its class index, and says which images to keep.
SampleFilter = Callable[[np.ndarray, int], np.ndarray]
MAX_DRAWS_PER_IMAGE = 20  # a filter that rejects more than this gives up with a clear message


def generate_class(
    loaded: LoadedModel,
    name: str | None,
    count: int,
    seed: int,
    batch_size: int,
    keep: SampleFilter | None = None,
    allow_fewer: bool = False,
    options: dict | None = None,
) -> Iterator[np.ndarray]:
    """Accepted images of one class (N×H×W×C uint8 batches) until ``count`` are produced.

    Batch b of a class always comes from the same seed, so a fixed seed fixes every file.
    With ``allow_fewer``, a class that hits the draw cap ends with a warning, not an error.
    ``options`` are the family's sampling options (None: the run's own).
    """
    options = loaded.sample_options if options is None else options
    class_index = loaded.class_names.index(name) if name is not None else 0
    produced = drawn = batch = 0
    while produced < count:
        if drawn >= MAX_DRAWS_PER_IMAGE * count:
            label = f"class {name!r}" if name is not None else "the run"
            shortfall = f"{label}: only {produced} of {count} samples passed the filters in {drawn} draws"
            if allow_fewer:
                log.warning("warning: %s; keeping those", shortfall)
                return
            raise GanaugError(
                f"{shortfall} (lower --min-confidence, drop --reject-copies, train the model longer, "
                "or pass --allow-fewer)"
            )
        size = min(batch_size, count - produced)
        generator = torch.Generator().manual_seed(batch_seed(seed, class_index, batch))
        labels = torch.full((size,), class_index, dtype=torch.int64) if loaded.conditional else None
        arrays = to_uint8(loaded.model.sample(size, labels, generator, **options))
        batch, drawn = batch + 1, drawn + size
        if keep is not None:
            arrays = arrays[keep(arrays, class_index)]
        arrays = arrays[: count - produced]
        produced += len(arrays)
        if len(arrays):
            yield arrays


def generate_in_memory(loaded: LoadedModel, n: int, seed: int, batch_size: int = 256) -> tuple[torch.Tensor, list]:
    """``n`` images split over the classes as ``sample -n`` does: (N×C×H×W uint8, class names)."""
    images, names = [], []
    for name, count in plan_counts(loaded, n, None, None).items():
        for arrays in generate_class(loaded, name, count, seed, batch_size):
            images.append(torch.from_numpy(arrays).permute(0, 3, 1, 2))
            names += [name] * len(arrays)
    return torch.cat(images), names


@dataclass
class SampleReport:
    seed: int
    out: Path
    counts: dict
    written: int = 0


def sample_images(
    loaded: LoadedModel,
    out: Path,
    request: SampleRequest,
    progress: Progress = SILENT,
    report: SampleReport | None = None,
    keep: SampleFilter | None = None,
) -> Iterator[Path]:
    """Write the requested images under ``out`` and yield each path once it is on disk."""
    counts = request.counts or plan_counts(loaded, request.n, request.per_class, request.classes)
    if request.fmt == "jpg" and loaded.channels == 4:
        raise GanaugError("--format jpg cannot keep the run's transparency (RGBA); use --format png or webp")
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    if report is not None:
        report.seed, report.counts = seed, counts
    out = Path(out)
    folders = {name: out / (name if name is not None else request.unlabelled_folder) for name in counts}
    for folder in folders.values():
        if request.overwrite:
            remove_numbered_images(folder, request.prefix)
        folder.mkdir(parents=True, exist_ok=True)
    if request.overwrite:
        (out / "manifest.jsonl").unlink(missing_ok=True)
    writer = ImageWriter(request.fmt, request.size, request.quality)
    records: dict[Path, dict] = {}

    def finished(paths: list[Path]) -> Iterator[Path]:
        if paths:
            append_manifest(out, [records.pop(p) for p in paths])
            if report is not None:
                report.written += len(paths)
        yield from paths

    try:
        with progress.task("sampling", total=sum(counts.values()), unit="img") as bar:
            for name, count in counts.items():
                index = next_index(folders[name], request.prefix)
                batches = generate_class(
                    loaded, name, count, seed, request.batch_size, keep, request.allow_fewer, request.options
                )
                for arrays in batches:
                    paths = [folders[name] / f"{request.prefix}{index + i:06d}.{request.fmt}" for i in range(len(arrays))]
                    index += len(arrays)
                    for path in paths:
                        records[path] = {
                            "file": str(path.relative_to(out)),
                            "class": name if name is not None else (request.unlabelled_folder or None),
                            "seed": seed,
                            "run": str(loaded.run_dir),
                            "checkpoint_step": loaded.step,
                            "family": loaded.family,
                            "synthetic": True,
                        }
                    yield from finished(writer.submit(arrays, paths))
                    bar.update(len(arrays))
            yield from finished(writer.finish())
    finally:
        writer.close()
