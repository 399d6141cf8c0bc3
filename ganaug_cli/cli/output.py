"""What commands write: results on stdout; logs, warnings and progress on stderr."""

import logging
import sys

from pydantic import BaseModel, ValidationError

from ganaug_cli.errors import ConfigError
from ganaug_cli.progress import Progress
from ganaug_cli.training.distributed import other_rank


def setup_output(quiet: bool) -> Progress:
    """Send ganaug's log to stderr and choose how progress is shown. The ranks other than 0 of
    a torchrun job stay quiet: rank 0 speaks for the job."""
    quiet = quiet or other_rank() is not None
    logger = logging.getLogger("ganaug")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR if quiet else logging.INFO)
    logger.propagate = False
    if quiet:
        return Progress("off")
    return Progress("bar" if sys.stderr.isatty() else "log")


class OutputClosed(Exception):
    """stdout's reader has gone away (``ganaug sample | head -3``)."""


def print_result(line: str) -> None:
    """One result line on stdout, flushed at once so that pipelines see it."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed() from None


def validate_flags(schema: type[BaseModel], flags: dict[str, str], **given) -> BaseModel:
    """A flags-only schema (sample, augment) from the options given; problems name the flag."""
    try:
        return schema(**{key: value for key, value in given.items() if value is not None})
    except ValidationError as exc:
        raise ConfigError(
            [f"{flags.get(str(e['loc'][0]), e['loc'][0])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        ) from None
