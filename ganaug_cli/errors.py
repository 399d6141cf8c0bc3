"""ganaug's own exception types.

Library code raises these for anything a user can fix (a bad value, a broken
file, a missing run); the CLI turns them into one line on stderr and exit 1.
"""


class GanaugError(Exception):
    """A problem the user can fix; its message is shown as-is."""


class ConfigError(GanaugError):
    """An invalid config value, file or override. May carry several problems."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class DataError(GanaugError):
    """The image folder cannot be used."""


class CheckpointError(GanaugError):
    """A checkpoint or run folder cannot be read."""


class RunError(GanaugError):
    """A run folder cannot be created, found or resumed."""


class TrainingError(GanaugError):
    """Training stopped on a problem (for example a NaN loss)."""


class Terminated(BaseException):
    """SIGTERM during work. Like KeyboardInterrupt it is not an Exception, so only
    the places that must clean up (the training loop) catch it; the CLI exits 143."""
