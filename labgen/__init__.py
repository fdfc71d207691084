"""labgen: generate, run, break and verify a Jenkins high-availability lab.

`labgen.JenkinsHALab` (`labgen.api`) is the Python API: a running lab for scripts and tests. It
is loaded on first use, so `import labgen` stays cheap (the image programs import this package's
`labgen.wire` without Docker or pydantic installed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["JenkinsHALab", "__version__"]

if TYPE_CHECKING:
    from labgen.api import JenkinsHALab


def __getattr__(name: str) -> Any:
    if name == "JenkinsHALab":
        from labgen.api import JenkinsHALab

        return JenkinsHALab
    if name == "Lab":
        # the issue's `from labgen import Lab`: refused on purpose, saying what was meant (an
        # ImportError: `from labgen import Lab` would replace an AttributeError's message)
        raise ImportError(
            "labgen has no top-level `Lab`: the running-lab API is `labgen.JenkinsHALab` "
            "(`from labgen import JenkinsHALab`); the lab's spec is `labgen.model.spec.Lab`"
        )
    raise AttributeError(f"module 'labgen' has no attribute {name!r}")
