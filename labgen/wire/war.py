"""What a jenkins.war says it is: a Jenkins war holds ``WEB-INF/lib/jenkins-core-<version>.jar`` and
names its version in its manifest (``Jenkins-Version``). Stdlib only: the real image's launcher uses
it too, before it hands the war to Java."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

CORE_JAR = re.compile(r"WEB-INF/lib/jenkins-core-([0-9][^/]*)\.jar")


class NotJenkins(ValueError):
    """The file is not a Jenkins war; the message says why."""


def jenkins_war_version(path: Path | str) -> str:
    """The Jenkins version of a war, from its manifest or its core jar; NotJenkins when it has neither."""
    try:
        with zipfile.ZipFile(path) as war:
            names = war.namelist()
            manifest = (
                war.read("META-INF/MANIFEST.MF").decode("utf-8", "replace") if "META-INF/MANIFEST.MF" in names else ""
            )
    except (OSError, zipfile.BadZipFile) as exc:
        raise NotJenkins(f"not a war (zip) file: {exc}") from None
    declared = _manifest_attribute(manifest, "Jenkins-Version")
    core = next((m.group(1) for name in names if (m := CORE_JAR.fullmatch(name))), None)
    if core is None:
        raise NotJenkins(
            "no WEB-INF/lib/jenkins-core-*.jar inside" + ("" if declared else ", no Jenkins-Version in its manifest")
        )
    if declared and declared != core:
        raise NotJenkins(f"its manifest says Jenkins {declared} but it holds jenkins-core {core}")
    return core


def _manifest_attribute(manifest: str, name: str) -> str | None:
    """A main attribute of a jar manifest (lines over 72 bytes continue on lines that start with a space)."""
    text = re.sub(r"\r?\n ", "", manifest)
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
        if not line.strip():
            break  # the main section ends at the first blank line
    return None
