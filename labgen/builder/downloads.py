"""The download cache: files known by sha256, fetched once, verified every time they are used.

The cache is ``$XDG_CACHE_HOME/labgen/sources`` (default ``~/.cache/labgen/sources``), keyed by
sha256: ``<cache>/sha256/<hash>/<file name>``; a file dropped by hand at ``<cache>/<file name>``
(e.g. ``jenkins.war``) is found too once it verifies. Downloads stream to a temporary file beside
the cache, are verified, then renamed into place; a checksum mismatch is an error naming both
hashes and the file is discarded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labgen import paths
from labgen.errors import EXIT_FAILED, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.wire.files import sha256_file

DOWNLOAD_TIMEOUT = 10.0  # seconds; the official hosts are unreachable on many lab machines
UNOFFICIAL_HINT = "use the official release, or pass --allow-unofficial to build it anyway (it is labelled unofficial)"


@dataclass(frozen=True)
class Artifact:
    """A file known by name, where to download it, and the sha256 it must have."""

    name: str
    url: str
    sha256: str


class DownloadError(LabgenError):
    """The file could not be fetched (host unreachable, timeout, HTTP error)."""


class ChecksumMismatch(LabgenError):
    """A file's sha256 is not the one it must have; the file was not used."""

    def __init__(self, what: str, expected: str, actual: str, *, hint: str | None = None, exit_code: int = EXIT_FAILED):
        super().__init__(f"{what}: sha256 mismatch: expected {expected}, got {actual}", hint=hint, exit_code=exit_code)
        self.expected = expected
        self.actual = actual


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/labgen/sources`` (``~/.cache/labgen/sources`` when unset)."""
    return paths.cache_dir() / "sources"


def cache_lookup(sha256: str, name: str, *, cache: Path | None = None, emitter: Emitter = NULL_EMITTER) -> Path | None:
    """A cached copy of the file with this sha256, verified; None when there is none."""
    root = cache or cache_dir()
    keyed = root / "sha256" / sha256 / name
    candidates = [keyed, *sorted((root / "sha256" / sha256).glob("*")), root / name]
    seen: set[Path] = set()
    for path in candidates:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        actual = sha256_file(path)
        if actual == sha256:
            return path
        emitter.emit(
            "source.cache",
            f"ignoring {path}: sha256 {actual} is not the expected {sha256}",
            "warn",
            path=str(path),
            expected=sha256,
            actual=actual,
        )
    return None


def cache_store(path: Path, *, name: str | None = None, sha256: str | None = None, cache: Path | None = None) -> Path:
    """Copy a verified file into the cache under its sha256; returns the cached path."""
    digest = sha256 or sha256_file(path)
    target = (cache or cache_dir()) / "sha256" / digest / (name or path.name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def download(
    url: str,
    sha256: str,
    name: str,
    *,
    cache: Path | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> Path:
    """Fetch ``url`` into the cache, verified against ``sha256``.

    Raises DownloadError when the host cannot be reached or answers with an error, and
    ChecksumMismatch (naming both hashes) when the bytes are not the expected ones;
    in both cases nothing is left in the cache.
    """
    target = (cache or cache_dir()) / "sha256" / sha256 / name
    target.parent.mkdir(parents=True, exist_ok=True)
    emitter.emit("source.download", f"downloading {url}", url=url, timeout=timeout)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    tmp = Path(tmp_name)
    try:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "labgen"})
            with urllib.request.urlopen(request, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise DownloadError(f"{url}: unreachable ({_reason(exc.reason)})") from None
        except (TimeoutError, OSError) as exc:
            raise DownloadError(f"{url}: unreachable ({_reason(exc)})") from None
        actual = digest.hexdigest()
        if actual != sha256:
            raise ChecksumMismatch(
                f"{url} ({size} bytes)",
                sha256,
                actual,
                hint="the download was discarded; something between you and the server may have altered it "
                "(a proxy's error page?); fetch the file yourself and pass its path",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    emitter.emit("source.download", f"downloaded {name} ({size} bytes, sha256 verified)", url=url, size=size)
    return target


def _reason(exc: object) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(getattr(exc, "strerror", None) or exc)


def first_error_line(exc: BaseException) -> str:
    """tarfile's errors list every compression it tried, one per line; the first says enough."""
    return " ".join((str(exc).strip().splitlines() or [type(exc).__name__])[0].split()).rstrip(": ")
