"""sample and runs: generate images from a trained run; list the runs."""

import json
import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ganaug_cli.cli.app import app
from ganaug_cli.cli.output import print_result, setup_output, validate_flags
from ganaug_cli.config.families import SampleConfig
from ganaug_cli.devices import resolve_device
from ganaug_cli.errors import ConfigError, GanaugError
from ganaug_cli.imaging import save_grid
from ganaug_cli.runs import DEFAULT_RUNS_ROOT, list_runs, read_run_summary
from ganaug_cli.sampling import SampleReport, SampleRequest, load_sampling_model, resolve_checkpoint, sample_images, set_burn_in
from ganaug_cli.sampling.filters import FilterStats, build_filter
from ganaug_cli.sampling.grid import grid_from_files, grid_from_rows

log = logging.getLogger("ganaug")
DEFAULTS = SampleConfig()
GRID_ROW, GRID_FLAT = 10, 64  # --grid: images per class row, or in all for unconditional runs


def _default(name: str) -> str:
    return f"(default: {getattr(DEFAULTS, name)})"


@app.command()
def sample(
    n: Annotated[Optional[int], typer.Option("-n", help=f"Images to write, split evenly over the classes {_default('n')}.")] = None,
    per_class: Annotated[Optional[int], typer.Option("--per-class", help="Images to write for every chosen class.")] = None,
    run: Annotated[Optional[Path], typer.Option("--run", help="Run folder (default: the latest run under ./runs).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", help="A checkpoint file instead of a run's newest.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: <run>/samples).")] = None,
    classes: Annotated[Optional[list[str]], typer.Option("--class", help="Only this class (repeatable).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed; the same run, seed and n give identical files.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help=f"Images per generated batch {_default('batch_size')}.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help=f"png, jpg or webp {_default('format')}.")] = None,
    size: Annotated[Optional[int], typer.Option("--size", help="Resize to N×N pixels on write (default: the model's resolution).")] = None,
    grid: Annotated[Optional[Path], typer.Option("--grid", help="Also write a grid PNG here: one row of up to 10 per class, or the first 64.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help=f"auto, cpu, cuda, cuda:N or mps {_default('device')}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary instead of the paths.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace images a previous sample wrote in --out.")] = False,
    min_confidence: Annotated[Optional[float], typer.Option("--min-confidence", help="Keep only samples the domain classifier puts in their own class with at least this probability.")] = None,
    reject_copies: Annotated[bool, typer.Option("--reject-copies", help="Drop samples that are near-copies of training images.")] = False,
    data: Annotated[Optional[Path], typer.Option("--data", help="Real folder for the filters (default: the run's training folder).")] = None,
    allow_fewer: Annotated[bool, typer.Option("--allow-fewer", help="When the filters reject too many samples of a class, keep those that passed (with a warning) instead of failing.")] = False,
    burn_in: Annotated[Optional[int], typer.Option("--burn-in", help="RBM and DBN runs: Gibbs steps before each image (default: the run's sample.burn_in); more steps, more varied images that keep their class less often.")] = None,
) -> None:
    """Write synthetic images from a trained run (conditional runs: one folder per class).

    Example: ganaug sample -n 1000 --out ./synthetic
    """
    progress = setup_output(quiet)
    if n is not None and per_class is not None:
        raise typer.BadParameter("give -n or --per-class, not both", param_hint="'-n' / '--per-class'")
    if size is not None and size <= 0:
        raise ConfigError(f"--size: must be greater than 0 (got {size})")
    if per_class is not None and per_class <= 0:
        raise ConfigError(f"--per-class: must be greater than 0 (got {per_class})")
    if burn_in is not None and burn_in < 0:
        raise ConfigError(f"--burn-in: must be 0 or more (got {burn_in})")
    if min_confidence is not None and not 0 < min_confidence <= 1:
        raise ConfigError(f"--min-confidence: must be in (0, 1] (got {min_confidence})")
    flags = {"n": "-n", "batch_size": "--batch-size", "device": "--device", "format": "--format"}
    options = validate_flags(SampleConfig, flags, n=n, batch_size=batch_size, device=device, format=fmt)
    path = resolve_checkpoint(run, checkpoint, DEFAULT_RUNS_ROOT)
    loaded = load_sampling_model(path, resolve_device(options.device))
    if burn_in is not None:
        set_burn_in(loaded, burn_in)
    target = out if out is not None else loaded.run_dir / "samples"
    request = SampleRequest(
        n=None if per_class is not None else options.n,
        per_class=per_class,
        classes=classes,
        seed=seed,
        batch_size=options.batch_size,
        fmt=options.format,
        size=size,
        quality=options.jpeg_quality,
        overwrite=overwrite,
        allow_fewer=allow_fewer,
    )
    report = SampleReport(seed=0, out=target, counts={})
    stats = FilterStats()
    keep = build_filter(loaded, data, min_confidence, reject_copies, stats)
    started = time.monotonic()
    shown: dict[str, list[Path]] = {}  # grid rows: class folder -> first images
    for image_path in sample_images(loaded, target, request, progress, report, keep):
        row = shown.setdefault(image_path.parent.name if loaded.conditional else "", [])
        if grid is not None and len(row) < (GRID_ROW if loaded.conditional else GRID_FLAT):
            row.append(image_path)
        if not (quiet or as_json):
            print_result(str(image_path))
    elapsed = time.monotonic() - started
    log.info("wrote %d images to %s in %.1f s (seed %d)", report.written, target, elapsed, report.seed)
    if keep is not None:
        log.info("filters rejected %.0f%% of %d drawn samples", 100 * stats.rejection_rate, stats.drawn)
    if grid is not None and shown:
        if loaded.conditional:
            images, columns = grid_from_rows([row for row in shown.values() if row])
            save_grid(images, grid, nrow=columns)
        else:
            save_grid(grid_from_files(shown[""]), grid, nrow=8)
    if as_json and not quiet:
        summary = {
            "run": str(loaded.run_dir),
            "checkpoint": str(loaded.checkpoint),
            "family": loaded.family,
            "step": loaded.step,
            "out": str(target),
            "count": report.written,
            "per_class": {str(k): v for k, v in report.counts.items()},
            "seed": report.seed,
            "format": options.format,
            "seconds": round(elapsed, 3),
            "grid": str(grid) if grid else None,
            "rejection_rate": round(stats.rejection_rate, 4) if keep is not None else None,
        }
        print_result(json.dumps(summary))


@app.command()
def runs(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list instead of a table.")] = False,
) -> None:
    """List the trained runs under ./runs, oldest first.

    Example: ganaug runs
    """
    rows = []
    for run_dir in list_runs(DEFAULT_RUNS_ROOT):
        try:
            summary = read_run_summary(run_dir)
        except GanaugError:
            continue
        rows.append({"run": str(run_dir), **summary})
    if as_json:
        print_result(json.dumps(rows))
        return
    if not rows:
        log.info("no trained runs under %s/", DEFAULT_RUNS_ROOT)
        return
    header = f"{'RUN':<22} {'FAMILY':<6} {'STEP':>8} {'CLASSES':>7} {'RES':>4}  LAST CHECKPOINT"
    print_result(header)
    for row in rows:
        print_result(
            f"{row['run']:<22} {row['family']:<6} {row['step']:>8} {len(row['class_names']):>7} "
            f"{row['resolution']:>4}  {row['last_checkpoint_time']}"
        )
