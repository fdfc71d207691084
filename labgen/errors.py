"""labgen's errors, one class per condition, each carrying its exit code as a class attribute.

Every one is a `LabgenError` (a message and a hint a user can act on); the CLI turns any of them
into one message and the class's exit code (`labgen.cli.app.run`). Library users catch the
condition: `from labgen import NoSuchLab`.

    LabgenError            1  the operation ran and failed
      UsageError           2  bad input; nothing was touched
        SpecError             the spec file (unreadable, malformed, not a mapping)
          BadSpecField        a field of the spec or of an override (--set) is wrong
        BadOptionValue        a command-line option's value is not allowed
        BadPath               a path given cannot be used
        NoSuchLab             no lab of that name (or none at all) on this machine
        LabNotChosen          several labs, none chosen
        NoSuchTarget          no such service, target or master in the lab
        ActionRefused         the lab's state or profile forbids what was asked
        OutputExists          a file is in the way and --force was not given
        ArtifactRefused       a file given (tarball, JDK, jenkins.war) is not what is needed
      EnvironmentProblem   3  the machine lacks something
        EngineMissing         the Docker engine or Compose
        ToolMissing           a program or library labgen needs (mmdebstrap, apt-get, python-jenkins)
        PortBusy              a port the lab publishes is taken
        SubnetBusy            the lab's subnet overlaps another Docker network
        ArtifactMissing       a source, jenkins.war or JDK that cannot be had
        LabDamaged            the lab's own files (lab.json, secrets.env) are damaged or missing
        MachineUnfit          `labgen doctor` found the machine cannot run a lab
      LabNotRunning        1  the lab (or a service of it) has no container or network
      LabUnhealthy         1  the lab does not serve as it must (not healthy in time, no master answers)
      ImageMissing         1  an image the lab needs is not built
      ImageArchiveRefused  1  a saved-images file is damaged or not one labgen wrote
      DockerFailed         1  Docker or Compose refused an operation
      BuildFailed          1  an image build failed
      ActionFailed         1  a fault, reload or switchover was tried and failed
      CheckFailed          1  a verdict failed: verify, soak, lint
      Interrupted        130  the user interrupted; what was half done was undone
"""

from __future__ import annotations

import errno

# Exit codes shared by every command.
EXIT_FAILED = 1  # the operation ran and failed (a verdict failed, a container died, ...)
EXIT_USAGE = 2  # bad input: spec, option, unknown target; nothing was touched
EXIT_ENVIRONMENT = 3  # the machine lacks something (Docker down, port taken, artifact missing)
EXIT_INTERRUPTED = 130


class LabgenError(Exception):
    """A failure a user can act on: what went wrong, and what to do about it."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:  # an exception to the class's code (kept for older raise sites)
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(LabgenError):
    """Bad input: nothing was touched."""

    exit_code = EXIT_USAGE


class SpecError(UsageError):
    """The lab spec or a command-line override is invalid."""


class BadSpecField(SpecError):
    """A field of the spec (or of an override) has a wrong name or value."""


class BadOptionValue(UsageError):
    """A command-line option's value is not allowed; the message says what is."""


class BadPath(UsageError):
    """A path given cannot be used (missing, read-only, a file where a folder must be, ...)."""


class NoSuchLab(UsageError):
    """No lab of that name (or no lab at all) on this machine."""


class LabNotChosen(UsageError):
    """Several labs, and none was chosen."""


class NoSuchTarget(UsageError):
    """No such service, target or master in the lab."""


class ActionRefused(UsageError):
    """The lab's state or profile forbids what was asked; nothing changed."""


class BadEnvironmentVariable(UsageError):
    """A LABGEN_* environment variable has a value that is not allowed."""


class OutputExists(UsageError):
    """A file is in the way and --force was not given."""


class ArtifactRefused(UsageError):
    """A file given (a source tarball, a JDK, jenkins.war) is not what is needed."""


class EnvironmentProblem(LabgenError):
    """The machine cannot do what was asked (Docker missing, port taken, artifact unavailable)."""

    exit_code = EXIT_ENVIRONMENT


class EngineMissing(EnvironmentProblem):
    """The Docker engine is not reachable, or Compose is not installed."""


class ToolMissing(EnvironmentProblem):
    """A program or library labgen needs is not installed."""


class PortBusy(EnvironmentProblem):
    """A port the lab publishes is already in use."""


class SubnetBusy(EnvironmentProblem):
    """The lab's subnet overlaps a Docker network that is not the lab's own."""


class ArtifactMissing(EnvironmentProblem):
    """A source, jenkins.war or JDK that is needed cannot be had here."""


class AptSourcesMissing(EnvironmentProblem):
    """This machine's apt configuration has no Debian source the base images can be built from."""


class LabDamaged(EnvironmentProblem):
    """The lab's own files (lab.json, secrets.env) are damaged or missing."""


class MachineUnfit(EnvironmentProblem):
    """`labgen doctor` found that this machine cannot run a lab."""


class LabNotRunning(LabgenError):
    """The lab, or a service of it, has no container or network: it is not up."""


class LabUnhealthy(LabgenError):
    """The lab does not serve as it must: not healthy in time, a service died, no master answers."""


class ImageMissing(LabgenError):
    """An image the lab needs is not built."""


class ImageArchiveRefused(LabgenError):
    """A saved-images file is damaged, changed, or not one labgen wrote."""


class DockerFailed(LabgenError):
    """Docker or Compose refused an operation."""


class BuildFailed(LabgenError):
    """An image build failed."""


class ActionFailed(LabgenError):
    """A fault, a reload or a switchover was tried and failed."""


class CheckFailed(LabgenError):
    """A verdict failed (verify, soak, lint)."""


class Interrupted(LabgenError):
    """The user interrupted; what was half done was undone."""

    exit_code = EXIT_INTERRUPTED


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
    kind = BadPath if exc.errno in _USER_ERRNOS else EnvironmentProblem
    return kind(text, hint=_OS_HINTS.get(exc.errno or 0))
