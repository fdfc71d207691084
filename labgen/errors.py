"""The one error type labgen raises; the CLI turns it into a message and an exit code."""

from __future__ import annotations

import errno

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


# errno values that mean "the path you gave cannot be used", as opposed to "the machine is short of something"
_USER_ERRNOS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EINVAL,
    errno.ELOOP,
}
_OS_HINTS = {
    errno.ENOSPC: "free some disk space, then try again",
    errno.EDQUOT: "free some space within your quota, then try again",
    errno.EROFS: "choose a folder on a writable file system",
    errno.EACCES: "choose a path you may write to, or fix its permissions",
    errno.EPERM: "choose a path you may write to, or fix its permissions",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.ENOTDIR: "a file is where a folder is needed: choose another path or move the file",
    errno.EEXIST: "a file is where a folder is needed: choose another path or move the file",
    errno.EISDIR: "a folder is where a file is needed: choose another path",
    errno.ENOENT: "check the path, or create the folder first",
}


def os_problem(exc: OSError, what: str, where: object = None) -> LabgenError:
    """An OSError as one line: what failed, where, and what to do. Exit 2 when the path given is
    unusable (missing, read-only, a file in the way), 3 when the machine is short of something."""
    place = where if where is not None else exc.filename
    text = f"cannot {what}" + (f" {place}" if place is not None else "") + f": {exc.strerror or exc}"
    code = EXIT_USAGE if exc.errno in _USER_ERRNOS else EXIT_ENVIRONMENT
    return LabgenError(text, hint=_OS_HINTS.get(exc.errno or 0), exit_code=code)
