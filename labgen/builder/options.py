"""How to build: one typed, immutable set of options, handed down to every stage of a build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from labgen.builder.downloads import DOWNLOAD_TIMEOUT

JenkinsRequest = Literal["auto", "real", "lite"]
MIRRORS = ("official", "tsinghua")


@dataclass(frozen=True)
class BuildOptions:
    """``jenkins="auto"`` defers to the lab's ``jenkins.flavour``. ``plan_only`` builds and downloads
    nothing: images not in the cache come back with ``image_id == ""`` (what `labgen images`
    compares the engine's images with). ``rebuild`` ignores the cache."""

    jenkins: JenkinsRequest = "auto"
    haproxy_source: Path | None = None  # --haproxy-source
    jenkins_war: Path | None = None  # --jenkins-war
    jdk: Path | None = None  # --jdk: a Java 8/11 JDK tarball
    mirror: str = "official"  # where the war is downloaded from: official or tsinghua
    allow_unofficial: bool = False
    rebuild: bool = False
    download_timeout: float = DOWNLOAD_TIMEOUT
    network_mode: str | None = None  # the builds' RUN steps' network
    plan_only: bool = False

    def __post_init__(self) -> None:  # a library user may give paths as strings
        for name in ("haproxy_source", "jenkins_war", "jdk"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    @classmethod
    def of(cls, value: BuildOptions | dict[str, Any] | None) -> BuildOptions:
        """Options as given by a library user: these options, a dict of their fields, or None."""
        if value is None:
            return cls()
        if isinstance(value, BuildOptions):
            return value
        return cls(**value)
