"""The Typer app, built from the family registry, and the one place that turns outcomes
into exit codes.

0 success · 1 a GanaugError (bad input, broken file) · 2 usage error ·
130 Ctrl-C · 141 closed output pipe · 143 SIGTERM.
"""

import logging
import os
import signal
import sys

import typer

from ganaug_cli import __version__
from ganaug_cli.cli.augment import make_augment_command
from ganaug_cli.cli.evaluate import eval_command
from ganaug_cli.cli.output import OutputClosed
from ganaug_cli.cli.runs import runs_command
from ganaug_cli.cli.sample import make_sample_command
from ganaug_cli.cli.train import make_train_command
from ganaug_cli.errors import ConfigError, GanaugError, Terminated, TrainingError
from ganaug_cli.families import FAMILIES, Family
from ganaug_cli.training.distributed import other_rank


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ganaug {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="Print the version."),
) -> None:
    """Train a generative model on a small image folder and write synthetic images."""


def build_app(families: dict[str, Family] | None = None) -> typer.Typer:
    """The whole CLI: one train-<family> command per registered family, then sample, runs,
    eval and augment, which take any of them."""
    families = FAMILIES if families is None else families
    titles = ", ".join(family.title for family in families.values())
    app = typer.Typer(
        name="ganaug",
        help=f"Train a generative model ({titles}) on a small image folder and write synthetic images.",
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for family in families.values():
        app.command(name=f"train-{family.name}")(make_train_command(family))
    app.command(name="sample")(make_sample_command(families))
    app.command(name="runs")(runs_command)
    app.command(name="eval")(eval_command)
    app.command(name="augment")(make_augment_command(families))
    return app


def _raise_terminated(signum, frame):
    raise Terminated()


def _error(message: str) -> None:
    prefix = f"rank {other_rank()}: " if other_rank() else ""
    for line in message.splitlines() or [""]:
        print(f"error: {prefix}{line}", file=sys.stderr)


def run(argv: list[str] | None = None, app: typer.Typer | None = None) -> int:
    """Run the CLI and return its exit code (tests call this directly).

    Without ``app`` the app is built from the registry as it is now.
    """
    app = build_app() if app is None else app
    try:
        result = app(args=argv, prog_name="ganaug", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:  # Ctrl-C, as older Typer versions report it
        return 130
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        for problem in exc.problems:
            _error(problem)
        return 1
    except GanaugError as exc:
        # A training error stops every rank alike (or is a peer's loss); rank 0 reports it once.
        if not (isinstance(exc, TrainingError) and other_rank()):
            _error(str(exc))
        return 1
    except OutputClosed:
        # The reader went away (``| head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:
        # Usage errors (unknown option, missing value) carry their own exit code (2).
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        raise
    finally:
        logging.getLogger("ganaug").handlers.clear()


def main() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
    sys.exit(run())
