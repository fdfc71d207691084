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
from labgen.paths import lab_dir, state_root
from labgen.wire.files import write_atomic

LAB_FILE = "lab.json"


def save_topology(topology: Topology, folder: Path) -> None:
    write_atomic(folder / LAB_FILE, json.dumps(topology.to_json(), indent=2).encode(), fsync=False, fsync_dir=False)


def load_topology(name: str) -> Topology:
    """The `Topology` a lab was started from, found by name (no spec file needed)."""
    path = lab_dir(name) / LAB_FILE
    if not path.exists():
        known = known_labs()
        raise NoSuchLab(
            f"no lab named {name!r}",
            hint=f"known labs: {', '.join(known)}" if known else "start one with `labgen up`",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "spec" not in data:  # written by labgen before 0.2: the LabSpec alone
            return Topology.resolve(LabSpec.model_validate(data))
        return Topology.from_json(data)
    except OSError as exc:
        raise os_problem(exc, f"read lab {name}'s state", path) from None
    except (ValueError, TypeError, KeyError, AttributeError, LabgenError) as exc:  # truncated, edited, foreign
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
