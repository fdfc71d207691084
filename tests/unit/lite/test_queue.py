"""lite keeps its queue as Jenkins 2.190 does: in memory, saved to queue.xml a while after a change (Queue.Saver),
saved first thing on reload (so a standby that reloads overwrites the dead master's queue), read back at start
and on reload; quietDown stops new builds and keeps the queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.unit.lite.support import ADMIN, BOB, BOB_TOKEN, TOKEN, Instance, create, job_xml, lite, queue_id, wait_for

AUTH = (ADMIN, TOKEN)
QUEUED = 30  # a quiet period that keeps items waiting for the whole test


def test_queue_is_saved_a_while_after_a_change(start: Callable[..., Instance], tmp_path: Path) -> None:
    instance = start(tmp_path / "home", quiet_period=QUEUED, queue_save_seconds=0.5)
    create(instance, "waits", job_xml("true"))
    item = queue_id(instance.post("job/waits/build", auth=AUTH))
    queue_xml = instance.home / "queue.xml"
    assert not queue_xml.exists()  # not at once: Queue.Saver waits DELAY_SECONDS
    wait_for(queue_xml.exists, timeout=3)
    text = queue_xml.read_text()
    assert text.startswith("<?xml version='1.1' encoding='UTF-8'?>")
    assert "<hudson.model.Queue_-State>" in text and f"<counter>{item}</counter>" in text
    assert "<hudson.model.Queue_-WaitingItem>" in text and f"<id>{item}</id>" in text
    assert '<task class="hudson.model.FreeStyleProject">waits</task>' in text
    assert "<userId>admin</userId>" in text


def test_queue_survives_a_restart_and_is_moved_to_bak(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start(home, quiet_period=QUEUED)
    create(first, "kept", job_xml("true"))
    item = queue_id(first.post("job/kept/build?delay=30sec", auth=AUTH))
    first.server.stop()  # a clean shutdown saves the queue (Jenkins.cleanUp)
    assert "<id>" in (home / "queue.xml").read_text()
    second = start(home, quiet_period=QUEUED)
    queued = second.get("queue/api/json", auth=AUTH).json()["items"]
    assert [(i["id"], i["task"]["name"]) for i in queued] == [(item, "kept")]
    assert not (home / "queue.xml").exists() and (home / "queue.xml.bak").exists()
    create(second, "next", job_xml("true"))
    assert queue_id(second.post("job/next/build", auth=AUTH)) == item + 1  # the counter came back too


def test_a_standby_that_reloads_overwrites_the_queue(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "shared"
    active = start(home, "jenkins01", quiet_period=QUEUED, queue_save_seconds=0.1)
    standby = start(home, "jenkins02", quiet_period=QUEUED, queue_save_seconds=0.1)
    create(active, "work", job_xml("true"))
    queue_id(active.post("job/work/build", auth=AUTH))
    wait_for(lambda: (home / "queue.xml").exists() and "<id>" in (home / "queue.xml").read_text())
    assert standby.post("reload", auth=AUTH).status_code == 302
    standby.wait_until_serving()
    # the standby saved its own, empty, queue first, then read that back: the active's item is gone from disk
    backup = (home / "queue.xml.bak").read_text()
    assert "<items>" in backup and "<id>" not in backup
    assert standby.get("queue/api/json", auth=AUTH).json()["items"] == []
    assert standby.get("job/work/api/json", auth=AUTH).json()["inQueue"] is False
    assert len(active.get("queue/api/json", auth=AUTH).json()["items"]) == 1  # only in the active's memory


def test_quiet_down_keeps_the_queue_and_lets_running_builds_finish(one: Instance) -> None:
    create(one, "running", job_xml("sleep 0.3"))
    create(one, "held", job_xml("true"))
    one.post("job/running/build", auth=AUTH)
    wait_for(lambda: one.get("job/running/api/json", auth=AUTH).json()["color"].endswith("_anime"))
    quiet = one.post("quietDown", auth=AUTH)
    assert quiet.status_code == 302 and quiet.headers["Location"] == one.url
    assert one.get("api/json", auth=AUTH).json()["quietingDown"] is True
    held = queue_id(one.post("job/held/build", auth=AUTH))
    wait_for(lambda: one.get(f"queue/item/{held}/api/json", auth=AUTH).json()["buildable"])
    assert one.get(f"queue/item/{held}/api/json", auth=AUTH).json()["why"] == "Jenkins is about to shut down"
    assert one.wait_build("running", 1)["result"] == "SUCCESS"  # running builds go on
    time.sleep(0.2)
    assert one.get(f"queue/item/{held}/api/json", auth=AUTH).json()["buildable"] is True  # still held
    assert one.post("cancelQuietDown", auth=AUTH).status_code == 302
    assert one.get("api/json", auth=AUTH).json()["quietingDown"] is False
    assert one.wait_build("held", 1)["result"] == "SUCCESS"


def test_quiet_down_is_post_and_admin_only_and_can_block(one: Instance) -> None:
    assert one.get("quietDown", auth=AUTH).status_code == 405
    assert one.post("quietDown", auth=(BOB, BOB_TOKEN)).status_code == 403
    assert one.post("cancelQuietDown", auth=(BOB, BOB_TOKEN)).status_code == 403
    create(one, "busy", job_xml("sleep 0.4"))
    one.post("job/busy/build", auth=AUTH)
    wait_for(lambda: one.get("computer/api/json", auth=AUTH).json()["busyExecutors"] == 1)
    began = time.monotonic()
    answers: list[int] = []
    blocking = "quietDown?block=true&timeout=3000"
    waiter = threading.Thread(target=lambda: answers.append(one.post(blocking, auth=AUTH).status_code))
    waiter.start()
    waiter.join(5)
    assert answers == [302] and time.monotonic() - began >= 0.2  # it waited for the build
    assert one.get("job/busy/1/api/json", auth=AUTH).json()["building"] is False


def test_periods_come_from_the_environment() -> None:
    config = lite.Config.from_env({"JENKINS_QUEUE_SAVE_SECONDS": "0.5", "JENKINS_QUIET_PERIOD": "0"})
    assert (config.queue_save_seconds, config.quiet_period) == (0.5, 0)
    java = lite.Config.from_env({"JAVA_OPTS": "-Dhudson.model.Queue.Saver.DELAY_SECONDS=7"})
    assert java.queue_save_seconds == 7
    defaults = lite.Config.from_env({})
    assert (defaults.queue_save_seconds, defaults.quiet_period, defaults.shell) == (60, None, "/bin/sh")
