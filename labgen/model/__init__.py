"""Stage 1, the model: the spec a user writes (`spec`; the grammar of its values in `grammar` and
`addresses`), the names every other stage reads (`names`), and the lab as it runs once resolved
against the build (`topology`).

The package itself imports nothing: `labgen.model.names` is read by programs that run where
labgen's dependencies are not installed (the userspace NFS client on a host, the images), so the
spec's pydantic is loaded only when one of the names below is asked for."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labgen.model.spec import LabSpec, load_lab, parse_override
    from labgen.model.topology import Topology

__all__ = ["LabSpec", "Topology", "load_lab", "parse_override"]
_HOME = {"LabSpec": "spec", "load_lab": "spec", "parse_override": "spec", "Topology": "topology"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"labgen.model.{_HOME[name]}"), name)
    raise AttributeError(f"module 'labgen.model' has no attribute {name!r}")
