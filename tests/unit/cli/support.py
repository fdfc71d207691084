"""What the CLI's bad-input tests share: the working folder's files (one per kind of bad input),
the error a row that reached Docker raises, and a byte-for-byte snapshot of a folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

ALIAS_BOMB = (
    "a: &a ["
    + ",".join(["lol"] * 9)
    + "]\n"
    + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
)


class DockerTouched(Exception):
    pass


def _tarball(version: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in ((f"haproxy-{version}/VERSION", version.encode()), (f"haproxy-{version}/src/x.c", payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


WORK_FILES: dict[str, bytes] = {
    "afile": b"a file where a folder is needed\n",
    "D/compose.yaml": b"# the user's compose.yaml, not to be overwritten\n",
    "D/nfs": b"a file where the folder nfs/ must go\n",
    "latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
    "bomb.yaml": ALIAS_BOMB.encode(),
    "deep.yaml": ("a: " + "[" * 2000 + "]" * 2000 + "\n").encode(),
    "dup.yaml": b"name: one-lab\nprofile: ha\nname: two-lab\n",
    "big.yaml": b"# " + b"x" * 70_000 + b"\n",
    "long-value.yaml": b"name: " + b"x" * 5000 + b"\n",
    "haproxy-2.0.8.tar.gz": _tarball("2.0.8", b"not the official source"),
    "S/secrets.env": b"LABGEN_STATS_PASSWORD=\xff\xfe\n",
    "junk.tar.gz": b"not a tarball at all\n",
}


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path under `root` with its bytes (None for a folder) and its mode."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode)
        for p in sorted(root.rglob("*"))
    }
