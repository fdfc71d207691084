"""The soak's verdict: it fails only when the lab stopped serving."""

from __future__ import annotations

from labgen.verify.soak import SoakResult


def test_a_soak_fails_only_when_the_lab_stopped_serving() -> None:
    result = SoakResult("lab", "ha", 40.0, 0.0, probes=80, probes_ok=78, collision_pages=2)
    result.outages = [(10.0, 10.5), (20.0, 20.25)]
    assert result.passed and result.outage_seconds == 0.75
    broken = SoakResult("lab", "article", 40.0, 0.0, broken=True, reasons=["the lab did not serve"])
    assert not broken.passed and broken.to_json()["passed"] is False
