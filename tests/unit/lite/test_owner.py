"""lite's DoubleLaunchChecker: two live masters on one JENKINS_HOME notice each other through .owner, and then
every URL answers HTTP 500 with Jenkins' "more than one instance" page until POST /ignore."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import requests

from labgen.wire import poll
from tests.unit.lite.support import ADMIN, PASSWORD, TOKEN, Instance, lite

AUTH = (ADMIN, TOKEN)
MESSAGE = "Jenkins detected that you appear to be running more than one instance of Jenkins that share the same"


def _collide(first: Instance, second: Instance) -> None:
    """Run the checks in the order that makes `first` notice `second` (each check writes .owner)."""
    first.server.app.owner.execute()  # first writes .owner and remembers its mtime
    time.sleep(0.01)
    second.server.app.owner.execute()  # second writes it over (its first check compares nothing)
    first.server.app.owner.execute()  # first finds an mtime it did not write


def test_default_period_is_jenkins_hour_and_env_compresses_it(tmp_path: Path) -> None:
    from labgen_lite.owner import DoubleLaunchChecker  # importable once support.py set the path

    assert lite.Config.from_env({}).owner_check_seconds == 3600
    assert lite.Config.from_env({"JENKINS_OWNER_CHECK_SECONDS": "0.5"}).owner_check_seconds == 0.5
    checker = DoubleLaunchChecker(tmp_path, 3600, lambda message, level: None)
    delays = {checker.next_delay() for _ in range(300)}
    assert min(delays) >= 3600 and max(delays) <= 89 * 60  # 60 to 89 whole minutes, as Jenkins draws them
    assert all(delay % 60 == 0 for delay in delays) and len(delays) > 5


def test_one_master_alone_never_collides(start: Callable[..., Instance], tmp_path: Path) -> None:
    alone = start(tmp_path / "home")
    for _ in range(3):
        alone.server.app.owner.execute()
    assert (alone.home / ".owner").read_text() == alone.server.app.owner.id
    assert alone.get("api/json", auth=AUTH).status_code == 200


def test_collision_answers_500_everywhere_until_ignore(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "shared"
    first, second = start(home, "jenkins01"), start(home, "jenkins02")
    _collide(first, second)
    for path, auth in (("login", None), ("api/json", AUTH), ("job/x/api/json", AUTH), ("tcpSlaveAgentListener/", None)):
        answer = first.get(path, auth=auth)
        assert answer.status_code == 500, path
        assert MESSAGE in answer.text and f"home directory '{home}\u2019" in answer.text
        assert answer.headers["X-Labgen-Flavour"] == "lite" and answer.headers["X-Labgen-Node"] == "jenkins01"
    page = first.get("login").text
    assert second.server.app.owner.id in page and first.server.app.owner.id in page
    assert "Ignore this problem and keep using Jenkins anyway" in page
    assert second.get("login").status_code == 200  # it has not checked since
    second.server.app.owner.execute()  # first kept writing .owner: second notices in turn
    assert second.get("login").status_code == 500
    assert first.get("api/json", auth=(ADMIN, "wrong")).status_code == 401  # security filters still run first
    assert first.post("ignore", auth=(ADMIN, PASSWORD)).status_code == 403  # a password POST needs a crumb
    ignored = first.post("ignore", auth=AUTH)
    assert ignored.status_code == 302 and ignored.headers["Location"] == first.url
    assert first.get("login").status_code == 200
    _collide(first, second)  # ignored for good
    assert first.get("login").status_code == 200
    assert first.post("ignore", auth=AUTH).status_code == 404  # only the collision page has /ignore


def test_reload_puts_jenkins_back_without_ignoring(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "shared"
    first, second = start(home, "jenkins01"), start(home, "jenkins02")
    _collide(first, second)
    assert first.get("login").status_code == 500
    from labgen_lite.api.reload import start_reload  # POST /reload cannot get past the page: reload directly

    start_reload(first.server.app, "test")
    first.wait_until_serving()
    assert first.get("login").status_code == 200
    _collide(first, second)
    assert first.get("login").status_code == 500  # not ignored: it is noticed again


def test_compressed_period_breaks_two_live_masters_by_themselves(
    start: Callable[..., Instance], tmp_path: Path
) -> None:
    home = tmp_path / "shared"
    masters = [start(home, node, owner_check_seconds=0.2) for node in ("jenkins01", "jenkins02")]
    noticed = poll.wait_for(
        lambda: all(requests.get(m.url + "login", timeout=5).status_code == 500 for m in masters), 8, interval=0.05
    )
    assert noticed, "two masters on one home never noticed each other"
