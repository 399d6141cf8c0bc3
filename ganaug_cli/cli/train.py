"""train-<family>: one command per registered family, built from one template."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganaug_cli.cli.output import print_result, setup_output
from ganaug_cli.config import schema_default
from ganaug_cli.families import Family
from ganaug_cli.workflows.train import train_family


def make_train_command(family: Family):
    schema = family.config

    def default(key: str) -> str:
        value = schema_default(schema, key)
        return f"(default: {'none' if value is None else value})"

    def command(
        data: Annotated[Optional[Path], typer.Option("--data", help="Image folder (class = subfolder).")] = None,
        config: Annotated[Optional[Path], typer.Option("--config", help="YAML config file (see configs/).")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="Run folder (default: runs/<family>-NNNN).")] = None,
        resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue this run folder.")] = None,
        steps: Annotated[Optional[int], typer.Option("--steps", help=f"Total steps of the run {default('train.steps')}.")] = None,
        epochs: Annotated[Optional[int], typer.Option("--epochs", help=f"Stop after this many epochs {default('train.epochs')}.")] = None,
        max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help=f"Stop after this many minutes {default('train.max_minutes')}.")] = None,
        device: Annotated[Optional[str], typer.Option("--device", help=f"auto, cpu, cuda, cuda:N or mps {default('train.device')}.")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", help="Fixed seed for a reproducible run (default: a fresh one, recorded).")] = None,
        sets: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key: section.key=value (repeatable).")] = None,
        strict: Annotated[bool, typer.Option("--strict", help="Fail on any unusable image instead of skipping it.")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Decode the folder afresh; do not use or write the cache.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (and the run folder).")] = False,
    ) -> None:
        progress = setup_output(quiet)
        given = {
            "data.path": ("--data", data),
            "train.steps": ("--steps", steps),
            "train.epochs": ("--epochs", epochs),
            "train.max_minutes": ("--max-minutes", max_minutes),
            "train.device": ("--device", device),
            "train.seed": ("--seed", seed),
            "data.strict": ("--strict", True if strict else None),
            "data.cache": ("--no-cache", False if no_cache else None),
        }
        flags = {key: (label, value) for key, (label, value) in given.items() if value is not None}
        if data is not None:
            flags["data.path"] = ("--data", str(data))
        run_dir = train_family(
            family, config_file=config, flags=flags, sets=sets or [], resume=resume, out=out, progress=progress
        )
        print_result(str(run_dir))

    command.__doc__ = f"{family.summary}\n\nExample: {family.example}"
    return command
