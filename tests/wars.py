"""Fake wars for the tests (no jenkins.war can be had here): one laid out like Jenkins' (a manifest
naming its version and WEB-INF/lib/jenkins-core-<version>.jar, no classes), and ones that are not."""

from __future__ import annotations

import zipfile
from pathlib import Path


def make_war(path: Path, version: str = "2.190.2", *, core: bool = True, manifest: str | None = None) -> Path:
    """A zip laid out like jenkins.war ``version``; ``core=False`` leaves out jenkins-core (not Jenkins)."""
    with zipfile.ZipFile(path, "w") as war:
        war.writestr(
            "META-INF/MANIFEST.MF",
            manifest
            if manifest is not None
            else f"Manifest-Version: 1.0\r\nMain-Class: Main\r\nJenkins-Version: {version}\r\n",
        )
        war.writestr("WEB-INF/web.xml", "<web-app/>")
        if core:
            war.writestr(f"WEB-INF/lib/jenkins-core-{version}.jar", b"PK\x05\x06" + b"\0" * 18)
    return path
