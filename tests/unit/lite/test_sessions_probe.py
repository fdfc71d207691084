"""labgen.verify.sessions against two lite masters on one home: crumbs got from one master are refused by
the other (sessions and crumbs live in each master's memory: DefaultCrumbIssuer with HttpSession), and kept
by the master that issued them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from labgen.lab.handle import LabHandle
from labgen.verify.sessions import check_after, log_in
from tests.unit.lite.support import ADMIN, PASSWORD, TOKEN, Instance


def _handle(instance: Instance) -> LabHandle:
    """What the probe reads of a lab handle: the published address and the admin's credentials."""
    topology = SimpleNamespace(front_host="127.0.0.1", front_ports={"http": instance.server.http_port})
    secrets = {"JENKINS_ADMIN_USER": ADMIN, "JENKINS_ADMIN_PASSWORD": PASSWORD, "JENKINS_ADMIN_TOKEN": TOKEN}
    return cast(LabHandle, SimpleNamespace(topology=topology, secrets=secrets))


def test_crumbs_are_lost_on_the_other_master_and_kept_on_their_own(start: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    old, new = start(home, "jenkins01"), start(home, "jenkins02")
    clients = log_in(_handle(old), count=3)
    assert len(clients) == 3 and len({c.cookie for c in clients}) == 3
    on_new = check_after(_handle(new), clients)
    assert (on_new.clients, on_new.kept, on_new.lost, on_new.failed) == (3, 0, 3, 0)
    assert on_new.line.startswith("sessions and crumbs lost: 3 of 3 password clients")
    on_old = check_after(_handle(old), clients)
    assert (on_old.kept, on_old.lost) == (3, 0)
