"""What lite reads from JENKINS_HOME when it loads the jobs (at start and at POST /reload), and that it reads
them in parallel, as Jenkins 2.190.2 does:

- jenkins.model.Jenkins.loadTasks: the jobs folder is listed, one "Loading item" task per entry;
- jenkins.InitReactorRunner: those tasks run on a ThreadPoolExecutor of TWICE_CPU_NUM threads
  (-Djenkins.InitReactorRunner.concurrency, else 2 x Runtime.availableProcessors());
- hudson.model.Items.load -> Job.onLoad -> LazyBuildMixIn.onLoad: config.xml, nextBuildNumber, and a RunMap
  that only lists builds/ (AbstractLazyLoadRunMap.loadNumberOnDisk); a build.xml is read when that build is
  first asked for.

What was opened is seen through Python's audit hooks ("open", "os.listdir"): the real reads of the real code
on a real directory, no mock.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from labgen.wire import poll

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "images" / "jenkins" / "lite"))

from labgen_lite import Config, LiteServer  # noqa: E402
from labgen_lite.config import Config as ConfigFromEnv  # noqa: E402
from labgen_lite.home import Home, available_processors, reactor_threads  # noqa: E402
from labgen_lite.jobs import FREESTYLE_CONFIG, Build  # noqa: E402

ADMIN, PASSWORD, TOKEN = "admin", "s3cret", "11aa22bb33cc44dd"


class Reads:
    """Every file opened and folder listed under `root` while recording, with the thread that did it."""

    _active: ClassVar[list[Reads]] = []
    _lock = threading.Lock()
    _installed = False

    def __init__(self, root: Path) -> None:
        self.root = str(root.resolve())
        self.events: list[tuple[str, str, str]] = []  # (kind, path relative to root, thread name)

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not cls._active or not args:
            return
        path = args[0]
        if not isinstance(path, str | os.PathLike):
            return
        path = os.path.abspath(os.fspath(path))
        with cls._lock:
            for reads in cls._active:
                if path == reads.root or path.startswith(reads.root + os.sep):
                    relative = os.path.relpath(path, reads.root)
                    kind = "open" if event == "open" else "list"
                    reads.events.append((kind, relative, threading.current_thread().name))

    def __enter__(self) -> Reads:
        with Reads._lock:
            if not Reads._installed:
                sys.addaudithook(Reads._hook)
                Reads._installed = True
            Reads._active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with Reads._lock:
            Reads._active.remove(self)

    def opened(self) -> set[str]:
        return {path for kind, path, _ in self.events if kind == "open"}

    def listed(self) -> set[str]:
        return {path for kind, path, _ in self.events if kind == "list"}


def seed(home: Home, jobs: int, builds: int, results: tuple[str, ...] = ("SUCCESS",), first: int = 0) -> None:
    """Jobs job-<first>.. job-<jobs - 1> with `builds` finished builds each, written as lite writes them."""
    for j in range(first, jobs):
        name = f"job-{j:03d}"
        home.write_job_config(name, FREESTYLE_CONFIG.encode())
        for number in range(1, builds + 1):
            build = Build(number, results[(number - 1) % len(results)], 1_700_000_000_000 + number, 10 * number)
            directory = home.claim_build_dir(home.load_job(name) or _fail(name), number)
            home.write_build_xml(directory, build, "2.190.2", "jenkins01")
        (home.job_dir(name) / "nextBuildNumber").write_text(f"{builds + 1}\n")


def _fail(name: str) -> Any:
    raise AssertionError(f"{name} did not load")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    home.ensure_layout("2.190.2", 0)
    return home


def test_loading_reads_each_config_and_next_build_number_and_lists_builds_but_reads_no_build_xml(home: Home) -> None:
    seed(home, jobs=4, builds=5)
    with Reads(home.root) as reads:
        jobs = home.load_jobs()
    assert sorted(jobs) == [f"job-{j:03d}" for j in range(4)]
    expected = {f"jobs/{name}/{file}" for name in jobs for file in ("config.xml", "nextBuildNumber")}
    assert reads.opened() == expected  # not one build.xml
    assert reads.listed() == {"jobs"} | {f"jobs/{name}/builds" for name in jobs}
    for job in jobs.values():
        assert job.builds.numbers() == [5, 4, 3, 2, 1] and len(job.builds) == 5
        assert job.next_build_number == 6
        assert job.builds.loaded() == []


def test_a_build_xml_is_read_when_that_build_is_asked_for_and_only_as_far_back_as_needed(home: Home) -> None:
    seed(home, jobs=1, builds=5, results=("SUCCESS", "SUCCESS", "FAILURE", "FAILURE", "FAILURE"))
    job = home.load_jobs()["job-000"]
    with Reads(home.root) as reads:
        last = job.find_build("lastBuild")
    assert last is not None and last.number == 5 and last.result == "FAILURE"
    assert reads.opened() == {"jobs/job-000/builds/5/build.xml"}
    with Reads(home.root) as reads:
        good = job.find_build("lastSuccessfulBuild")  # walks back 5 (in memory), 4, 3, 2
    assert good is not None and good.number == 2
    assert reads.opened() == {f"jobs/job-000/builds/{n}/build.xml" for n in (4, 3, 2)}
    with Reads(home.root) as reads:
        assert job.color == "red"  # the newest completed build: already in memory
        assert job.building is False
    assert reads.opened() == set()
    assert sorted(b.number for b in job.builds.loaded()) == [2, 3, 4, 5]


def test_a_build_folder_without_build_xml_is_listed_then_dropped_when_asked_for(home: Home) -> None:
    """A build that ran on a killed master: its folder and number exist, its build.xml does not."""
    seed(home, jobs=1, builds=2)
    (home.job_dir("job-000") / "builds" / "3").mkdir()
    (home.job_dir("job-000") / "builds" / "lastSuccessfulBuild").mkdir()  # not a number: not a build
    job = home.load_jobs()["job-000"]
    assert job.builds.numbers() == [3, 2, 1]
    assert job.next_build_number == 4  # nextBuildNumber said 3, at or below builds/3: raised (JENKINS-27530)
    assert (home.job_dir("job-000") / "nextBuildNumber").read_text().strip() == "4"
    last = job.find_build("lastBuild")
    assert last is not None and last.number == 2
    assert 3 not in job.builds and list(job.builds) == [2, 1]
    assert [n for n, _ in job.builds.items()] == [2, 1]


def test_a_missing_next_build_number_is_written_past_the_newest_build(home: Home) -> None:
    seed(home, jobs=1, builds=3)
    (home.job_dir("job-000") / "nextBuildNumber").unlink()
    job = home.load_jobs()["job-000"]
    assert job.next_build_number == 4
    assert (home.job_dir("job-000") / "nextBuildNumber").read_text().strip() == "4"


def test_a_folder_without_config_xml_is_not_a_job(home: Home) -> None:
    seed(home, jobs=2, builds=0)
    (home.jobs_dir / "stray").mkdir()
    (home.jobs_dir / "broken").mkdir()
    (home.jobs_dir / "broken" / "config.xml").mkdir()  # unreadable: that task fails, the others load
    assert sorted(home.load_jobs()) == ["job-000", "job-001"]


def test_jobs_are_loaded_by_a_pool_of_exactly_the_reactor_s_size(home: Home) -> None:
    """config.xml files are FIFOs here: each open blocks until the test writes it, so the number of opens
    in flight at once is the number of loader threads. With 4 threads and 10 jobs: 4 at once, never 5."""
    names = [f"job-{j:02d}" for j in range(10)]
    for name in names:
        home.job_dir(name).mkdir(parents=True)
        os.mkfifo(home.job_dir(name) / "config.xml")
    loaded: dict[str, Any] = {}
    with Reads(home.root) as reads:
        loader = threading.Thread(target=lambda: loaded.update(home.load_jobs(4)))
        loader.start()
        fed: set[str] = set()
        most_in_flight = 0
        deadline = time.monotonic() + 20
        while loader.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)  # let every free thread reach its open()
            opened = {p for p in reads.opened() if p.endswith("config.xml")}
            most_in_flight = max(most_in_flight, len(opened - fed))
            for path in sorted(opened - fed):
                with open(home.root / path, "wb") as fifo:
                    fifo.write(FREESTYLE_CONFIG.encode())
                fed.add(path)
        loader.join(5)
    assert not loader.is_alive(), "the load did not finish"
    assert sorted(loaded) == names
    assert most_in_flight == 4
    me = threading.current_thread().name  # the test's own opens, to write the FIFOs
    threads = {thread for _, path, thread in reads.events if path.endswith("config.xml") and thread != me}
    assert len(threads) == 4 and all(t.startswith("InitReactorRunner") for t in threads)


def test_the_pool_size_is_jenkins_twice_the_cpus_unless_set(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    assert available_processors(cpu_max) == cpus
    cpu_max.write_text("50000 100000\n")  # half a CPU: the JVM rounds up to 1
    assert available_processors(cpu_max) == 1
    cpu_max.write_text(f"{cpus * 300000} 100000\n")  # a quota above the CPUs it may run on
    assert available_processors(cpu_max) == cpus
    assert available_processors(tmp_path / "absent") == cpus
    assert reactor_threads() == 2 * available_processors()
    assert reactor_threads(7) == 7
    opts = {"JAVA_OPTS": "-Djenkins.InitReactorRunner.concurrency=7"}
    assert ConfigFromEnv.from_env(opts).load_concurrency == 7
    assert ConfigFromEnv.from_env({"JAVA_OPTS": "-Djenkins.model.Jenkins.parallelLoad=false"}).load_concurrency == 1
    assert ConfigFromEnv.from_env({}).load_concurrency is None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    home = Home(tmp_path / "home")
    home.ensure_layout("2.190.2", 0)
    seed(home, jobs=3, builds=5)
    config = Config(
        home=home.root,
        http_port=0,
        http_host="127.0.0.1",
        agent_port=0,
        node_name="jenkins01",
        reload_seconds=0.1,
        admin_user=ADMIN,
        admin_password=PASSWORD,
        admin_token=TOKEN,
        quiet_period=0,
    )
    lite = LiteServer(config, poll_interval=0.02)
    lite.start()
    yield lite
    lite.stop()


def test_post_reload_reads_what_jenkins_reload_reads(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Jenkins.reload: queue.save, loadTasks (global config.xml, then every item), queue.load."""
    url = f"http://127.0.0.1:{server.http_port}/"
    root = server.app.home.root
    seed(server.app.home, jobs=5, builds=5, first=3)  # two more jobs written behind the master's back
    with Reads(root) as reads:
        answer = requests.post(url + "reload", auth=(ADMIN, TOKEN), allow_redirects=False, timeout=5)
        assert answer.status_code == 302
        serving = poll.wait_for(lambda: requests.get(url + "login", timeout=5).status_code != 503, 10, interval=0.02)
        assert serving, "still reloading"
    opened = reads.opened()
    jobs = [f"job-{j:03d}" for j in range(5)]
    expected = {f"jobs/{n}/{f}" for n in jobs for f in ("config.xml", "nextBuildNumber")}
    assert expected <= opened
    assert {"config.xml", "queue.xml"} <= opened  # the global config; queue.xml written, then read back
    assert not any(path.endswith("build.xml") for path in opened)
    assert {f"jobs/{n}/builds" for n in jobs} <= reads.listed()
    assert sorted(server.app.jobs) == jobs
    assert "5 job(s) read" in capsys.readouterr().out
    listing = requests.get(url + "api/json?tree=jobs[name,color]", auth=(ADMIN, TOKEN), timeout=5).json()
    assert {job["color"] for job in listing["jobs"]} == {"blue"}
