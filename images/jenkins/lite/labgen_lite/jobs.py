"""Jobs and builds as lite keeps them in memory, and what makes a job name or a config.xml acceptable."""

from __future__ import annotations

import functools
import html
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, ItemsView, Iterable, Iterator, MutableMapping, ValuesView
from dataclasses import dataclass, field
from typing import Any

XML_HEADER = "<?xml version='1.1' encoding='UTF-8'?>\n"
UNSAFE_NAME_CHARS = "?*/\\%!@#$^&|<>[]:;"

# root element of a job's config.xml -> (item class, build class)
ITEM_CLASSES = {
    "project": ("hudson.model.FreeStyleProject", "hudson.model.FreeStyleBuild"),
    "flow-definition": (
        "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "org.jenkinsci.plugins.workflow.job.WorkflowRun",
    ),
}
DEFAULT_ITEM_CLASSES = ITEM_CLASSES["project"]
ESTIMATE_WALK = 6  # builds looked at, at most, for the estimated duration
RESULT_COLORS = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow", "ABORTED": "aborted"}

FREESTYLE_CONFIG = (
    XML_HEADER
    + """<project>
  <description></description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <scm class="hudson.scm.NullSCM"/>
  <canRoam>true</canRoam>
  <disabled>false</disabled>
  <blockBuildWhenDownstreamBuilding>false</blockBuildWhenDownstreamBuilding>
  <blockBuildWhenUpstreamBuilding>false</blockBuildWhenUpstreamBuilding>
  <triggers/>
  <concurrentBuild>false</concurrentBuild>
  <builders/>
  <publishers/>
  <buildWrappers/>
</project>
"""
)


@functools.lru_cache(maxsize=16384)
def _root_tag(config: bytes) -> str:
    """The root element of a config.xml (its item class); asked for every job of every listing."""
    match = re.search(rb"<([A-Za-z][\w.-]*)", re.sub(rb"<[?!][^>]*>", b"", config))
    return match.group(1).decode() if match else "project"


@dataclass
class Build:
    number: int
    result: str | None  # None while it runs
    timestamp: int  # ms since epoch
    duration: int  # ms; 0 while it runs
    queue_id: int = 0
    user: str = ""
    params: tuple[tuple[str, str], ...] = ()  # (name, value) from ParametersAction
    building: bool = False
    executor: int | None = None  # executor number while it runs
    description: str | None = None  # Run.doSubmitDescription
    keep_log: bool = False  # Run.doToggleLogKeep


# permalink name -> which builds it may point at (the newest of them)
PERMALINKS: dict[str, Callable[[Build], bool]] = {
    "lastBuild": lambda b: True,
    "lastCompletedBuild": lambda b: not b.building,
    "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
    "lastStableBuild": lambda b: b.result == "SUCCESS",
    "lastFailedBuild": lambda b: b.result == "FAILURE",
    "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
    "lastUnsuccessfulBuild": lambda b: not b.building and b.result != "SUCCESS",
}


class RunMap(MutableMapping[int, Build]):
    """A job's builds as Jenkins' RunMap (AbstractLazyLoadRunMap, LazyBuildMixIn) keeps them: loading a job
    only lists its builds folder (the numbers on disk, `loadNumberOnDisk`); a build's build.xml is read the
    first time that build is asked for, and a folder without a readable build.xml is dropped then, as
    Jenkins drops a build it cannot load. `numbers()`, `in` and `len` need no read (they count folders not
    read yet); iteration is newest first, as the RunMap's reverse order, and reads what it reaches."""

    def __init__(self, on_disk: Iterable[int] = (), load: Callable[[int], Build | None] | None = None) -> None:
        self._on_disk = set(on_disk)
        self._loaded: dict[int, Build] = {}
        self._load = load
        self._lock = threading.Lock()

    def __getitem__(self, number: int) -> Build:
        with self._lock:
            build = self._loaded.get(number)
            if build is not None:
                return build
            if number not in self._on_disk or self._load is None:
                raise KeyError(number)
            build = self._load(number)
            self._on_disk.discard(number)
            if build is None:
                raise KeyError(number)
            self._loaded[number] = build
            return build

    def __setitem__(self, number: int, build: Build) -> None:
        with self._lock:
            self._loaded[number] = build
            self._on_disk.discard(number)

    def __delitem__(self, number: int) -> None:
        with self._lock:
            if self._loaded.pop(number, None) is None and number not in self._on_disk:
                raise KeyError(number)
            self._on_disk.discard(number)

    def __contains__(self, number: object) -> bool:
        return number in self._loaded or number in self._on_disk

    def __iter__(self) -> Iterator[int]:
        """The numbers of the builds that load, newest first (reading each build.xml not read yet, as
        iterating Jenkins' RunMap does); `numbers()` lists them without reading."""
        return (build.number for build in self.newest())

    def __len__(self) -> int:
        with self._lock:
            return len(self._loaded) + len(self._on_disk)

    def items(self) -> ItemsView[int, Build]:
        return _LoadableItems(self)

    def values(self) -> ValuesView[Build]:
        return _LoadableValues(self)

    def numbers(self) -> list[int]:
        """Every build number, newest first, without reading a build.xml."""
        with self._lock:
            return sorted(self._loaded.keys() | self._on_disk, reverse=True)

    def newest(self) -> Iterator[Build]:
        """The builds newest first, each read from disk only when the walk reaches it (getPreviousBuild)."""
        for number in self.numbers():
            build = self.get(number)
            if build is not None:
                yield build

    def loaded(self) -> list[Build]:
        """The builds already in memory (every running build is): getLoadedBuilds, no read."""
        with self._lock:
            return list(self._loaded.values())

    def oldest(self) -> Build | None:
        """The oldest build that loads (getFirstBuild: the RunMap's oldestValue)."""
        for number in reversed(self.numbers()):
            build = self.get(number)
            if build is not None:
                return build
        return None


class _LoadableItems(ItemsView[int, Build]):
    """(number, build) newest first, skipping a folder whose build.xml cannot be read."""

    _mapping: RunMap

    def __iter__(self) -> Iterator[tuple[int, Build]]:
        return ((build.number, build) for build in self._mapping.newest())


class _LoadableValues(ValuesView[Build]):
    _mapping: RunMap

    def __iter__(self) -> Iterator[Build]:
        return self._mapping.newest()


@dataclass
class Job:
    name: str
    config: bytes
    next_build_number: int = 1
    builds: RunMap = field(default_factory=RunMap)
    # the API's bean of this job, by (root URL, name, config): its properties are read when exported, so
    # a list of 1,000 jobs is not built anew for each request (api.beans.job_bean)
    api_beans: dict[tuple[str, str, bytes], Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def root_tag(self) -> str:
        return _root_tag(self.config)

    @property
    def item_class(self) -> str:
        return ITEM_CLASSES.get(self.root_tag, DEFAULT_ITEM_CLASSES)[0]

    @property
    def build_class(self) -> str:
        return ITEM_CLASSES.get(self.root_tag, DEFAULT_ITEM_CLASSES)[1]

    @property
    def disabled(self) -> bool:
        return re.search(rb"<disabled>\s*true\s*</disabled>", self.config) is not None

    @property
    def description(self) -> str:
        match = re.search(rb"<description>(.*?)</description>", self.config, re.S)
        return html.unescape(match.group(1).decode("utf-8", "replace")) if match else ""

    @property
    def color(self) -> str:
        if self.disabled:
            return "disabled"
        last = self.last(lambda b: not b.building)
        color = RESULT_COLORS.get(last.result or "", "notbuilt") if last else "notbuilt"
        return color + "_anime" if self.building else color

    @property
    def building(self) -> bool:
        """A build of this job runs here (running builds are always in memory: no build.xml is read)."""
        return any(build.building for build in self.builds.loaded())

    @property
    def concurrent(self) -> bool:
        return re.search(rb"<concurrentBuild>\s*true\s*</concurrentBuild>", self.config) is not None

    @property
    def quiet_period(self) -> int | None:
        """The job's own `<quietPeriod>` (seconds), if it has one."""
        match = re.search(rb"<quietPeriod>\s*(\d+)\s*</quietPeriod>", self.config)
        return int(match.group(1)) if match else None

    def shell_steps(self) -> list[str]:
        """The commands of the job's `hudson.tasks.Shell` build steps, in order."""
        try:
            root = ET.fromstring(self.config)
        except ET.ParseError:
            return []
        return [step.findtext("command") or "" for step in root.findall("./builders/hudson.tasks.Shell")]

    def with_disabled(self, disabled: bool) -> bytes:
        """This job's config.xml with `<disabled>` set, as Jenkins saves it on disable/enable."""
        flag = b"<disabled>" + (b"true" if disabled else b"false") + b"</disabled>"
        if re.search(rb"<disabled>[^<]*</disabled>", self.config):
            return re.sub(rb"<disabled>[^<]*</disabled>", flag, self.config, count=1)
        return re.sub(rb"(<" + self.root_tag.encode() + rb"(\s[^>]*)?>)", rb"\1\n  " + flag, self.config, count=1)

    def estimated_duration(self) -> int:
        """Job.getEstimatedDuration: the mean of up to 3 recent successful (else failed) builds, or -1."""
        good: list[Build] = []
        failed: list[Build] = []
        last_good = self.last(PERMALINKS["lastSuccessfulBuild"])
        if last_good is not None:
            good.append(last_good)
        for walked, build in enumerate(self.builds.newest()):  # Job.getEstimatedDurationCandidates
            if len(good) >= 3 or walked >= ESTIMATE_WALK:
                break
            if build.building or build is last_good:
                continue
            if build.result in ("SUCCESS", "UNSTABLE"):
                good.append(build)
            elif build.result == "FAILURE":
                failed.append(build)
        picked = good + failed[: 3 - len(good)]
        return sum(b.duration for b in picked) // len(picked) if picked else -1

    def last(self, keep: Callable[[Build], bool]) -> Build | None:
        """The newest build that `keep` accepts: walks back from the newest, reading build.xml only as far
        as it must (Job.getLastSuccessfulBuild and the other permalinks walk getPreviousBuild the same way)."""
        return next((build for build in self.builds.newest() if keep(build)), None)

    def find_build(self, ref: str) -> Build | None:
        """A build by number, `firstBuild` or a permalink such as `lastSuccessfulBuild`."""
        if ref.isdigit():
            return self.builds.get(int(ref))
        if ref == "firstBuild":
            return self.builds.oldest()
        keep = PERMALINKS.get(ref)
        return self.last(keep) if keep else None


def check_job_name(name: str) -> str | None:
    """None if `name` is a good job name, else why not (after Jenkins.checkGoodName)."""
    if not name.strip():
        return "No name is specified"
    if name.strip() in (".", ".."):
        return f"'{name}' is not an allowed name"
    for char in name:
        if ord(char) < 32 or char in UNSAFE_NAME_CHARS:
            return f"'{char}' is an unsafe character"
    return None


def xml_problem(body: bytes) -> str | None:
    """None if `body` is well-formed XML, else a Jenkins-like complaint."""
    if not body.strip():
        return "Failed to parse XML: empty request body"
    try:
        ET.fromstring(body)
    except ET.ParseError as error:
        return f"Failed to parse XML: {error}"
    return None
