"""The one error type labgen raises; the CLI turns it into a message and an exit code."""

from __future__ import annotations

# Exit codes shared by every command.
EXIT_FAILED = 1  # the operation ran and failed (a verdict failed, a container died, ...)
EXIT_USAGE = 2  # bad input: spec, option, unknown target; nothing was touched
EXIT_ENVIRONMENT = 3  # the machine lacks something (Docker down, port taken, artifact missing)


class LabgenError(Exception):
    """A failure a user can act on: what went wrong, and what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class SpecError(LabgenError):
    """The lab spec or a command-line override is invalid."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint, exit_code=EXIT_USAGE)


class EnvironmentProblem(LabgenError):
    """The machine cannot do what was asked (Docker missing, port taken, artifact unavailable)."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint, exit_code=EXIT_ENVIRONMENT)
