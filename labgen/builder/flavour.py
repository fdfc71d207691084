"""Which Jenkins the image holds: the real war on Java 8/11 when it is at hand, else the lite stand-in,
said loudly and with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from labgen.builder.downloads import cache_dir
from labgen.builder.jenkins_sources import JdkTarball, JenkinsWar, inspect_jdk, resolve_jenkins_war
from labgen.builder.options import BuildOptions
from labgen.errors import EnvironmentProblem
from labgen.events import Emitter
from labgen.model.names import Flavour
from labgen.model.spec import JENKINS_VERSIONS, Lab

JENKINS_VERSION = JENKINS_VERSIONS[0]


@dataclass(frozen=True)
class JenkinsChoice:
    flavour: Flavour
    reason: str
    war: JenkinsWar | None = None
    jdk: JdkTarball | None = None


def choose_jenkins(lab: Lab, options: BuildOptions, emitter: Emitter) -> JenkinsChoice:
    """``options.jenkins`` (``auto`` defers to the lab's ``jenkins.flavour``; ``auto`` there means the
    real Jenkins when jenkins.war and a Java 8/11 JDK are at hand)."""
    want = options.jenkins if options.jenkins != "auto" else lab.jenkins.flavour
    if want == "lite":
        reason = "the lite stand-in was asked for (--jenkins lite)"
        emitter.emit("build.jenkins", f"Jenkins: {reason}; it is NOT Jenkins", "warn", flavour="lite", reason=reason)
        return JenkinsChoice("lite", reason)

    problems: list[str] = []
    jdk: JdkTarball | None = None
    if options.jdk is not None:
        jdk = inspect_jdk(options.jdk)  # a bad JDK given on purpose is an error, even in auto
    else:
        problems.append(
            "no Java 8/11 JDK tarball was given (--jdk PATH); Debian 12 ships only OpenJDK 17, "
            "which Jenkins 2.190.2 refuses"
        )
    war: JenkinsWar | None = None
    try:
        if jdk is None and want == "auto" and options.jenkins_war is None:
            # no JDK, so the lite flavour it is: look for the war without a 77 MB download
            war = resolve_jenkins_war(JENKINS_VERSION, mirror=options.mirror, allow_download=False, emitter=emitter)
        else:
            war = resolve_jenkins_war(
                JENKINS_VERSION,
                explicit=options.jenkins_war,
                mirror=options.mirror,
                timeout=options.download_timeout,
                allow_unofficial=options.allow_unofficial,
                emitter=emitter,
            )
    except EnvironmentProblem as exc:
        problems.append(exc.message)
    if not problems:
        assert war is not None and jdk is not None
        reason = f"jenkins.war {JENKINS_VERSION} ({war.origin}) and Java {jdk.version} are available"
        emitter.emit(
            "build.jenkins", f"Jenkins: real {JENKINS_VERSION}: {reason}", "info", flavour="real", reason=reason
        )
        return JenkinsChoice("real", reason, war, jdk)
    reason = "; ".join(problems)
    if want == "real":
        raise EnvironmentProblem(
            f"cannot build the real Jenkins {JENKINS_VERSION} image: {reason}",
            hint=f"labgen build --jenkins real --jenkins-war PATH --jdk PATH (a Java 8 or 11 JDK tarball), "
            f"or put jenkins.war in {cache_dir()}; or use the stand-in: --jenkins lite",
        )
    emitter.emit(
        "build.jenkins",
        f"USING THE LITE JENKINS STAND-IN, NOT JENKINS {JENKINS_VERSION}: {reason}. It imitates what HAProxy, "
        "the failover logic and Jenkins clients see; give --jenkins-war and --jdk for the real one.",
        "warn",
        flavour="lite",
        reason=reason,
    )
    return JenkinsChoice("lite", reason)
