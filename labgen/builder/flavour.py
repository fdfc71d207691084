"""Which Jenkins the image holds: the real war whenever it can be had (given, cached or downloaded,
sha256-pinned), on Debian 11's OpenJDK 11, or on a Java 8/11 JDK tarball given with ``--jdk``; else
the lite stand-in, said loudly and with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from labgen.builder.downloads import cache_dir
from labgen.builder.jenkins_sources import JdkTarball, JenkinsWar, inspect_jdk, resolve_jenkins_war
from labgen.builder.options import BuildOptions
from labgen.errors import ArtifactMissing, EnvironmentProblem
from labgen.events import Emitter
from labgen.model.grammar import JENKINS_VERSIONS
from labgen.model.names import Flavour
from labgen.model.spec import LabSpec

JENKINS_VERSION = JENKINS_VERSIONS[0]
DEBIAN_JAVA = "OpenJDK 11 from Debian 11 (openjdk-11-jre-headless)"


@dataclass(frozen=True)
class JenkinsChoice:
    flavour: Flavour
    reason: str
    war: JenkinsWar | None = None
    jdk: JdkTarball | None = None  # None for the real flavour: Debian 11's OpenJDK 11

    @property
    def on_debian_java(self) -> bool:
        """The real Jenkins on Debian 11's OpenJDK 11 (so on the Debian 11 base)."""
        return self.flavour == "real" and self.jdk is None


def choose_jenkins(lab: LabSpec, options: BuildOptions, emitter: Emitter) -> JenkinsChoice:
    """``options.jenkins``; ``auto`` defers to the lab's ``jenkins.flavour``, and ``auto`` there means
    the real Jenkins whenever jenkins.war is given, cached or downloadable."""
    want = options.jenkins if options.jenkins != "auto" else lab.jenkins.flavour
    if want == "lite":
        reason = "the lite stand-in was asked for (--jenkins lite)"
        emitter.emit("build.jenkins", f"Jenkins: {reason}; it is NOT Jenkins", "warn", flavour="lite", reason=reason)
        return JenkinsChoice("lite", reason)

    jdk = inspect_jdk(options.jdk) if options.jdk is not None else None  # a bad JDK given on purpose: an error
    try:
        war = resolve_jenkins_war(
            JENKINS_VERSION,
            explicit=options.jenkins_war,
            mirror=options.mirror,
            timeout=options.download_timeout,
            allow_download=not options.plan_only,  # a plan (`labgen images`) downloads nothing
            allow_unofficial=options.allow_unofficial,
            emitter=emitter,
        )
    except EnvironmentProblem as exc:
        return _without_war(want, exc.message, emitter)
    java = f"Java {jdk.version} (--jdk)" if jdk is not None else DEBIAN_JAVA
    reason = f"jenkins.war {JENKINS_VERSION} ({war.origin}) on {java}"
    emitter.emit("build.jenkins", f"Jenkins: real {JENKINS_VERSION}: {reason}", "info", flavour="real", reason=reason)
    return JenkinsChoice("real", reason, war, jdk)


def _without_war(want: str, problem: str, emitter: Emitter) -> JenkinsChoice:
    if want == "real":
        raise ArtifactMissing(
            f"cannot build the real Jenkins {JENKINS_VERSION} image: {problem}",
            hint=f"labgen build --jenkins real --jenkins-war PATH (it runs on Debian 11's OpenJDK 11; --jdk PATH "
            f"for a Java 8 JDK tarball), or put jenkins.war in {cache_dir()}; or use the stand-in: --jenkins lite",
        )
    emitter.emit(
        "build.jenkins",
        f"USING THE LITE JENKINS STAND-IN, NOT JENKINS {JENKINS_VERSION}: {problem}. It imitates what HAProxy, "
        "the failover logic and Jenkins clients see; give --jenkins-war for the real one.",
        "warn",
        flavour="lite",
        reason=problem,
    )
    return JenkinsChoice("lite", problem)
