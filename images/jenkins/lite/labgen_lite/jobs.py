"""Jobs and builds as lite keeps them in memory, and what makes a job name or a config.xml acceptable."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class Job:
    name: str
    config: bytes
    next_build_number: int = 1
    builds: dict[int, Build] = field(default_factory=dict)

    @property
    def root_tag(self) -> str:
        match = re.search(rb"<([A-Za-z][\w.-]*)", re.sub(rb"<[?!][^>]*>", b"", self.config))
        return match.group(1).decode() if match else "project"

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
        return any(build.building for build in self.builds.values())

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
        done = sorted((b for b in self.builds.values() if not b.building), key=lambda b: -b.number)
        good = [b for b in done if b.result in ("SUCCESS", "UNSTABLE")][:3]
        picked = good + [b for b in done if b.result == "FAILURE"][: 3 - len(good)]
        return sum(b.duration for b in picked) // len(picked) if picked else -1

    def last(self, keep: Callable[[Build], bool]) -> Build | None:
        matching = [n for n, b in self.builds.items() if keep(b)]
        return self.builds[max(matching)] if matching else None

    def find_build(self, ref: str) -> Build | None:
        """A build by number, `firstBuild` or a permalink such as `lastSuccessfulBuild`."""
        if ref.isdigit():
            return self.builds.get(int(ref))
        if ref == "firstBuild":
            return self.builds[min(self.builds)] if self.builds else None
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
