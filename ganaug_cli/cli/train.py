"""train-<family>: one command per registered family, built from one template."""

import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ganaug_cli.cli.output import print_result, setup_output
from ganaug_cli.config import schema_default
from ganaug_cli.errors import TrainingError
from ganaug_cli.families import Family
from ganaug_cli.training.distributed import in_job, other_rank
from ganaug_cli.workflows.train import train_family


def launch(processes: int, argv: list[str]) -> int:
    """``ganaug ARGV`` as a job of ``processes`` processes on this machine, run by torchrun's
    own launcher (torch.distributed.run) in this process; returns the job's exit code. The CPU
    threads are shared out between the processes."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # ganaug reports failures itself
    try:
        run(parse_args(["--standalone", "--nproc-per-node", str(processes), "-m", "ganaug_cli", *argv]))
    except ChildFailedError as exc:
        # A rank killed from outside is the cause. The launcher then stops the others (SIGTERM),
        # and a peer whose collective loses the other side may abort (SIGABRT): consequences.
        killed = sorted((f.timestamp, rank, f) for rank, f in exc.failures.items()
                        if f.exitcode < 0 and f.signal_name() not in ("SIGTERM", "SIGABRT"))
        rank, failure = killed[0][1:] if killed else exc.get_first_failure()
        if failure.exitcode == 1:  # a ganaug error, which its rank has reported
            return 1
        how = f"was killed by {failure.signal_name()}" if failure.exitcode < 0 else f"exited with code {failure.exitcode}"
        raise TrainingError(f"the training job stopped: its process of rank {rank} {how}") from None
    except SignalException as exc:  # Ctrl-C or SIGTERM: the launcher has passed it on and waited for the job
        return 128 + int(exc.sigval)
    return 0


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
        init: Annotated[Optional[Path], typer.Option("--init", help="Start from this run's weights (say, a model of a larger related folder) instead of random ones.")] = None,
        sets: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key: section.key=value (repeatable).")] = None,
        strict: Annotated[bool, typer.Option("--strict", help="Fail on any unusable image instead of skipping it.")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Decode the folder afresh; do not use or write the cache.")] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (and the run folder).")] = False,
        nproc: Annotated[Optional[int], typer.Option("--nproc", min=1, help="Train with N processes on this machine (torchrun; see docs/scaling.md).")] = None,
    ) -> None:
        if nproc and nproc > 1 and not in_job():
            options = {"--data": data, "--config": config, "--out": out, "--resume": resume, "--steps": steps,
                       "--epochs": epochs, "--max-minutes": max_minutes, "--device": device, "--seed": seed, "--init": init}
            argv = [part for flag, value in options.items() if value is not None for part in (flag, str(value))]
            argv += [part for item in sets or [] for part in ("--set", item)]
            argv += [flag for flag, on in (("--strict", strict), ("--no-cache", no_cache), ("--quiet", quiet)) if on]
            raise typer.Exit(launch(nproc, [f"train-{family.name}", *argv]))
        progress = setup_output(quiet)
        given = {
            "data.path": ("--data", data),
            "train.steps": ("--steps", steps),
            "train.epochs": ("--epochs", epochs),
            "train.max_minutes": ("--max-minutes", max_minutes),
            "train.device": ("--device", device),
            "train.seed": ("--seed", seed),
            "train.init": ("--init", str(init) if init else None),
            "data.strict": ("--strict", True if strict else None),
            "data.cache": ("--no-cache", False if no_cache else None),
        }
        flags = {key: (label, value) for key, (label, value) in given.items() if value is not None}
        if data is not None:
            flags["data.path"] = ("--data", str(data))
        run_dir = train_family(
            family, config_file=config, flags=flags, sets=sets or [], resume=resume, out=out, progress=progress
        )
        if other_rank() is None:  # rank 0 prints the job's run folder
            print_result(str(run_dir))

    command.__doc__ = f"{family.summary}\n\nExample: {family.example}"
    return command
