"""labgen: generate, run, break and verify a Jenkins high-availability lab.

`labgen.Lab` (also named `labgen.JenkinsHALab`, in `labgen.api`) is the Python API: a running lab
for scripts and tests; the lab's spec is `labgen.model.spec.LabSpec`. It is
loaded on first use, so `import labgen` stays cheap (the image programs import this package's
`labgen.wire` without Docker or pydantic installed).

Every error labgen raises is a `LabgenError`, one class per condition, each with its exit code
(`labgen.errors`), exported here: `from labgen import NoSuchLab`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labgen.errors import (
    ActionFailed,
    ActionRefused,
    AptSourcesMissing,
    ArtifactMissing,
    ArtifactRefused,
    BadEnvironmentVariable,
    BadOptionValue,
    BadPath,
    BadSpecField,
    BuildFailed,
    CheckFailed,
    DockerFailed,
    EngineMissing,
    EnvironmentProblem,
    ImageArchiveRefused,
    ImageMissing,
    Interrupted,
    LabDamaged,
    LabgenError,
    LabNotChosen,
    LabNotRunning,
    LabUnhealthy,
    MachineUnfit,
    NoSuchLab,
    NoSuchTarget,
    OutputExists,
    PortBusy,
    SpecError,
    SubnetBusy,
    ToolMissing,
    UsageError,
)

__version__ = "0.1.0"
__all__ = [
    "ActionFailed",
    "ActionRefused",
    "AptSourcesMissing",
    "ArtifactMissing",
    "ArtifactRefused",
    "BadEnvironmentVariable",
    "BadOptionValue",
    "BadPath",
    "BadSpecField",
    "BuildFailed",
    "CheckFailed",
    "DockerFailed",
    "EngineMissing",
    "EnvironmentProblem",
    "ImageArchiveRefused",
    "ImageMissing",
    "Interrupted",
    "JenkinsHALab",
    "Lab",
    "LabDamaged",
    "LabNotChosen",
    "LabNotRunning",
    "LabUnhealthy",
    "LabgenError",
    "MachineUnfit",
    "NoSuchLab",
    "NoSuchTarget",
    "OutputExists",
    "PortBusy",
    "SpecError",
    "SubnetBusy",
    "ToolMissing",
    "UsageError",
    "__version__",
]

if TYPE_CHECKING:
    from labgen.api import JenkinsHALab
    from labgen.api import JenkinsHALab as Lab


def __getattr__(name: str) -> Any:
    if name in ("Lab", "JenkinsHALab"):
        from labgen.api import JenkinsHALab

        return JenkinsHALab
    raise AttributeError(f"module 'labgen' has no attribute {name!r}")
