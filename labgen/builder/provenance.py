"""What the given files and the built images are: official releases or not, said before anything is
built (and refused unless ``--allow-unofficial``) and read back from image labels afterwards."""

from __future__ import annotations

from pathlib import Path

from labgen.builder.haproxy_source import resolve_haproxy_source
from labgen.builder.jenkins_sources import JENKINS_WAR_SHA256, inspect_jdk, resolve_jenkins_war
from labgen.model.names import FLAVOUR_LABEL, HAPROXY_ORIGIN_LABEL, JENKINS_SHA_LABEL


def check_given_artifacts(
    haproxy_version: str,
    *,
    haproxy_source: Path | None = None,
    jenkins_war: Path | None = None,
    jdk: Path | None = None,
    allow_unofficial: bool = False,
) -> list[str]:
    """Check the files given on the command line before anything is built: each is what it
    claims (an unofficial one is refused unless `allow_unofficial`). Returns one note for each
    file that is not an official release, for the user to read."""
    notes = []
    if haproxy_source is not None:
        source = resolve_haproxy_source(
            haproxy_version, explicit=haproxy_source, debian=False, allow_unofficial=allow_unofficial
        )
        if source.origin != "official":
            notes.append(source.reason)
    if jenkins_war is not None:
        war = resolve_jenkins_war(explicit=jenkins_war, allow_unofficial=allow_unofficial)
        if war.origin == "unofficial":
            notes.append(f"UNOFFICIAL jenkins.war from {jenkins_war}: sha256 {war.sha256} is not the release's")
    if jdk is not None:
        inspect_jdk(jdk)
    return notes


def image_artifact_origins(labels: dict[str, str]) -> dict[str, str]:
    """What an image's labels say its artifacts are: {"haproxy": origin} or {"jenkins.war": ...}."""
    origins = {}
    if labels.get(HAPROXY_ORIGIN_LABEL):
        origins["haproxy"] = labels[HAPROXY_ORIGIN_LABEL]
    war_sha = labels.get(JENKINS_SHA_LABEL)
    if war_sha and labels.get(FLAVOUR_LABEL) == "real":
        official = war_sha in JENKINS_WAR_SHA256.values()
        origins["jenkins.war"] = "official" if official else "unofficial"
    return origins
