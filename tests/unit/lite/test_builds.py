"""lite runs freestyle builds as Jenkins 2.190 does on its built-in node: shell steps, a log streamed to the
build folder, build.xml at the end, 2 executors, a queue with quiet period, blocking and parameters, stop."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.lite.support import ADMIN, STRING_PARAMS, TOKEN, Instance, create, job_xml, queue_id, wait_for

AUTH = (ADMIN, TOKEN)


def test_shell_steps_run_in_the_workspace_and_log_like_jenkins(one: Instance) -> None:
    create(one, "hello", job_xml("echo hello $BUILD_NUMBER from $JOB_NAME", "echo made &gt; made.txt"))
    assert one.post("job/hello/build", auth=AUTH).status_code == 201
    build = one.wait_build("hello", 1)
    assert build["result"] == "SUCCESS" and build["building"] is False and build["executor"] is None
    assert build["_class"] == "hudson.model.FreeStyleBuild" and build["duration"] >= 0
    log = one.get("job/hello/1/consoleText", auth=AUTH).text
    workspace = one.home / "workspace" / "hello"
    lines = log.splitlines()
    assert lines[:3] == ["Started by user admin", "Running as SYSTEM", f"Building in workspace {workspace}"]
    assert re.fullmatch(r"\[hello\] \$ /bin/sh -xe /\S+/jenkins\S*\.sh", lines[3])
    assert "+ echo hello 1 from hello" in lines and "hello 1 from hello" in lines
    assert lines[-1] == "Finished: SUCCESS"
    assert (workspace / "made.txt").read_text() == "made\n"
    assert log == (one.home / "jobs" / "hello" / "builds" / "1" / "log").read_text()
    assert "<result>SUCCESS</result>" in (one.home / "jobs" / "hello" / "builds" / "1" / "build.xml").read_text()
    assert one.get("job/hello/api/json", auth=AUTH).json()["color"] == "blue"


def test_a_failing_step_fails_the_build_and_stops_it(one: Instance) -> None:
    create(one, "bad", job_xml("echo before; exit 3", "echo never"))
    one.post("job/bad/build", auth=AUTH)
    assert one.wait_build("bad", 1)["result"] == "FAILURE"
    log = one.get("job/bad/lastBuild/consoleText", auth=AUTH).text
    assert "Build step 'Execute shell' marked build as failure\nFinished: FAILURE\n" in log
    assert "never" not in log
    info = one.get("job/bad/api/json", auth=AUTH).json()
    assert info["color"] == "red" and info["lastFailedBuild"]["number"] == 1 and info["lastSuccessfulBuild"] is None


def test_log_streams_while_running_and_build_xml_comes_last(one: Instance) -> None:
    create(one, "slow", job_xml("echo first; sleep 0.4; echo second"))
    one.post("job/slow/build", auth=AUTH)
    folder = one.home / "jobs" / "slow" / "builds" / "1"
    wait_for(lambda: "first" in one.get("job/slow/1/consoleText", auth=AUTH).text)
    running = one.get("job/slow/1/api/json", auth=AUTH).json()
    assert running["building"] is True and running["result"] is None and running["duration"] == 0
    assert running["executor"] == {"_class": "hudson.model.Executor"}
    assert one.get("job/slow/1/api/json?depth=1", auth=AUTH).json()["executor"]["currentExecutable"]["number"] == 1
    assert not (folder / "build.xml").exists()  # written at the end only
    assert (one.home / "jobs" / "slow" / "nextBuildNumber").read_text().strip() == "2"  # saved at start
    job = one.get("job/slow/api/json", auth=AUTH).json()
    assert job["color"] == "notbuilt_anime" and job["lastBuild"]["number"] == 1 and job["lastCompletedBuild"] is None
    progressive = one.get("job/slow/1/logText/progressiveText?start=0", auth=AUTH)
    assert progressive.headers["X-More-Data"] == "true" and "second" not in progressive.text
    size = int(progressive.headers["X-Text-Size"])
    one.wait_build("slow", 1)
    rest = one.get(f"job/slow/1/logText/progressiveText?start={size}", auth=AUTH)
    assert "X-More-Data" not in rest.headers and "second" in rest.text and rest.text.endswith("Finished: SUCCESS\n")
    assert (folder / "build.xml").exists()
    assert one.get("job/slow/api/json", auth=AUTH).json()["lastCompletedBuild"]["number"] == 1


def test_stop_aborts_a_running_build(one: Instance) -> None:
    create(one, "long", job_xml("echo started; sleep 30; echo never"))
    one.post("job/long/build", auth=AUTH)
    wait_for(lambda: "started" in one.get("job/long/1/consoleText", auth=AUTH).text)
    began = time.monotonic()
    stop = one.post("job/long/1/stop", auth=AUTH)
    assert stop.status_code == 302
    build = one.wait_build("long", 1)
    assert time.monotonic() - began < 3
    assert build["result"] == "ABORTED"
    log = one.get("job/long/1/consoleText", auth=AUTH).text
    assert log.endswith("Build was aborted\nAborted by admin\nFinished: ABORTED\n") and "never" not in log
    assert one.get("job/long/api/json", auth=AUTH).json()["color"] == "aborted"
    assert one.get("job/long/1/stop", auth=AUTH).status_code == 405  # POST only


def test_parameters_through_build_with_parameters_and_build(one: Instance) -> None:
    create(one, "greet", job_xml("echo said=$GREETING loud=$LOUD", params=STRING_PARAMS))
    info = one.get("job/greet/api/json", auth=AUTH).json()
    definition = info["property"][0]["parameterDefinitions"][0]
    assert definition["name"] == "GREETING" and definition["defaultParameterValue"]["value"] == "hello"
    assert one.post("job/greet/buildWithParameters?GREETING=hi%20there", auth=AUTH).status_code == 201
    build = one.wait_build("greet", 1)
    assert "said=hi there loud=false" in one.get("job/greet/1/consoleText", auth=AUTH).text
    action = next(a for a in build["actions"] if a.get("_class") == "hudson.model.ParametersAction")
    # BooleanParameterValue exports `value` as a boolean (@Exported(visibility=4) public final boolean value)
    assert {p["name"]: p["value"] for p in action["parameters"]} == {"GREETING": "hi there", "LOUD": False}
    # `build` of a parameterized job takes the form's json field, as the web form sends it
    form = {"json": '{"parameter": [{"name": "GREETING", "value": "form"}]}'}
    assert one.post("job/greet/build", auth=AUTH, data=form).status_code == 201
    one.wait_build("greet", 2)
    assert "said=form loud=false" in one.get("job/greet/2/consoleText", auth=AUTH).text
    assert one.post("job/greet/build", auth=AUTH).status_code == 400  # nothing submitted
    create(one, "plain", job_xml("true"))
    assert one.post("job/plain/buildWithParameters?X=1", auth=AUTH).status_code == 500  # not parameterized


def test_two_executors_and_a_real_queue(one: Instance) -> None:
    for name, pause in (("a", 0.6), ("b", 0.6), ("c", 0.05)):
        create(one, name, job_xml(f"sleep {pause}"))
    items = [queue_id(one.post(f"job/{name}/build", auth=AUTH)) for name in ("a", "b", "c")]
    assert len(set(items)) == 3
    wait_for(lambda: one.get("computer/api/json", auth=AUTH).json()["busyExecutors"] == 2)
    queued = one.get("queue/api/json", auth=AUTH).json()["items"]
    assert [i["task"]["name"] for i in queued] == ["c"]
    assert queued[0]["_class"] == "hudson.model.Queue$BuildableItem" and queued[0]["buildable"] is True
    assert queued[0]["why"] == "Waiting for next available executor"
    assert one.get("job/c/api/json", auth=AUTH).json()["inQueue"] is True
    one.wait_build("c", 1)
    left = one.get(f"queue/item/{items[2]}/api/json", auth=AUTH).json()
    assert left["_class"] == "hudson.model.Queue$LeftItem" and left["executable"]["number"] == 1
    assert left["cancelled"] is False


def test_a_job_that_is_building_blocks_its_next_item(one: Instance) -> None:
    create(one, "solo", job_xml("case $GREETING in one) sleep 0.6;; esac", params=STRING_PARAMS))
    one.post("job/solo/buildWithParameters?GREETING=one", auth=AUTH)
    wait_for(lambda: one.get("job/solo/api/json", auth=AUTH).json()["color"].endswith("_anime"))
    second = queue_id(one.post("job/solo/buildWithParameters?GREETING=two", auth=AUTH))
    wait_for(lambda: one.get(f"queue/item/{second}/api/json", auth=AUTH).json()["blocked"])
    item = one.get(f"queue/item/{second}/api/json", auth=AUTH).json()
    assert item["_class"] == "hudson.model.Queue$BlockedItem"
    assert item["why"].startswith("Build #1 is already in progress")
    assert item["params"] == "\nGREETING=two\nLOUD=false"
    one.wait_build("solo", 2)


def test_quiet_period_from_config_xml_and_cancel(start: Callable[..., Instance], tmp_path: Path) -> None:
    instance = start(tmp_path / "home", quiet_period=None)  # a fresh config.xml says <quietPeriod>5</quietPeriod>
    create(instance, "q", job_xml("true"))
    first = queue_id(instance.post("job/q/build", auth=AUTH))
    again = queue_id(instance.post("job/q/build", auth=AUTH))
    assert again == first  # the job is already queued: the request joins that item
    item = instance.get(f"queue/item/{first}/api/json", auth=AUTH).json()
    assert item["_class"] == "hudson.model.Queue$WaitingItem"
    assert re.fullmatch(r"In the quiet period\. Expires in [45](\.\d)? sec", item["why"])
    cancel = instance.post(f"queue/cancelItem?id={first}", auth=AUTH, headers={"Referer": instance.url})
    assert cancel.status_code == 302
    cancelled = instance.get(f"queue/item/{first}/api/json", auth=AUTH).json()
    assert cancelled["_class"] == "hudson.model.Queue$LeftItem" and cancelled["cancelled"] is True
    assert cancelled["executable"] is None
    assert instance.get("queue/api/json", auth=AUTH).json()["items"] == []
    # delay=0sec skips the quiet period
    instance.post("job/q/build?delay=0sec", auth=AUTH)
    assert instance.wait_build("q", 1)["result"] == "SUCCESS"


@pytest.mark.parametrize("path", ["job/x/disable", "job/x/enable", "job/x/doRename?newName=y"])
def test_job_admin_urls_are_post_only(one: Instance, path: str) -> None:
    create(one, "x", job_xml("true"))
    assert one.get(path, auth=AUTH).status_code == 405
