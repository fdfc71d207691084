"""`labgen verify soak`: keep a lab busy for a while and report everything that went wrong, when.

Through HAProxy, as a CI would use it: a health probe (GET /api/json) every `probe_every` seconds, a
build of one shared job every `build_every` seconds (its Shell step sleeps 1 s), and a job created
and an older one deleted every `change_every` seconds. Every answer that is not a 200 is an event
with its time; an answer that is Jenkins' DoubleLaunchChecker page ("more than one instance of
Jenkins", HTTP 500) is a `collision-page` event. Outages are the periods in which no probe got a
200. At the end: the JENKINS-23152 build-number collisions the masters logged, what the promoter
answered (collision pages it ignored, builds it posted again), and whether the lab still serves.
With the lite flavour's compressed `.owner` period (`jenkins.lite.owner_check_seconds`) hours of
DoubleLaunchChecker happen in a minute.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from labgen.errors import BadOptionValue
from labgen.events import NULL_EMITTER, Emitter
from labgen.lab.handle import LabHandle
from labgen.verify.builds import collisions_logged, shell_job_xml

COLLISION_PAGE = "more than one instance of Jenkins"
OWNER_COLLISION = "Collision detected."  # what DoubleLaunchChecker logs (lite and Jenkins)
BROKEN_TAIL = 5.0  # the lab is broken when no probe got a 200 in the last seconds of the soak


@dataclass
class SoakEvent:
    t: float  # seconds since the soak began
    kind: str  # collision-page, error, outage-start, outage-end, build-refused
    status: int
    served_by: str | None
    detail: str = ""


@dataclass
class SoakResult:
    lab: str
    profile: str
    duration: float
    started: float  # seconds since the epoch
    probes: int = 0
    probes_ok: int = 0
    builds_posted: int = 0
    jobs_changed: int = 0
    collision_pages: int = 0  # answers that were the DoubleLaunchChecker page
    errors: int = 0  # other answers that were not a 200 (or no answer)
    outages: list[tuple[float, float]] = field(default_factory=list)  # (from, to), seconds since the start
    build_collisions: list[str] = field(default_factory=list)  # JENKINS-23152 lines of the masters' logs
    owner_collisions: list[str] = field(default_factory=list)  # DoubleLaunchChecker's lines of the masters' logs
    promoter: dict[str, Any] | None = None  # the promoter's build and collision records
    events: list[SoakEvent] = field(default_factory=list)
    broken: bool = False  # no probe got a 200 in the last BROKEN_TAIL seconds
    reasons: list[str] = field(default_factory=list)  # why it failed: only a lab that stopped serving fails

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def outage_seconds(self) -> float:
        return round(sum(end - start for start, end in self.outages), 2)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"], data["outage_seconds"] = self.passed, self.outage_seconds
        return data


def run_soak(
    name: str,
    *,
    duration: float,
    probe_every: float = 0.5,
    build_every: float = 2.0,
    change_every: float = 5.0,
    emitter: Emitter = NULL_EMITTER,
) -> SoakResult:
    if not 5 <= duration <= 7 * 24 * 3600:
        raise BadOptionValue("--duration must be 5 s to 7 days")
    handle = LabHandle.open(name)
    client = handle.jenkins(timeout=5.0)
    lab = handle.topology.lab
    result = SoakResult(lab.name, lab.profile, duration, time.time())
    prefix = f"soak-{uuid.uuid4().hex[:6]}"
    shared = f"{prefix}-build"
    # The shared job on every master that serves (round robin: each master that does not know it creates it),
    # so that the article's masters build it side by side, each with its own next build number.
    for _ in range(3 * len(handle.topology.masters)):
        client.request("POST", f"/createItem?name={shared}", shell_job_xml("sleep 1").encode(), "application/xml")
    created: list[str] = []
    start = time.monotonic()
    next_probe = next_build = next_change = start
    outage_from: float | None = None
    last_ok = 0.0
    emitter.emit("verify.soak", f"soak of lab {name} ({lab.profile}) for {duration:g} s", "step")
    while (now := time.monotonic()) - start < duration:
        t = round(now - start, 2)
        if now >= next_probe:
            next_probe += probe_every
            reply = client.request("GET", "/api/json?tree=jobs[name]")
            result.probes += 1
            if reply.status == 200:
                result.probes_ok += 1
                last_ok = t
                if outage_from is not None:
                    result.outages.append((outage_from, t))
                    detail = f"after {t - outage_from:.2f} s"
                    result.events.append(SoakEvent(t, "outage-end", 200, reply.served_by, detail))
                    outage_from = None
            else:
                page = COLLISION_PAGE in reply.body.decode("utf-8", "replace")
                result.collision_pages += page
                result.errors += not page
                kind = "collision-page" if page else "error"
                result.events.append(SoakEvent(t, kind, reply.status, reply.served_by, reply.error or ""))
                if outage_from is None:
                    outage_from = t
                    result.events.append(SoakEvent(t, "outage-start", reply.status, reply.served_by))
                    emitter.emit("verify.soak.outage", f"{t:.1f} s: HTTP {reply.status} ({kind})", "warn")
        if now >= next_build:
            next_build += build_every
            reply = client.request("POST", f"/job/{shared}/build?delay=0sec", b"")
            result.builds_posted += 1
            if reply.status != 201:
                result.events.append(SoakEvent(t, "build-refused", reply.status, reply.served_by))
        if now >= next_change:
            next_change += change_every
            job = f"{prefix}-{len(created)}"
            if client.create_job(job).status == 200:
                created.append(job)
            if len(created) > 3:
                client.delete_job(created.pop(0))
            result.jobs_changed += 1
        time.sleep(max(0.0, min(next_probe, next_build, next_change) - time.monotonic()))
    end = round(time.monotonic() - start, 2)
    if outage_from is not None:
        result.outages.append((outage_from, end))
    result.broken = end - last_ok > BROKEN_TAIL
    result.build_collisions = collisions_logged(handle, result.started)
    result.owner_collisions = collisions_logged(handle, result.started, OWNER_COLLISION)
    state = handle.promoter_state() if handle.topology.promoter is not None else None
    result.promoter = (state or {}).get("builds") if state else None
    for job in [shared, *created]:
        client.delete_job(job)
    if result.broken:
        result.reasons.append(f"the lab did not serve in the last {BROKEN_TAIL:g} s (last 200 at {last_ok:.1f} s)")
    return result
