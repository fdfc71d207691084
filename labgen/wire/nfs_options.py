"""The kernel NFS client's caching mount options (nfs(5)): their names, defaults and parsing, shared by
the spec (nfs.mount_options is checked when the spec is read) and labgen_nfsmount (which applies them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

LOOKUPCACHE_MODES = ("all", "positive", "none")
# the options mount.nfs takes for caching, with the kernel's defaults (nfs(5))
_SECONDS = {"acregmin": 3, "acregmax": 60, "acdirmin": 30, "acdirmax": 60}


@dataclass(frozen=True)
class CacheOptions:
    """The kernel's caching mount options (nfs(5)) and their defaults."""

    acregmin: float = 3
    acregmax: float = 60
    acdirmin: float = 30
    acdirmax: float = 60
    lookupcache: str = "all"  # all | positive (no negative entries) | none (every lookup asks the server)
    cto: bool = True  # close-to-open: revalidate on open, write back on close
    sync: bool = False  # every write goes to the server before write() returns (noac implies it)

    def timeouts(self, is_dir: bool) -> tuple[float, float]:
        return (self.acdirmin, self.acdirmax) if is_dir else (self.acregmin, self.acregmax)

    def text(self) -> str:
        """The options as a mount -o string (what the mount logs)."""
        parts = [f"{k}={getattr(self, k):g}" for k in _SECONDS]
        parts += [f"lookupcache={self.lookupcache}", "cto" if self.cto else "nocto", "sync" if self.sync else "async"]
        return ",".join(parts)


def parse_mount_options(text: str) -> CacheOptions:
    """CacheOptions from a mount -o style string ("actimeo=5,nocto,lookupcache=positive", "noac");
    ValueError naming the bad option and what is allowed.  Later options override earlier ones, as in
    mount.nfs; actimeo=N sets all four timeouts, noac means actimeo=0 and sync."""
    values: dict[str, object] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key in _SECONDS or key == "actimeo":
            seconds = _seconds(key, value if sep else None)
            for name in _SECONDS if key == "actimeo" else (key,):
                values[name] = seconds
        elif key == "lookupcache":
            mode = value.strip().lower()
            if mode == "pos":
                mode = "positive"
            if mode not in LOOKUPCACHE_MODES:
                raise ValueError(f"lookupcache={value}: allowed are {', '.join(LOOKUPCACHE_MODES)}")
            values["lookupcache"] = mode
        elif not sep and key in ("noac", "ac"):
            if key == "noac":
                values.update(dict.fromkeys(_SECONDS, 0.0), sync=True)
        elif not sep and key in ("cto", "nocto"):
            values["cto"] = key == "cto"
        elif not sep and key in ("sync", "async"):
            values["sync"] = key == "sync"
        else:
            raise ValueError(f"unknown NFS mount option {item!r}: allowed are {', '.join(allowed_options())}")
    return replace(CacheOptions(), **values)  # type: ignore[arg-type]


def allowed_options() -> list[str]:
    return [
        "actimeo=N",
        *(f"{k}=N" for k in _SECONDS),
        "noac",
        "ac",
        "cto",
        "nocto",
        "sync",
        "async",
        "lookupcache=all|positive|none",
    ]


def _seconds(key: str, value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else -1.0
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(f"{key} needs a number of seconds from 0 to 3600, got {value!r}")
    return seconds
