"""The command line: thin Typer commands over the library. Exit codes are set here only."""

from ganaug_cli.cli.app import app, main

__all__ = ["app", "main"]
