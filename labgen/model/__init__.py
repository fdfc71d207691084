"""Stage 1, the model: the spec a user writes (`spec`), the names every other stage reads
(`names`), and the lab as it runs once resolved against the build (`topology`)."""

from labgen.model.spec import LabSpec, load_lab, parse_override
from labgen.model.topology import Topology

__all__ = ["LabSpec", "Topology", "load_lab", "parse_override"]
