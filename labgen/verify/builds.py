"""Builds through a fault (issue 11): what happens to a build running on the faulted master, to one
queued on it, to build numbers, and what each master sees in the article's split brain.

A trial's build phase, before the fault: on the master about to be broken (the active), a job whose
Shell step sleeps (running at the fault) and a job queued behind a long quiet period (waiting in the
queue at the fault). Both are written straight to that master (inside its container), so that the
article's round robin cannot send them elsewhere. After the heal, each gets a fate:

- running: `vanished` (no build.xml: no master will ever show it), `finished-elsewhere` (its master
  lived on and finished it: its build.xml is on the home), `requeued` (the promoter posted it again),
  `still-running` (on the healed master);
- queued: `kept` (a master still has it, or built it), `lost`, `requeued` (the promoter posted it again).

Also counted: JENKINS-23152 build-number collisions the masters logged, the masters that answered
through HAProxy before the fault, and the trial's jobs each master could not list (split brain).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from labgen.generate import secrets as secret_keys
from labgen.lab.handle import LabHandle
from labgen.model.names import (
    ADMIN_TOKEN_ENV,
    ADMIN_USER_ENV,
    JENKINS_HOME_DIR,
    JENKINS_HTTP_PORT,
    NFS,
    NFS_EXPORT_DIR,
)
from labgen.verify.model import BuildFate, BuildsView, Trial

RUNNING_SECONDS = 20  # the running build's `sleep`: still running when the fault comes
QUEUED_DELAY = 120  # the queued build's quiet period: still queued when the fault comes
WATCH_MARGIN = 2.5  # the promoter looks at the active's queue and executors every second
COLLISION = "JENKINS-23152"

# A request to one master from inside its own container, as its administrator (the API token is in
# the container's environment, from the lab's secrets.env): prints the status, then the body.
_DIRECT = (
    """
import base64, os, sys, urllib.request, urllib.error
auth = base64.b64encode((os.environ["ADMIN_USER_ENV"] + ":" + os.environ["ADMIN_TOKEN_ENV"]).encode())
req = urllib.request.Request("http://127.0.0.1:PORT" + sys.argv[2], method=sys.argv[1],
                             data=sys.argv[3].encode() if len(sys.argv) > 3 else None)
req.add_header("Authorization", "Basic " + auth.decode())
req.add_header("Content-Type", "application/xml")
try:
    with urllib.request.urlopen(req, timeout=10) as answer:
        code, body = answer.status, answer.read()
except urllib.error.HTTPError as error:
    code, body = error.code, error.read()
except OSError as error:
    code, body = 0, str(error).encode()
print(code)
sys.stdout.write(body.decode("utf-8", "replace"))
""".replace("PORT", str(JENKINS_HTTP_PORT))
    .replace("ADMIN_USER_ENV", ADMIN_USER_ENV)
    .replace("ADMIN_TOKEN_ENV", ADMIN_TOKEN_ENV)
)


def shell_job_xml(command: str) -> str:
    """A freestyle job with one Shell step."""
    return (
        "<?xml version='1.1' encoding='UTF-8'?><project><description>labgen verify: builds</description>"
        "<properties/><canRoam>true</canRoam><disabled>false</disabled><concurrentBuild>false</concurrentBuild>"
        f"<builders><hudson.tasks.Shell><command>{command}</command></hudson.tasks.Shell></builders>"
        "<publishers/><buildWrappers/></project>"
    )


def direct(handle: LabHandle, master: str, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    """One request to `master` itself (not through HAProxy); status 0 when it cannot be asked."""
    argv = ["python3", "-c", _DIRECT, method, path] + ([body] if body is not None else [])
    try:
        keys = (secret_keys.ADMIN_USER, secret_keys.ADMIN_TOKEN)  # not in the container's env (a file there)
        code, out = handle.exec_in(master, argv, env={key: handle.secrets[key] for key in keys})
    except Exception as error:  # a dead or paused container: not askable
        return 0, str(error)
    status, _, text = out.partition("\n")
    return (int(status) if code == 0 and status.isdigit() else 0), text


def direct_json(handle: LabHandle, master: str, path: str) -> dict[str, Any] | None:
    status, text = direct(handle, master, "GET", path)
    if status != 200:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _job_path(job: str) -> str:
    return f"/job/{urllib.parse.quote(job, safe='')}"


@dataclass
class BuildPhase:
    """The build phase of one trial: started before the fault, judged after the heal."""

    handle: LabHandle
    prefix: str
    master: str  # the master the builds were started on (the one about to be broken)
    started: float  # time.time() when the phase began (for the masters' logs)
    running_job: str = ""
    running_number: int | None = None
    queued_job: str = ""
    problems: list[str] = field(default_factory=list)
    unseen: dict[str, list[str]] = field(default_factory=dict)  # before the fault

    @classmethod
    def start(cls, handle: LabHandle, trial: Trial, master: str) -> BuildPhase:
        prefix = trial.prefix
        # Not named <prefix>-...: the trial's write check counts every such job as one of its writes.
        phase = cls(handle, prefix, master, time.time(), f"{prefix}b-running", None, f"{prefix}b-queued")
        phase.unseen = _unseen(handle, trial)
        for job, command in ((phase.running_job, f"sleep {RUNNING_SECONDS}"), (phase.queued_job, "true")):
            status, _ = direct(handle, master, "POST", f"/createItem?name={job}", shell_job_xml(command))
            if status != 200:
                phase.problems.append(f"could not create {job} on {master}: HTTP {status}")
        direct(handle, master, "POST", f"{_job_path(phase.running_job)}/build?delay=0sec")
        direct(handle, master, "POST", f"{_job_path(phase.queued_job)}/build?delay={QUEUED_DELAY}sec")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and phase.running_number is None:
            path = f"{_job_path(phase.running_job)}/api/json?tree=builds[number,building]"
            builds = (direct_json(handle, master, path) or {}).get("builds", [])
            phase.running_number = next((b["number"] for b in builds if b.get("building")), None)
            time.sleep(0.2)
        if phase.running_number is None:
            phase.problems.append(f"{phase.running_job} did not start on {master}")
        time.sleep(WATCH_MARGIN)  # the promoter has seen the queue and the executors
        return phase

    def finish(self, trial: Trial) -> BuildsView:
        """After the heal: every build's fate, collisions, and who saw what before the fault."""
        handle = self.handle
        state = handle.promoter_state() if handle.topology.promoter is not None else None
        promoter = (state or {}).get("builds") or {}
        requeued = {(r.get("job"), r.get("kind")) for r in promoter.get("requeued", [])}
        survivor = trial.survivor or next((m for m in handle.topology.masters if m != self.master), self.master)
        view = BuildsView(requeue_interrupted=promoter.get("requeue_interrupted") if state else None)
        view.fates.append(self._running_fate(survivor, (self.running_job, "running") in requeued))
        view.fates.append(self._queued_fate(survivor, (self.queued_job, "queued") in requeued))
        view.collisions = collisions_logged(handle, self.started)
        # by answer time: a probe sent just before the fault may be held by HAProxy and answered
        # by the new active, which is not a second master serving before the fault
        before = [s for s in trial.samples if s.answered < 0 and s.status == 200]
        view.serving_before = sorted({s.served_by for s in before if s.served_by})
        view.unseen = self.unseen
        for master in handle.topology.masters:  # a master that does not know a job answers 404
            for job in (self.running_job, self.queued_job):
                direct(handle, master, "POST", f"{_job_path(job)}/doDelete")
        if state is not None and view.fates[1].fate == "lost":
            trial.reasons.append(f"the build queued on {self.master} was lost")
        return view

    def _running_fate(self, survivor: str, requeued: bool) -> BuildFate:
        number = self.running_number
        fate = BuildFate(self.running_job, "running", self.master, number, "vanished")
        if number is None:
            fate.fate, fate.detail = "lost", "; ".join(self.problems) or "it never started"
            return fate
        if requeued:
            fate.fate, fate.detail = "requeued", f"posted again on {survivor} by the promoter"
        elif build_xml_on_nfs(handle=self.handle, job=self.running_job, number=number):
            fate.fate, fate.detail = "finished-elsewhere", f"build.xml of #{number} is on the home"
        elif self._building(number):
            fate.fate, fate.detail = "still-running", f"#{number} still runs on {self.master}"
        else:
            fate.detail = f"#{number}: no build.xml; its number stays used"
        return fate

    def _building(self, number: int) -> bool:
        data = direct_json(self.handle, self.master, f"{_job_path(self.running_job)}/{number}/api/json?tree=building")
        return bool(data and data.get("building"))

    def _queued_fate(self, survivor: str, requeued: bool) -> BuildFate:
        fate = BuildFate(self.queued_job, "queued", self.master, None, "lost")
        if requeued:
            fate.fate, fate.detail = "requeued", f"posted again on {survivor} by the promoter"
            return fate
        for master in dict.fromkeys((survivor, self.master)):
            path = f"{_job_path(self.queued_job)}/api/json?tree=inQueue,builds[number]"
            data = direct_json(self.handle, master, path)
            if data and (data.get("inQueue") or data.get("builds")):
                fate.fate, fate.detail = "kept", f"queued or built on {master}"
                return fate
        fate.detail = "no master has it in its queue or built it"
        return fate


def _unseen(handle: LabHandle, trial: Trial) -> dict[str, list[str]]:
    """The trial's acknowledged jobs each master does not list (asked directly, not through HAProxy)."""
    acked = {w.job for w in trial.writes if w.kind == "create" and w.outcome == "ok"}
    unseen: dict[str, list[str]] = {}
    for master in handle.topology.masters:
        data = direct_json(handle, master, "/api/json?tree=jobs[name]")
        if data is not None:
            listed = {job.get("name") for job in data.get("jobs", [])}
            unseen[master] = sorted(acked - listed)
    return unseen


def build_xml_on_nfs(*, handle: LabHandle, job: str, number: int) -> bool:
    containers = handle.containers(NFS, all_states=False)
    if not containers:
        return False
    home = JENKINS_HOME_DIR.rsplit("/", 1)[-1]
    result = containers[0].exec_run(["test", "-f", f"{NFS_EXPORT_DIR}/{home}/jobs/{job}/builds/{number}/build.xml"])
    return int(result.exit_code) == 0


def collisions_logged(handle: LabHandle, since: float, marker: str = COLLISION) -> list[str]:
    """Lines with `marker` (JENKINS-23152) in the masters' logs since `since` (seconds since the epoch)."""
    found = []
    for master in handle.topology.masters:
        for container in handle.containers(master):
            text = container.logs(since=int(since)).decode("utf-8", "replace")
            found += [line.strip() for line in text.splitlines() if marker in line]
    return found


def summary(trials: list[Trial]) -> dict[str, object]:
    """Fates counted over trials, for the report's summary."""
    counts: dict[str, dict[str, int]] = {"running": {}, "queued": {}}
    collisions = 0
    both_serving = 0
    for trial in trials:
        if trial.builds is None:
            continue
        for fate in trial.builds.fates:
            counts[fate.kind][fate.fate] = counts[fate.kind].get(fate.fate, 0) + 1
        collisions += len(trial.builds.collisions)
        both_serving += len(trial.builds.serving_before) > 1
    return {
        "running": counts["running"],
        "queued": counts["queued"],
        "collisions": collisions,
        "split_brain_trials": both_serving,
    }
