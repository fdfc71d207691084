"""Issue 11 on real labs: what a failover does to builds, and what two masters on one home do to each
other over time. The `article` profile loses a running build and breaks on DoubleLaunchChecker; the
`ha` profile reports the running build, re-queues the queued one and answers the collision page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen import verify
from labgen.verify.model import BuildFate, Trial
from labgen.verify.soak import run_soak
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "bq")
FAST_OWNER = ("--set", "jenkins.lite.owner_check_seconds=5")


def _fates(trial: Trial) -> dict[str, BuildFate]:
    assert trial.builds is not None, "the trial has no build phase"
    return {fate.kind: fate for fate in trial.builds.fates}


@pytest.fixture
def article_lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-builds-article", "--profile", "article") as lab:
        yield lab


@pytest.fixture
def ha_lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-builds-ha") as lab:
        yield lab


def test_a_running_build_vanishes_under_article(article_lab: RunningLab) -> None:
    result = verify.run_failover(article_lab.name, action="kill", trials=1, timeout=40, manual_reload_after=5)
    trial = result.trials[0]
    fates = _fates(trial)
    print(f"\narticle kill: {fates}; served before: {trial.builds and trial.builds.serving_before}")
    assert fates["running"].fate == "vanished", fates["running"]
    assert fates["queued"].fate == "lost", fates["queued"]
    assert trial.builds is not None and len(trial.builds.serving_before) == 2  # round robin: split brain
    assert trial.builds.requeue_interrupted is None  # no promoter


def test_ha_reports_the_running_build_and_requeues_the_queued_one(ha_lab: RunningLab) -> None:
    result = verify.run_failover(ha_lab.name, action="kill", trials=1, timeout=40)
    trial = result.trials[0]
    fates = _fates(trial)
    print(f"\nha kill: {fates}; verdict {trial.verdict} {trial.reasons}")
    assert trial.builds is not None and trial.builds.requeue_interrupted is False  # the spec's default
    assert fates["running"].fate == "vanished", fates["running"]  # reported, not re-queued (default)
    assert fates["queued"].fate == "requeued", fates["queued"]
    assert trial.builds.serving_before == [trial.target]
    assert trial.verdict == "pass", trial.reasons


@pytest.mark.parametrize("profile", ["article", "ha"])
def test_a_compressed_soak_breaks_article_and_not_ha(state_home: Path, profile: str) -> None:
    with running_lab(f"{PREFIX}-soak-{profile}", "--profile", profile, *FAST_OWNER) as lab:
        result = run_soak(lab.name, duration=40)
    print(
        f"\n{profile} soak 40 s, .owner period 5 s: {result.probes_ok}/{result.probes} probes ok, "
        f"{result.collision_pages} collision pages, {result.errors} other errors, outages {result.outages}, "
        f"{len(result.build_collisions)} JENKINS-23152, {len(result.owner_collisions)} .owner collisions logged, "
        f"promoter {result.promoter and result.promoter['collisions']}"
    )
    assert result.owner_collisions, "no DoubleLaunchChecker collision: nothing was tested"
    if profile == "article":
        # the page itself is seen only until HAProxy's check marks the masters DOWN (then 503s)
        assert result.broken, result.events[:5]
    else:
        assert not result.broken, result.reasons
        assert result.promoter is not None and result.promoter["collisions"], "no collision happened to answer"
        assert result.outage_seconds < 5, result.outages
