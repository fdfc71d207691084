"""Issue 17: a failover no client notices with a home of a few hundred jobs with build history.

300 jobs are created through HAProxy; a few are built for real, the others get 5 finished builds each written
onto the home in the format lite and Jenkins read (bench/_seed.py: seeding 1,500 real builds would take
minutes). Then the active master is killed: the trial must pass with no failed and no unknown request, and
one request sent before the promoter began to reload the survivor must have been held through that whole
reload and answered 200 (HAProxy holds requests while the promoter reloads: issue 17, item 3).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._seed import create_jobs, job_names, run_builds, write_history
from labgen import verify
from labgen.lab.handle import LabHandle
from labgen.verify.experiment import WATCH_EVERY_S
from labgen.verify.lab_view import RELOADING
from labgen.verify.model import Trial
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "it")
JOBS, BUILDS, REAL = 300, 5, 4  # REAL jobs get BUILDS real builds each; the others written history
SEED = "scale"


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-scale") as running:
        yield running


def _reload_window(trial: Trial) -> tuple[float, float]:
    """When HAProxy's promoter began and ended reloading the survivor, from verify's record (s since the kill)."""
    marks = [m for m in trial.haproxy if m.server == trial.survivor]
    began = next((m.t for m in marks if m.status == RELOADING), None)
    assert began is not None, f"the promoter was never seen reloading {trial.survivor}: {marks}"
    ended = next((m.t for m in marks if m.t > began and m.status != RELOADING), None)
    assert ended is not None, f"{trial.survivor} never left the reload: {marks}"
    return began, ended


def test_a_kill_at_300_jobs_with_history_fails_no_request_and_holds_one_through_the_reload(lab: RunningLab) -> None:
    handle = LabHandle.open(lab.name)
    client = handle.jenkins(timeout=30)
    names = job_names(SEED, 0, JOBS)
    create_jobs(client, names)
    run_builds(client, names[:REAL], BUILDS)
    active = handle.active_master(handle.haproxy_servers())
    assert active is not None
    write_history(handle, active, SEED, REAL, JOBS - REAL, BUILDS)

    result = verify.run_failover(lab.name, action="kill", target=active, trials=1, rate=20, timeout=120)
    trial = result.trials[0]
    assert trial.verdict == "pass", trial.reasons
    assert (trial.failed_requests, trial.unknown_requests) == (0, 0)
    assert trial.survivor is not None and trial.survivor != active

    began, ended = _reload_window(trial)
    # `ended` is the first status reading after the reload: it ended up to one watch step before it,
    # and the requests HAProxy let go then may be answered before that reading
    last_seen_reloading = ended - WATCH_EVERY_S
    held = [s for s in trial.samples if s.outcome == "ok" and s.t <= began and s.answered >= last_seen_reloading]
    assert held, f"no request was held through the survivor's reload ({began:.2f} s to {ended:.2f} s after the kill)"

    # The survivor read the whole home at that reload, and the history lazily, as Jenkins does.
    logs = handle.container(trial.survivor).logs().decode("utf-8", "replace")
    reads = [int(n) for n in re.findall(r"Reload complete in [0-9.]+ s: (\d+) job\(s\)", logs)]
    assert reads and reads[-1] >= JOBS
    for name, builds in ((names[0], BUILDS), (names[-1], BUILDS)):
        reply = client.request("GET", f"/job/{name}/api/json?tree=lastBuild[number,result],nextBuildNumber")
        assert reply.status == 200 and reply.served_by == trial.survivor
        data = json.loads(reply.body)
        assert data["lastBuild"] == {"_class": "hudson.model.FreeStyleBuild", "number": builds, "result": "SUCCESS"}
        assert data["nextBuildNumber"] == builds + 1
