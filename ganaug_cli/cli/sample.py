"""sample: generate images from a trained run, with the run's family's sampling options as flags."""

import inspect
import json
import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ganaug_cli.cli.output import print_result, setup_output, validate_flags
from ganaug_cli.config.commands import SampleConfig
from ganaug_cli.devices import resolve_device
from ganaug_cli.errors import ConfigError
from ganaug_cli.families import Family
from ganaug_cli.imaging import save_grid
from ganaug_cli.runs import DEFAULT_RUNS_ROOT
from ganaug_cli.sampling import LoadedModel, SampleReport, SampleRequest, load_sampling_model, resolve_checkpoint, sample_images
from ganaug_cli.sampling.grid import grid_from_files, grid_from_rows
from ganaug_cli.sampling.near_real import near_real as near_real_model, require_invertible
from ganaug_cli.workflows.sample_filters import FilterStats, build_filter

log = logging.getLogger("ganaug")
DEFAULTS = SampleConfig()
GRID_ROW, GRID_FLAT = 10, 64  # --grid: images per class row, or in all for unconditional runs


def _default(name: str) -> str:
    return f"(default: {getattr(DEFAULTS, name)})"


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
    reject_duplicates: Annotated[bool, typer.Option("--reject-duplicates", help="Drop samples that are near-duplicates of a kept sample of their class.")] = False,
    data: Annotated[Optional[Path], typer.Option("--data", help="Real folder for the filters (default: the run's training folder).")] = None,
    allow_fewer: Annotated[bool, typer.Option("--allow-fewer", help="When the filters reject too many samples of a class, keep those that passed (with a warning) instead of failing.")] = False,
    near_real: Annotated[Optional[bool], typer.Option("--near-real/--no-near-real", help="Sample variations of the real images of --data (GAN runs) instead of from fresh noise.")] = None,
    near_radius: Annotated[Optional[float], typer.Option("--near-radius", help=f"With --near-real: how far from each real image, 0 = its reconstruction {_default('near_radius')}.")] = None,
    options: dict | None = None,
    families: dict[str, Family] | None = None,
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
    if min_confidence is not None and not 0 < min_confidence <= 1:
        raise ConfigError(f"--min-confidence: must be in (0, 1] (got {min_confidence})")
    flags = {"n": "-n", "batch_size": "--batch-size", "device": "--device", "format": "--format",
             "near_radius": "--near-radius"}
    settings = validate_flags(SampleConfig, flags, n=n, batch_size=batch_size, device=device, format=fmt,
                              near_real=near_real, near_radius=near_radius)
    if near_radius is not None and not settings.near_real:
        raise ConfigError("--near-radius: applies only with --near-real")
    check_option_values(options or {}, families or {})
    path = resolve_checkpoint(run, checkpoint, DEFAULT_RUNS_ROOT)
    loaded = load_sampling_model(path, resolve_device(settings.device))
    family_options = sample_options_for(loaded, options or {}, families or {})
    target = out if out is not None else loaded.run_dir / "samples"
    request = SampleRequest(
        n=None if per_class is not None else settings.n,
        per_class=per_class,
        classes=classes,
        seed=seed,
        batch_size=settings.batch_size,
        fmt=settings.format,
        size=size,
        quality=settings.jpeg_quality,
        overwrite=overwrite,
        allow_fewer=allow_fewer,
        options=family_options,
    )
    report = SampleReport(seed=0, out=target, counts={})
    stats = FilterStats()
    keep = build_filter(loaded, data, min_confidence, reject_copies, stats, reject_duplicates)
    if settings.near_real:
        require_invertible(loaded)
        folder = loaded.data_folder(data, "--near-real")
        real = loaded.real_images(folder, progress).without(loaded.unseen_files(folder))
        loaded = near_real_model(loaded, real, settings.near_radius, settings.inversion_steps, progress)
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
            "format": settings.format,
            "seconds": round(elapsed, 3),
            "grid": str(grid) if grid else None,
            "rejection_rate": round(stats.rejection_rate, 4) if keep is not None else None,
        }
        print_result(json.dumps(summary))


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _owners(option: str, families: dict[str, Family]) -> str:
    return " and ".join(f.title for f in families.values() if option in f.sample_options.model_fields)


def check_option_values(given: dict, families: dict[str, Family]) -> None:
    """Each sampling flag's value against the schema that defines it, before any loading."""
    for name, value in given.items():
        if value is not None:
            schema = next(f.sample_options for f in families.values() if name in f.sample_options.model_fields)
            validate_flags(schema, {name: _flag(name)}, **{name: value})


def sample_options_for(loaded: LoadedModel, given: dict, families: dict[str, Family]) -> dict:
    """The run's sampling options with the flags given; a flag of another family is one line."""
    given = {name: value for name, value in given.items() if value is not None}
    schema = loaded.entry.sample_options
    for name in given:
        if name not in schema.model_fields:
            raise ConfigError(
                f"{_flag(name)}: applies to {_owners(name, families)} runs, and {loaded.run_dir} is a {loaded.family} run"
            )
    flags = {name: _flag(name) for name in schema.model_fields}
    return validate_flags(schema, flags, **{**loaded.sample_options, **given}).model_dump()


def make_sample_command(families: dict[str, Family]):
    """``sample`` with one flag per sampling option of any family (--burn-in, ...)."""
    extra: dict[str, inspect.Parameter] = {}
    for family in families.values():
        for name, field in family.sample_options.model_fields.items():
            if name not in extra:
                help_text = f"{_owners(name, families)} runs: {field.description or name} (default: the run's sample.{name})."
                annotation = Annotated[Optional[field.annotation], typer.Option(_flag(name), help=help_text)]
                extra[name] = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)

    def command(**given) -> None:
        options = {name: given.pop(name) for name in extra}
        sample(**given, options=options, families=families)

    fixed = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for name, p in inspect.signature(sample).parameters.items()
             if name not in ("options", "families")]
    command.__signature__ = inspect.Signature([*fixed, *extra.values()])
    command.__doc__ = sample.__doc__
    return command
