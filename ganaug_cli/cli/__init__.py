"""The command line: thin Typer commands over the library. Exit codes are set here only.

``from ganaug_cli.cli import app`` is the whole app, ready for Typer's ``CliRunner``.
"""

from ganaug_cli.cli.app import build_app, main, run

app = build_app()

__all__ = ["app", "build_app", "main", "run"]
