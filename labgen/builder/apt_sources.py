"""apt's sources: read this machine's (one-line ``.list`` and deb822 ``.sources``), keep Debian's own
archive, and write them as deb822 for the base image and for ``apt-get source``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from debian.deb822 import Deb822

from labgen.errors import AptSourcesMissing, BadEnvironmentVariable
from labgen.model.names import BASE_SUITE

APT_SOURCES_ENV = "LABGEN_APT_SOURCES"  # a sources file to use instead of the host's


@dataclass(frozen=True)
class AptSource:
    """One apt source entry (a deb822 stanza or a one-line entry), normalised."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None = None
    architectures: tuple[str, ...] = ()
    origin: str = ""  # the file it came from

    @property
    def is_debian(self) -> bool:
        """Debian's own archive: signed by Debian's archive keyring (which every Debian
        image has), or unsigned-by-option with bookworm's suite names. Third-party
        repositories (their own keys, which the base image lacks) are not."""
        if self.signed_by is not None:
            keys = self.signed_by.split()
            return bool(keys) and all(
                k.startswith("/usr/share/keyrings/debian-archive-") and k.endswith(".gpg") for k in keys
            )
        return all(s == BASE_SUITE or s.startswith(BASE_SUITE + "-") for s in self.suites)

    def for_suite(self, suite: str) -> bool:
        return any(s == suite or s.startswith(suite + "-") or s.startswith(suite + "/") for s in self.suites)


def read_apt_sources(etc: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every enabled entry apt reads: sources.list, sources.list.d/*.list and *.sources."""
    entries: list[AptSource] = []
    files = [etc / "sources.list"]
    parts = etc / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if path.is_file():
            entries += parse_apt_sources_file(path)
    return entries


def parse_apt_sources_file(path: Path) -> list[AptSource]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if path.suffix == ".sources" or (path.suffix != ".list" and re.search(r"(?im)^types\s*:", text)):
        return parse_deb822(text, origin=str(path))
    return parse_one_line(text, origin=str(path))


def parse_one_line(text: str, *, origin: str = "") -> list[AptSource]:
    """The one-line format (``deb [opts] URI SUITE COMPONENTS...``), which python-debian does not read."""
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if not match:
            continue
        kind, opts, uri, suite, comps = match.groups()
        options = dict(o.split("=", 1) for o in (opts or "").split() if "=" in o)
        signed = options.get("signed-by")
        entries.append(
            AptSource(
                (kind,),
                (uri,),
                (suite,),
                tuple(comps.split()),
                signed.replace(",", " ") if signed else None,
                tuple(options.get("arch", "").split(",")) if options.get("arch") else (),
                origin,
            )
        )
    return entries


def parse_deb822(text: str, *, origin: str = "") -> list[AptSource]:
    """deb822 stanzas (python-debian's parser; field names are case-insensitive, comments skipped)."""
    entries = []
    for stanza in Deb822.iter_paragraphs(text.splitlines(), use_apt_pkg=False):
        if not stanza.get("Types") or not stanza.get("URIs") or not stanza.get("Suites"):
            continue
        if stanza.get("Enabled", "yes").strip().lower() == "no":
            continue
        signed = stanza.get("Signed-By")
        if signed and "BEGIN PGP" in signed:
            signed = "(inline key)"
        entries.append(
            AptSource(
                tuple(stanza["Types"].split()),
                tuple(stanza["URIs"].split()),
                tuple(stanza["Suites"].split()),
                tuple(stanza.get("Components", "").split()),
                " ".join(signed.split()) if signed else None,
                tuple(stanza.get("Architectures", "").split()),
                origin,
            )
        )
    return entries


def render_deb822(entries: Iterable[AptSource], *, types: tuple[str, ...] | None = None) -> str:
    """A deb822 sources file for ``entries`` (optionally with other Types, e.g. deb-src).

    Entries that differ only in type are merged, so deriving deb-src lines from
    deb lines never lists a source twice.
    """
    stanzas: list[str] = []
    seen: set[tuple[object, ...]] = set()
    for entry in entries:
        kinds = types or entry.types
        key = (kinds, entry.uris, entry.suites, entry.components, entry.signed_by, entry.architectures)
        if key in seen:
            continue
        seen.add(key)
        lines = [
            f"Types: {' '.join(kinds)}",
            f"URIs: {' '.join(entry.uris)}",
            f"Suites: {' '.join(entry.suites)}",
        ]
        if entry.components:
            lines.append(f"Components: {' '.join(entry.components)}")
        if entry.architectures:
            lines.append(f"Architectures: {' '.join(entry.architectures)}")
        if entry.signed_by:
            lines.append(f"Signed-By: {entry.signed_by}")
        stanzas.append("\n".join(lines))
    return "\n\n".join(stanzas) + "\n"


def base_apt_sources(etc: Path = Path("/etc/apt"), suite: str = BASE_SUITE) -> str:
    """The deb822 sources a base image gets: this machine's Debian ``suite`` entries (binary
    packages), without third-party repositories whose keys the base lacks. For another Debian
    release than the host's (Debian 11 for the real Jenkins' Java), the host's Debian entries with
    that release's suite names, on the same mirrors.

    ``LABGEN_APT_SOURCES`` may name a sources file (deb822 or one-line) to use instead.
    """
    override = os.environ.get(APT_SOURCES_ENV)
    if override:
        entries = [e for e in parse_apt_sources_file(Path(override)) if "deb" in e.types]
        if not entries:
            raise BadEnvironmentVariable(
                f"{APT_SOURCES_ENV}={override} has no apt source entries; allowed: a sources file, deb822 or one-line"
            )
        if suite != BASE_SUITE:
            entries = [e for e in entries if e.for_suite(suite)] or for_release(entries, BASE_SUITE, suite)
    else:
        debian = [e for e in read_apt_sources(etc) if e.is_debian and "deb" in e.types]
        entries = [e for e in debian if e.for_suite(suite)]
        if not entries and suite != BASE_SUITE:
            entries = for_release([e for e in debian if e.for_suite(BASE_SUITE)], BASE_SUITE, suite)
    if not entries:
        raise AptSourcesMissing(
            f"this machine's apt configuration ({etc}) has no Debian {suite} source for the base image",
            hint=f"set {APT_SOURCES_ENV} to a sources file with Debian {suite} entries (the host's mirror)",
        )
    return render_deb822(entries, types=("deb",))


# Debian 12 split the non-free firmware into a component of its own, which older releases lack
COMPONENTS_SINCE_BOOKWORM = ("non-free-firmware",)


def for_release(entries: Iterable[AptSource], suite: str, other: str) -> list[AptSource]:
    """``entries`` of Debian ``suite`` (e.g. bookworm, bookworm-updates, bookworm-security) for the
    ``other`` release, on the same mirrors: bullseye, bullseye-updates, bullseye-security."""
    moved = []
    for entry in entries:
        suites = tuple(other + s[len(suite) :] for s in entry.suites if s == suite or s.startswith(suite + "-"))
        if not suites:
            continue
        components = tuple(c for c in entry.components if c not in COMPONENTS_SINCE_BOOKWORM)
        moved.append(replace(entry, suites=suites, components=components))
    return moved
