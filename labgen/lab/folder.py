"""The lab folder (`paths.lab_dir(name)`): rendered files, secrets.env, lab.json, events.jsonl.

lab.json keeps the `Topology` the lab was started from, so that status, chaos and verify work
from the lab's name alone."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from labgen.errors import EnvironmentProblem, LabDamaged, LabgenError, NoSuchLab, os_problem
from labgen.lab import docker
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.paths import lab_dir, read_regular_file, state_root
from labgen.wire.files import write_atomic

LAB_FILE = "lab.json"
MAX_LAB_FILE_BYTES = 1 << 20  # a Topology is about 1 kB


def save_topology(topology: Topology, folder: Path) -> None:
    """lab.json, mode 600 and without the stats password (secrets.env keeps it; a lab reloaded
    from lab.json keeps the password secrets.env has)."""
    data = topology.to_json()
    spec = data["spec"]
    if isinstance(spec, dict) and isinstance(spec.get("stats"), dict):
        spec["stats"].pop("password", None)
    write_atomic(folder / LAB_FILE, json.dumps(data, indent=2).encode(), mode=0o600, fsync=False, fsync_dir=False)


def load_topology(name: str) -> Topology:
    """The `Topology` a lab was started from, found by name (no spec file needed)."""
    path = lab_dir(name) / LAB_FILE
    if not path.exists() and not path.is_symlink():
        known = known_labs()
        raise NoSuchLab(
            f"no lab named {name!r}",
            hint=f"known labs: {', '.join(known)}" if known else "start one with `labgen up`",
        )
    try:
        raw = read_regular_file(path, MAX_LAB_FILE_BYTES, f"lab {name}'s state", LabDamaged)
        data = json.loads(raw.decode("utf-8"))
        if isinstance(data, dict) and "spec" not in data:  # written by labgen before 0.2: the LabSpec alone
            return Topology.resolve(LabSpec.model_validate(data))
        return Topology.from_json(data)
    except OSError as exc:
        raise os_problem(exc, f"read lab {name}'s state", path) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, LabgenError) as exc:  # truncated, edited
        detail = exc.message if isinstance(exc, LabgenError) else f"{type(exc).__name__}: {str(exc)[:120]}"
        raise LabDamaged(
            f"{path} is damaged ({detail.splitlines()[0]})",
            hint=f"`labgen down --lab {name}` still works (it goes by Docker labels); "
            f"`labgen up` with the lab's spec writes the file again",
        ) from None


def labs_on_disk() -> set[str]:
    root = state_root()
    return {p.parent.name for p in root.glob(f"*/{LAB_FILE}")} if root.exists() else set()


def known_labs() -> list[str]:
    """Labs on disk or in Docker (Docker's only when it answers)."""
    known = labs_on_disk()
    with contextlib.suppress(EnvironmentProblem):
        known |= set(docker.lab_names())
    return sorted(known)
