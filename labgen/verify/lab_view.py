"""What a trial reads of the lab from the host: which master is active, HAProxy's (or the
promoter's) status of every master, the jobs on the NFS export, and the trial's clean-up."""

from __future__ import annotations

import time
from dataclasses import dataclass

from labgen.errors import LabUnhealthy
from labgen.events import Emitter
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient
from labgen.model.names import JENKINS_HOME_DIR, NFS, NFS_EXPORT_DIR
from labgen.model.topology import Topology
from labgen.wire.poll import wait_for

RELOADING = "MAINT (reloading)"  # a master's status while the promoter reloads it
REJOIN_WAIT_S = 120.0


PROBE_MARGIN_S = 5.0  # past HAProxy's own bound: its 503 arrives before the probe gives up


def probe_timeout_for(handle: LabHandle, asked: float | None) -> float:
    """How long a probe (and a write) waits for its answer: `asked` (--probe-timeout), else as long as
    HAProxy may hold a request while a standby is promoted (haproxy.hold_timeout_s) and a little more.
    A request held through a long promotion (a reload of 5,000 jobs) is measured, not cut off by the
    measuring client and counted unknown."""
    if asked is not None:
        return asked
    return handle.topology.lab.haproxy.hold_timeout_s + PROBE_MARGIN_S


@dataclass
class LabView:
    """The lab a trial runs against: its handle and a Jenkins client through HAProxy."""

    handle: LabHandle
    client: JenkinsClient

    @classmethod
    def open(cls, handle: LabHandle, probe_timeout: float | None) -> LabView:
        return cls(handle, handle.jenkins(timeout=probe_timeout_for(handle, probe_timeout)))

    @property
    def topology(self) -> Topology:
        return self.handle.topology

    def active(self) -> str:
        """The master that answers through HAProxy (asked up to 20 times, 0.5 s apart)."""
        for _ in range(20):
            reply, _jobs = self.client.list_jobs()
            if reply.status == 200 and reply.served_by in self.topology.masters:
                return reply.served_by
            time.sleep(0.5)
        raise LabUnhealthy(
            "cannot tell which master is active: HAProxy does not answer with a master", hint="labgen status"
        )

    def master_statuses(self) -> dict[str, str]:
        """HAProxy's status of every master's HTTP server; the promoter says which one it is reloading."""
        handle = self.handle
        if handle.topology.promoter is not None:
            state = handle.promoter_state()
            if state is None:
                return {}
            servers = state.get("servers") or {}
            statuses = {m: str(servers.get(handle.topology.http_server(m), "?")) for m in handle.topology.masters}
            if state.get("phase") == "reloading" and state.get("promoting") in statuses:
                statuses[state["promoting"]] = RELOADING
            return statuses
        servers = handle.http_servers(handle.haproxy_servers())
        found = {handle.topology.master_of_server(s.server): s.status for s in servers}
        return {m: status for m, status in found.items() if m is not None}

    def jobs_on_nfs(self) -> set[str] | None:
        """Job folders in the NFS server's export, read inside the NFS container."""
        containers = self.handle.containers(NFS, all_states=False)
        if not containers:
            return None
        home = JENKINS_HOME_DIR.rsplit("/", 1)[-1]
        result = containers[0].exec_run(["ls", "-1", f"{NFS_EXPORT_DIR}/{home}/jobs"])
        if result.exit_code != 0:
            return None
        return set(result.output.decode().split())

    def delete_jobs(self, prefix: str) -> None:
        """Remove a trial's jobs once checked, so that every trial starts from the same JENKINS_HOME
        (a master's reload time grows with the number of jobs)."""
        _reply, jobs = self.client.list_jobs()
        for job in sorted(jobs or ()):
            if job.startswith(prefix + "-"):
                self.client.delete_job(job)

    def wait_rejoined(self, victim: str, emitter: Emitter) -> None:
        """Until HAProxy sees the victim again (UP or MAINT) and its container is healthy."""

        def back() -> str | None:
            status = self.handle.server_status(victim) or ""
            healthy = self.handle.health(victim) == "healthy"
            return status if healthy and status.startswith(("UP", "MAINT")) else None

        status = wait_for(back, timeout=REJOIN_WAIT_S)
        if status is None:
            emitter.emit("verify.rejoin.timeout", f"{victim} did not come back within {REJOIN_WAIT_S:.0f} s", "warn")
        else:
            emitter.emit("verify.rejoined", f"{victim} is back ({status})")

    def served_by(self, master: str, asks: int = 5) -> bool:
        """Whether `master` answers any of `asks` requests through HAProxy (never asked in the
        article's round robin, where every master serves by design)."""
        if self.topology.lab.profile == "article":
            return False
        return master in [self.client.list_jobs()[0].served_by for _ in range(asks)]

    def final_jobs(self, timeout: float) -> frozenset[str] | None:
        """The job list once the lab answers it (None when it does not within `timeout`)."""
        return wait_for(lambda: self.client.list_jobs()[1], timeout=timeout)
