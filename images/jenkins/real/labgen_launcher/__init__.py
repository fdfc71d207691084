"""The real image's Jenkins launcher: checks that the war is the Jenkins it was built for, then runs
it on Java as the official image of Jenkins 2.190.2's time did (``java $JAVA_OPTS -jar jenkins.war
$JENKINS_OPTS``, the setup wizard off, the agent port fixed)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from labgen.model.names import JENKINS_WAR_PATH
from labgen.wire.war import NotJenkins, jenkins_war_version

PROG = "labgen-jenkins"
EXIT_REFUSED = 2


class Refused(Exception):
    """The war cannot be started; the message says why and what to do."""


def check_war(path: str, expected: str) -> str:
    """The war's Jenkins version; Refused when it is not Jenkins, or not the version of this image."""
    if not os.path.isfile(path):
        raise Refused(f"{path} is missing: build the image with `labgen build --jenkins real --jenkins-war PATH`")
    try:
        version = jenkins_war_version(path)
    except NotJenkins as exc:
        raise Refused(
            f"{path} is not a Jenkins war ({exc}); build the image with the jenkins.war of Jenkins {expected}"
        ) from None
    if expected and version != expected:
        raise Refused(f"{path} is Jenkins {version}, but this image is for Jenkins {expected}")
    return version


def java_command(env: Mapping[str, str], war: str = JENKINS_WAR_PATH) -> list[str]:
    """The command that starts Jenkins, from the container's environment."""
    home = env.get("JENKINS_HOME", "/var/lib/data/jenkins")
    return [
        "java",
        f"-Duser.home={home}",
        "-Djenkins.install.runSetupWizard=false",
        f"-Djenkins.model.Jenkins.slaveAgentPort={env.get('JENKINS_SLAVE_AGENT_PORT', '8181')}",
        "-Djenkins.slaves.DefaultJnlpSlaveReceiver.disableStrictVerification=true",
        *env.get("JAVA_OPTS", "").split(),  # option lists, split on white space as the shell did
        "-jar",
        war,
        f"--httpPort={env.get('JENKINS_HTTP_PORT', '8080')}",
        *env.get("JENKINS_OPTS", "").split(),
    ]
