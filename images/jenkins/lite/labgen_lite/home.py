"""The JENKINS_HOME layout, as Jenkins keeps it, and how lite reads and writes it.

Only open/write/fsync/rename/mkdir/listdir/stat/unlink/rmdir are used: safe on a FUSE-mounted NFS share.
"""

from __future__ import annotations

import contextlib
import errno
import html
import math
import os
import re
import secrets
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labgen_lite.identity import PRODUCT
from labgen_lite.jobs import XML_HEADER, Build, Job, RunMap

BUILD_NUMBER = re.compile(r"[0-9]+")  # AbstractLazyLoadRunMap.BUILD_NUMBER: which names of builds/ are builds
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
JAVA_READ_CHUNK = 8192  # BufferedInputStream's default buffer, through which XStream and TextFile read


@dataclass(frozen=True)
class RootSettings:
    num_executors: int
    quiet_period: int


class BuildCollision(Exception):
    """The build directory already exists on disk: another master built that number."""


def write_durable(path: Path, data: bytes) -> None:
    """Plain open/write/fsync/close, as Java's FileOutputStream and FileDescriptor.sync do: nothing a
    FUSE-mounted NFS share could choke on.  (Python's open() also asks whether the file is a terminal:
    one more request on that mount, which Jenkins does not make.)"""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temporary file beside `path`, fsync it, rename it over `path`.

    Not labgen.wire.files.write_atomic: that one names the temporary file after the pid, and two
    masters in two containers (same pid there) write the same nextBuildNumber on the shared home
    at the same moment; it also chmods, one more SETATTR round trip on the FUSE mount."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write_durable(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_like_java(path: Path) -> bytes:
    """A whole file as Java's FileInputStream reads it: open, one fstat (its directory check), reads until
    EOF, close.  Path.read_bytes stats twice; on the home's FUSE mount each stat is a request."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        chunks = []
        while chunk := os.read(fd, JAVA_READ_CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _xml_int(text: str, tag: str, default: int = 0) -> int:
    match = re.search(rf"<{tag}>\s*(-?\d+)\s*</{tag}>", text)
    return int(match.group(1)) if match else default


def _xml_text(text: str, tag: str, default: str = "") -> str:
    match = re.search(rf"<{tag}>([^<]*)</{tag}>", text)
    return html.unescape(match.group(1).strip()) if match else default


class Home:
    """JENKINS_HOME on disk: config.xml, jobs/<name>/{config.xml,nextBuildNumber,builds/<n>/}."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs_dir = root / "jobs"

    def job_dir(self, name: str) -> Path:
        return self.jobs_dir / name

    def ensure_layout(self, version: str, agent_port: int) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "secrets").mkdir(exist_ok=True)
        config = self.root / "config.xml"
        if not config.exists():
            write_atomic(config, root_config_xml(version, agent_port).encode())

    def read_or_create_secret(self, name: str, make: Callable[[], str]) -> str:
        """A value shared by every instance on this home (created by the first one)."""
        path = self.root / "secrets" / name
        if not path.exists():
            write_atomic(path, (make() + "\n").encode())
        return path.read_text().strip()

    # ---- jobs and builds, read

    def load_jobs(self, concurrency: int | None = None) -> dict[str, Job]:
        """Every job of jobs/, as Jenkins.loadTasks loads them at start and at reload: the folder is listed
        (projectsDir.listFiles), then one "Loading item" task per entry runs on the init reactor's thread
        pool (jenkins.InitReactorRunner: a ThreadPoolExecutor of TWICE_CPU_NUM threads, 2 x the CPUs the JVM
        sees). A task that fails skips that job only (the task is notFatal)."""
        try:
            names = sorted(os.listdir(self.jobs_dir))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        workers = reactor_threads(concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="InitReactorRunner") as pool:
            loaded = list(pool.map(self._load_item, names))
        return {job.name: job for job in loaded if job is not None}

    def _load_item(self, name: str) -> Job | None:
        try:
            return self.load_job(name)
        except (OSError, ValueError):  # notFatal: Jenkins logs "Failed Loading item" and goes on
            return None

    def load_job(self, name: str) -> Job | None:
        """What Items.load reads of one job: config.xml (if it exists: else not a job), then Job.onLoad's
        nextBuildNumber, then LazyBuildMixIn.onLoad's RunMap, which lists builds/ and reads no build.xml.
        A nextBuildNumber at or below the newest build folder is raised past it (JENKINS-27530)."""
        directory = self.job_dir(name)
        config_file = directory / "config.xml"
        if not config_file.exists():  # Items.getConfigFile(subdir).exists()
            return None
        try:
            config = read_like_java(config_file)
        except (FileNotFoundError, NotADirectoryError):
            return None
        job = Job(name, config)
        counter = directory / "nextBuildNumber"
        number: int | None = None
        if counter.exists():  # Job.onLoad: getNextBuildNumberFile().exists(), then readTrim
            with contextlib.suppress(FileNotFoundError, ValueError):
                number = int(read_like_java(counter).decode().strip())
        job.builds = self.run_map(directory / "builds")
        newest_on_disk = max(job.builds.numbers(), default=0)
        job.next_build_number = 1 if number is None else number
        if number is None or job.next_build_number <= newest_on_disk:  # saveNextBuildNumber / updateNextBuildNumber
            job.next_build_number = max(job.next_build_number, newest_on_disk + 1)
            self.save_next_build_number(job)
        return job

    def run_map(self, builds_dir: Path) -> RunMap:
        """RunMap's loadNumberOnDisk: one listing of builds/; build.xml files are read when asked for."""
        try:
            entries = os.listdir(builds_dir)
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        numbers = [int(entry) for entry in entries if BUILD_NUMBER.fullmatch(entry)]
        return RunMap(numbers, lambda number: self._load_build(builds_dir / str(number), number))

    @staticmethod
    def _load_build(directory: Path, number: int) -> Build | None:
        try:
            text = read_like_java(directory / "build.xml").decode(errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None  # in progress elsewhere, or broken: Jenkins skips it as well
        return Build(
            number=number,
            result=_xml_text(text, "result", "FAILURE"),
            timestamp=_xml_int(text, "timestamp"),
            duration=_xml_int(text, "duration"),
            queue_id=_xml_int(text, "queueId"),
            user=_xml_text(text, "userId"),
            description=_xml_text(text, "description") or None,
            keep_log=_xml_text(text, "keepLog") == "true",
            params=tuple(
                (html.unescape(n), html.unescape(v))
                for n, v in re.findall(r"<name>([^<]*)</name>\s*<value>([^<]*)</value>", text)
            ),
        )

    # ---- jobs and builds, written

    def save_next_build_number(self, job: Job) -> None:
        write_atomic(self.job_dir(job.name) / "nextBuildNumber", f"{job.next_build_number}\n".encode())

    def write_job_config(self, name: str, config: bytes) -> None:
        directory = self.job_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / "config.xml", config)

    def claim_build_dir(self, job: Job, number: int) -> Path:
        """mkdir builds/<n>; an existing one means another master already built <n>."""
        builds_dir = self.job_dir(job.name) / "builds"
        builds_dir.mkdir(parents=True, exist_ok=True)
        directory = builds_dir / str(number)
        try:
            directory.mkdir()
        except FileExistsError:
            raise BuildCollision(
                f"JENKINS-23152: {directory} already existed; will not overwrite with {job.name} #{number}"
            ) from None
        return directory

    def write_build_xml(self, directory: Path, build: Build, version: str, node: str) -> None:
        write_durable(directory / "build.xml", build_xml(build, version, node).encode())

    def rename_job(self, old: str, new: str) -> None:
        os.rename(self.job_dir(old), self.job_dir(new))

    def root_settings(self) -> RootSettings:
        """numExecutors and quietPeriod of JENKINS_HOME/config.xml (Jenkins' defaults: 2 and 5)."""
        try:
            text = (self.root / "config.xml").read_text(errors="replace")
        except OSError:
            text = ""
        return RootSettings(_xml_int(text, "numExecutors", 2), _xml_int(text, "quietPeriod", 5))

    def delete_job(self, name: str) -> None:
        directory = self.job_dir(name)
        for parent, dirs, files in os.walk(directory, topdown=False):
            for file_name in files:
                os.unlink(os.path.join(parent, file_name))
            for dir_name in dirs:
                os.rmdir(os.path.join(parent, dir_name))
        os.rmdir(directory)


def reactor_threads(concurrency: int | None = None) -> int:
    """InitReactorRunner.TWICE_CPU_NUM: -Djenkins.InitReactorRunner.concurrency, else twice
    Runtime.availableProcessors(), which a container-aware JVM (8u191+, 11) bounds by the CPUs it may run
    on and by the cgroup's CPU quota (rounded up)."""
    if concurrency is not None and concurrency > 0:
        return concurrency
    return 2 * available_processors()


def available_processors(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    count = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(count, 1)


def root_config_xml(version: str, agent_port: int) -> str:
    return (
        XML_HEADER
        + f"""<!-- written by {PRODUCT}, a stand-in for Jenkins, NOT Jenkins -->
<hudson>
  <version>{html.escape(version)}</version>
  <numExecutors>2</numExecutors>
  <mode>NORMAL</mode>
  <quietPeriod>5</quietPeriod>
  <useSecurity>true</useSecurity>
  <securityRealm class="hudson.security.HudsonPrivateSecurityRealm">
    <disableSignup>true</disableSignup>
    <enableCaptcha>false</enableCaptcha>
  </securityRealm>
  <crumbIssuer class="hudson.security.csrf.DefaultCrumbIssuer">
    <excludeClientIPFromCrumb>false</excludeClientIPFromCrumb>
  </crumbIssuer>
  <slaveAgentPort>{agent_port}</slaveAgentPort>
  <primaryView>all</primaryView>
</hudson>
"""
    )


def build_xml(build: Build, version: str, node: str) -> str:
    user = html.escape(build.user)
    params_action = parameters_xml(build.params, "    ")
    description = f"\n  <description>{html.escape(build.description)}</description>" if build.description else ""
    return (
        XML_HEADER
        + f"""<!-- run by {PRODUCT} on {html.escape(node)}, NOT Jenkins -->
<build>
  <actions>
    <hudson.model.CauseAction>
      <causeBag class="linked-hash-map">
        <entry>
          <hudson.model.Cause_-UserIdCause>
            <userId>{user}</userId>
          </hudson.model.Cause_-UserIdCause>
          <int>1</int>
        </entry>
      </causeBag>
    </hudson.model.CauseAction>
{params_action}  </actions>
  <queueId>{build.queue_id}</queueId>
  <timestamp>{build.timestamp}</timestamp>
  <startTime>{build.timestamp}</startTime>
  <result>{build.result}</result>
  <duration>{build.duration}</duration>
  <charset>UTF-8</charset>
  <keepLog>{str(build.keep_log).lower()}</keepLog>{description}
  <builtOn></builtOn>
  <hudsonVersion>{html.escape(version)}</hudsonVersion>
  <scm class="hudson.scm.NullChangeLogParser"/>
  <culprits class="java.util.Collections$UnmodifiableSet"/>
</build>
"""
    )


def parameters_xml(params: tuple[tuple[str, str], ...], indent: str) -> str:
    """A ParametersAction of string values, as XStream writes it in build.xml and queue.xml ('' if none)."""
    if not params:
        return ""
    values = "".join(
        f"{indent}    <hudson.model.StringParameterValue>\n{indent}      <name>{html.escape(n)}</name>\n"
        f"{indent}      <value>{html.escape(v)}</value>\n{indent}    </hudson.model.StringParameterValue>\n"
        for n, v in params
    )
    return (
        f"{indent}<hudson.model.ParametersAction>\n{indent}  <parameters>\n{values}"
        f"{indent}  </parameters>\n{indent}</hudson.model.ParametersAction>\n"
    )
