"""runs: list the trained runs under ./runs."""

import json
import logging
from typing import Annotated

import typer

from ganaug_cli.cli.output import print_result
from ganaug_cli.errors import GanaugError
from ganaug_cli.runs import DEFAULT_RUNS_ROOT, list_runs, read_run_summary

log = logging.getLogger("ganaug")


def runs_command(
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
