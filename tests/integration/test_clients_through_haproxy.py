"""The Jenkins clients a CI script uses (python-jenkins, api4jenkins) against a default lab, through
HAProxy: the calls answer as Jenkins 2.190 answers them, the URLs in the answers are the lab's own
(HAProxy's address, not a master's), and the same client keeps working across a failover when it
authenticates with the API token."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import api4jenkins
import jenkins
import pytest
import requests

from labgen.chaos import apply
from labgen.lab.handle import LabHandle
from tests.integration.conftest import RunningLab, requires_docker, running_lab
from tests.integration.support import job_xml, wait_until

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "cl")


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-clients") as running:
        yield running


def base_url(lab: RunningLab) -> str:
    return f"http://127.0.0.1:{lab.lab.ports.http}/"


def python_jenkins(lab: RunningLab, *, password: bool = False) -> jenkins.Jenkins:
    s = lab.secrets
    secret = s["JENKINS_ADMIN_PASSWORD"] if password else s["JENKINS_ADMIN_TOKEN"]
    return jenkins.Jenkins(base_url(lab), username=s["JENKINS_ADMIN_USER"], password=secret, timeout=15)


def a4j(lab: RunningLab, *, password: bool = False) -> api4jenkins.Jenkins:
    s = lab.secrets
    secret = s["JENKINS_ADMIN_PASSWORD"] if password else s["JENKINS_ADMIN_TOKEN"]
    return api4jenkins.Jenkins(base_url(lab), auth=(s["JENKINS_ADMIN_USER"], secret), timeout=15)


def finished(server: jenkins.Jenkins, job: str, number: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        build: dict[str, Any] = server.get_build_info(job, number)
        return None if build["building"] else build

    return wait_until(done, what=f"{job} #{number}")


def build_number(server: jenkins.Jenkins, item_id: int) -> int:
    executable = wait_until(lambda: server.get_queue_item(item_id).get("executable"), what=f"queue item {item_id}")
    return int(executable["number"])


def test_python_jenkins_through_haproxy(lab: RunningLab) -> None:
    server = python_jenkins(lab)
    url = base_url(lab)
    # whoami first: python-jenkins sends its credentials only from its first jenkins_open on, and
    # get_version() as a first call asks anonymously, which 2.190 (and lite) answer with 403 here
    assert server.get_whoami()["id"] == lab.secrets["JENKINS_ADMIN_USER"]
    assert server.get_version() == "2.190.2"
    server.create_job("pj-params", job_xml("echo greeting=$GREETING", params=True))
    number = build_number(server, server.build_job("pj-params", {"GREETING": "bonjour"}))
    info = finished(server, "pj-params", number)
    assert info["result"] == "SUCCESS" and info["url"] == f"{url}job/pj-params/{number}/"
    assert "greeting=bonjour" in server.get_build_console_output("pj-params", number)
    assert server.get_job_info("pj-params")["url"] == f"{url}job/pj-params/"
    assert server.get_nodes() == [{"name": "master", "offline": False}]

    server.create_job("pj-long", job_xml("echo started; sleep 60"))
    long_number = build_number(server, server.build_job("pj-long"))
    running = wait_until(server.get_running_builds, what="a running build")
    assert [(r["name"], r["number"]) for r in running] == [("pj-long", long_number)]
    server.stop_build("pj-long", long_number)
    assert finished(server, "pj-long", long_number)["result"] == "ABORTED"

    server.disable_job("pj-params")
    assert server.get_job_info("pj-params")["buildable"] is False
    with pytest.raises(requests.HTTPError, match="409"):
        server.build_job("pj-params", {"GREETING": "x"})  # a disabled job is not buildable (as 2.190)
    server.enable_job("pj-params")
    server.rename_job("pj-long", "pj-renamed")
    names = {job["name"] for job in server.get_jobs()}
    assert {"pj-params", "pj-renamed"} <= names and "pj-long" not in names
    assert "mailer" in server.get_plugins()


def test_api4jenkins_with_a_password_and_crumbs_through_haproxy(lab: RunningLab) -> None:
    j = a4j(lab, password=True)  # a password, not a token: every POST needs a session-bound crumb
    url = base_url(lab)
    assert j.version == "2.190.2"
    j.create_job("a4j-job", job_xml("echo one; echo two"))
    job = j.get_job("a4j-job")
    item = job.build()
    build = wait_until(item.get_build, what="the build of the queue item")
    assert build.url.startswith(f"{url}job/a4j-job/")
    wait_until(lambda: build.result == "SUCCESS", what="SUCCESS")
    assert "two" in list(build.console_text())
    j.system.quiet_down()
    assert j.api_json(tree="quietingDown")["quietingDown"] is True
    j.system.cancel_quiet_down()
    assert j.api_json(tree="quietingDown")["quietingDown"] is False


def _other_than(master: str | None, old: str) -> str | None:
    return master if master not in (None, old) else None


def test_a_token_client_keeps_working_across_a_failover(lab: RunningLab) -> None:
    server = python_jenkins(lab)
    server.create_job("survivor", job_xml("echo before"))
    first = build_number(server, server.build_job("survivor"))
    assert finished(server, "survivor", first)["result"] == "SUCCESS"
    handle = LabHandle.open(lab.name)
    old = handle.active_master(None)
    assert old is not None
    apply(handle, "kill", old)
    new = wait_until(lambda: _other_than(handle.active_master(None), old), timeout=60, what="a new active")

    # the same client object, the same URL: the job, its finished build, and a new build on the new master
    assert server.job_exists("survivor")
    assert finished(server, "survivor", first)["result"] == "SUCCESS"
    second = build_number(server, server.build_job("survivor"))
    assert second > first  # no JENKINS-23152 collision with the dead master's numbers
    assert "before" in server.get_build_console_output("survivor", finished(server, "survivor", second)["number"])
    assert handle.active_master(None) == new
