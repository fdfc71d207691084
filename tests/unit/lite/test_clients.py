"""The calls a CI script makes with python-jenkins and api4jenkins, against lite, answered as 2.190 answers them:
nodes, running builds, build info and console, queue, disable/enable/rename, plugins, quiet down, stop."""

from __future__ import annotations

import api4jenkins
import jenkins
import pytest
import requests

from labgen.wire import poll
from tests.unit.lite.support import ADMIN, PASSWORD, STRING_PARAMS, TOKEN, Instance, create, job_xml, wait_for

AUTH = (ADMIN, TOKEN)


def _pj(instance: Instance) -> jenkins.Jenkins:
    return jenkins.Jenkins(instance.url, username=ADMIN, password=PASSWORD, timeout=5)


def test_python_jenkins_nodes_and_running_builds(one: Instance) -> None:
    client = _pj(one)
    assert client.get_nodes() == [{"name": "master", "offline": False}]
    info = client.get_node_info("(master)")  # as in 2.190: computer/master is a 404
    assert info["_class"] == "hudson.model.Hudson$MasterComputer" and info["numExecutors"] == 2
    assert info["idle"] is True and len(info["executors"]) == 2
    assert client.get_running_builds() == []
    create(one, "runs", job_xml("echo go; sleep 30"))
    client.build_job("runs")
    wait_for(lambda: "go" in one.get("job/runs/1/consoleText", auth=AUTH).text)
    running = client.get_running_builds()
    assert running == [{"name": "runs", "number": 1, "url": one.url + "job/runs/1/", "node": "(master)", "executor": 0}]
    assert client.get_build_info("runs", 1)["building"] is True
    client.stop_build("runs", 1)
    one.wait_build("runs", 1)
    assert client.get_build_info("runs", 1)["result"] == "ABORTED"
    assert client.get_running_builds() == []


def test_python_jenkins_build_info_console_queue_and_params(one: Instance) -> None:
    client = _pj(one)
    client.create_job("p", job_xml("echo greeting=$GREETING", params=STRING_PARAMS))
    item_id = client.build_job("p", {"GREETING": "bonjour"})
    item = client.get_queue_item(item_id)
    assert item["id"] == item_id and item["task"]["name"] == "p"
    one.wait_queue_item_left(item_id)
    number = client.get_queue_item(item_id)["executable"]["number"]
    one.wait_build("p", number)
    build = client.get_build_info("p", number)
    assert build["result"] == "SUCCESS" and build["queueId"] == item_id and build["url"] == one.url + "job/p/1/"
    assert build["estimatedDuration"] == build["duration"]
    assert "greeting=bonjour" in client.get_build_console_output("p", number)
    info = client.get_job_info("p")
    assert [b["number"] for b in info["builds"]] == [1]
    assert info["lastBuild"]["number"] == info["lastCompletedBuild"]["number"] == info["lastStableBuild"]["number"] == 1
    assert info["nextBuildNumber"] == 2 and info["inQueue"] is False and info["queueItem"] is None
    assert client.get_queue_info() == []


def test_python_jenkins_queue_info_and_cancel(start: object, tmp_path: object) -> None:
    instance = start(tmp_path / "home", quiet_period=30)  # type: ignore[operator]
    client = _pj(instance)
    client.create_job("later", job_xml("true"))
    item_id = client.build_job("later")
    queued = client.get_queue_info()
    assert [(q["id"], q["task"]["name"], q["why"].startswith("In the quiet period")) for q in queued] == [
        (item_id, "later", True)
    ]
    assert client.get_job_info("later")["queueItem"]["id"] == item_id
    client.cancel_queue(item_id)
    assert client.get_queue_info() == []
    assert client.get_queue_item(item_id)["cancelled"] is True


def test_python_jenkins_disable_enable_rename_plugins_quiet_down(one: Instance) -> None:
    client = _pj(one)
    client.create_job("old", job_xml("true"))
    client.disable_job("old")
    info = client.get_job_info("old")
    assert info["color"] == "disabled" and info["buildable"] is False
    assert "<disabled>true</disabled>" in (one.home / "jobs" / "old" / "config.xml").read_text()
    with pytest.raises(requests.HTTPError, match="409"):
        client.build_job("old")  # not buildable
    client.enable_job("old")
    assert client.get_job_info("old")["buildable"] is True
    client.rename_job("old", "new")
    assert [j["name"] for j in client.get_jobs()] == ["new"]
    assert (one.home / "jobs" / "new" / "config.xml").exists() and not (one.home / "jobs" / "old").exists()
    plugins = client.get_plugins()
    assert plugins["mailer"]["version"] == "1.29" and plugins["Jenkins Mailer Plugin"]["active"] is True
    assert all(p["labgenFlavour"].startswith("lite") for p in plugins.values())
    client.quiet_down()
    assert client.get_info()["quietingDown"] is True


def _a4j(instance: Instance) -> api4jenkins.Jenkins:
    return api4jenkins.Jenkins(instance.url, auth=(ADMIN, PASSWORD), timeout=5)


def test_api4jenkins_builds_queue_nodes_and_output(one: Instance) -> None:
    j = _a4j(one)
    assert j.version == "2.190.2"
    j.create_job("a4j", job_xml("echo one; sleep 0.3; echo two"))
    job = j.get_job("a4j")
    assert type(job).__name__ == "FreeStyleProject"
    item = job.build()
    build = poll.wait_for(item.get_build, 10, interval=0.05)  # waiting item: found through the nodes' executors
    assert build is not None
    assert type(build).__name__ == "FreeStyleBuild" and build.url == one.url + "job/a4j/1/"
    assert [b.url for b in j.nodes.iter_builds()] == [build.url]
    one.wait_build("a4j", 1)  # progressive_output sleeps 1 s per request: ask once, when it is done
    lines = list(build.progressive_output())
    assert lines[-1] == "Finished: SUCCESS" and "two" in lines
    assert build.result == "SUCCESS" and build.building is False
    assert "one" in list(build.console_text())
    assert job.get_last_build() == build and job.get(1) == build
    assert [b.url for b in job] == [build.url]


def test_api4jenkins_disable_rename_queue_plugins_system(start: object, tmp_path: object) -> None:
    instance = start(tmp_path / "home", quiet_period=30)  # type: ignore[operator]
    j = _a4j(instance)
    j.create_job("x", job_xml("true"))
    job = j.get_job("x")
    job.disable()
    assert job.buildable is False
    job.enable()
    item = job.build()
    assert [q.id for q in j.queue] == [item.id]
    assert item._class == "hudson.model.Queue$WaitingItem"
    j.queue.cancel(item.id)
    assert list(j.queue) == []
    j.rename_job("x", "y")
    assert j.get_job("y") is not None and j.get_job("x") is None
    assert {p.url.rstrip("/").rsplit("/", 1)[1] for p in j.plugins} >= {"mailer", "credentials"}
    j.system.quiet_down()
    assert j.api_json(tree="quietingDown")["quietingDown"] is True
    j.system.cancel_quiet_down()
    assert j.api_json(tree="quietingDown")["quietingDown"] is False


def test_api4jenkins_stop(one: Instance) -> None:
    j = _a4j(one)
    j.create_job("s", job_xml("echo up; sleep 30"))
    j.build_job("s")
    wait_for(lambda: "up" in one.get("job/s/1/consoleText", auth=AUTH).text)
    build = j.get_job("s").get_last_build()
    assert build.building is True
    build.stop()
    assert one.wait_build("s", 1)["result"] == "ABORTED"
