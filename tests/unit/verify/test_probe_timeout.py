"""How long verify's probes wait: through the lab's whole hold bound unless told otherwise, so that a request
HAProxy holds through a long promotion is measured rather than cut off and counted unknown."""

from __future__ import annotations

from pathlib import Path

from labgen.lab.handle import LabHandle
from labgen.model.spec import load_lab
from labgen.model.topology import Topology
from labgen.verify.lab_view import PROBE_MARGIN_S, probe_timeout_for


def _handle(**overrides: object) -> LabHandle:
    return LabHandle(Topology.resolve(load_lab(None, {"name": "unit-probe", **overrides})), Path("/nonexistent"))


def test_a_probe_waits_as_long_as_haproxy_may_hold_it() -> None:
    default = _handle()
    assert probe_timeout_for(default, None) == default.topology.lab.haproxy.hold_timeout_s + PROBE_MARGIN_S
    assert probe_timeout_for(default, None) > 60  # the bound: a promotion of at least 60 s is waited out
    assert probe_timeout_for(_handle(**{"haproxy.hold_timeout_s": 300}), None) == 300 + PROBE_MARGIN_S


def test_an_asked_timeout_wins() -> None:
    assert probe_timeout_for(_handle(), 2.5) == 2.5
