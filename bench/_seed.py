"""Homes of many jobs with build history, for bench/scale.py and tests/integration/test_scale.py.

Jobs are created through HAProxy (`createItem`, as a client does). Build history comes two ways: real
builds through HAProxy (`POST job/N/build?delay=0sec`, the job has no build step), or, where that is too
slow for thousands of jobs, finished build folders written onto JENKINS_HOME from inside a master, in the
format lite writes and Jenkins reads (`builds/<n>/build.xml`, then `nextBuildNumber`; no console log), with
lite's own writer (labgen_lite.home.build_xml). Such jobs are never built by a running master afterwards:
the active master does not know their history until it reloads, as a Jenkins would not.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient


class SeedError(RuntimeError):
    """The home could not be filled as asked (an answer or a write went wrong)."""


@dataclass(frozen=True)
class Timed:
    count: int
    seconds: float
    retried: int = 0  # requests that got an answer but the expected one and were sent again

    @property
    def per_s(self) -> float | None:
        return round(self.count / self.seconds, 1) if self.count and self.seconds > 0 else None


def job_names(prefix: str, first: int, count: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(first, first + count)]


def create_jobs(client: JenkinsClient, names: Sequence[str], retries: int = 3) -> Timed:
    """Each job created in turn through HAProxy. An answer but 200 is retried (after checking that the job
    does not exist) up to `retries` times in all; then the seeding stops. Retries are counted."""
    started = time.monotonic()
    retried = 0
    for name in names:
        for attempt in range(retries + 1):
            reply = client.create_job(name, description="labgen scale")
            if reply.status == 200 or (attempt and _exists(client, name)):
                break
            if retried >= retries:
                raise SeedError(f"create {name}: HTTP {reply.status} {reply.error or reply.body[:200]!r}")
            retried += 1
            time.sleep(1.0)
    return Timed(len(names), time.monotonic() - started, retried)


def _exists(client: JenkinsClient, name: str) -> bool:
    return client.request("GET", f"/job/{urllib.parse.quote(name)}/api/json?tree=name").status == 200


def run_builds(client: JenkinsClient, names: Sequence[str], per_job: int, timeout: float = 600.0) -> Timed:
    """`per_job` real builds of each job: a round queues one build of every job (no quiet period), then waits
    until each has completed it (a request for a job still in the queue would be merged into that item)."""
    started = time.monotonic()
    deadline = started + timeout
    for round_number in range(1, per_job + 1):
        for name in names:
            reply = client.request("POST", f"/job/{urllib.parse.quote(name)}/build?delay=0sec", b"")
            if reply.status != 201:
                raise SeedError(f"build {name}: HTTP {reply.status} {reply.error or ''}")
        for name in names:
            while _last_completed(client, name) < round_number:
                if time.monotonic() > deadline:
                    raise SeedError(f"{name} #{round_number} had not completed after {timeout:.0f} s")
                time.sleep(0.05)
    return Timed(len(names) * per_job, time.monotonic() - started)


def _last_completed(client: JenkinsClient, name: str) -> int:
    reply = client.request("GET", f"/job/{urllib.parse.quote(name)}/api/json?tree=lastCompletedBuild[number]")
    if reply.status != 200:
        return 0
    try:
        return int((json.loads(reply.body).get("lastCompletedBuild") or {}).get("number") or 0)
    except (ValueError, TypeError, AttributeError):
        return 0


# Runs inside a master (labgen_lite is on its PYTHONPATH): finished builds 1..BUILDS of each job named
# PREFIX-<i> for i in FIRST..FIRST+COUNT-1, written with lite's writer, by 8 threads. Only build.xml, what
# loading a build reads (no console `log`: half the NFS operations, and only a build's console page reads it).
_WRITE_HISTORY = r"""
import os, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from labgen_lite.home import Home, build_xml, write_atomic, write_durable
from labgen_lite.jobs import Build

home = Home(Path(os.environ["JENKINS_HOME"]))
prefix, first = os.environ["PREFIX"], int(os.environ["FIRST"])
count, builds = int(os.environ["COUNT"]), int(os.environ["BUILDS"])
now = int(time.time() * 1000)

def write(i):
    name = f"{prefix}-{i:05d}"
    directory = home.job_dir(name)
    if not (directory / "config.xml").exists():
        raise SystemExit(f"{name}: no such job on the home")
    (directory / "builds").mkdir(exist_ok=True)
    for number in range(1, builds + 1):
        folder = directory / "builds" / str(number)
        folder.mkdir()
        build = Build(number, "SUCCESS", now - (builds - number) * 60000, 5, user="admin")
        write_durable(folder / "build.xml", build_xml(build, "2.190.2", "bench").encode())
    write_atomic(directory / "nextBuildNumber", f"{builds + 1}\n".encode())

with ThreadPoolExecutor(8) as pool:
    list(pool.map(write, range(first, first + count)))
print(count * builds)
"""


def write_history(handle: LabHandle, master: str, prefix: str, first: int, count: int, builds: int) -> Timed:
    """Finished builds 1..`builds` of jobs PREFIX-<first>.. written onto the home from inside `master`."""
    if count <= 0 or builds <= 0:
        return Timed(0, 0.0)
    started = time.monotonic()
    env = {"PREFIX": prefix, "FIRST": str(first), "COUNT": str(count), "BUILDS": str(builds)}
    code, output = handle.exec_in(master, ["python3", "-c", _WRITE_HISTORY], env=env)
    if code != 0:
        raise SeedError(f"writing build history in {master} failed (exit {code}): {output[-500:]}")
    return Timed(count * builds, time.monotonic() - started)
