"""Tests for images/jenkins/lite/labgen_lite/, the stand-in for Jenkins 2.190.2.

Servers run in-process on 127.0.0.1 with free ports and a tmp JENKINS_HOME; one test
runs the package as a process to check its banner and its exit on SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import jenkins  # python-jenkins, from the test extras
import pytest
import requests

from tests.unit.lite.support import (
    ADMIN,
    BOB,
    BOB_PASSWORD,
    BOB_TOKEN,
    JOB_XML,
    LITE_DIR,
    PASSWORD,
    RELOAD_SECONDS,
    TOKEN,
    VERSION,
    Instance,
    lite,
    wait_for,
)


def _client(instance: Instance, user: str = ADMIN, secret: str = PASSWORD) -> jenkins.Jenkins:
    return jenkins.Jenkins(instance.url, username=user, password=secret, timeout=5)


def _crumbed_session(instance: Instance) -> tuple[requests.Session, dict[str, str]]:
    """A password-authenticated session holding a crumb (and its JSESSIONID cookie)."""
    session = requests.Session()
    session.auth = (ADMIN, PASSWORD)
    answer = session.get(instance.url + "crumbIssuer/api/json", timeout=5)
    assert answer.status_code == 200
    crumb = answer.json()
    return session, {crumb["crumbRequestField"]: crumb["crumb"]}


# --------------------------------------------------------------------------- identity, /login, security


def test_login_is_open_cheap_and_says_what_it_is(one: Instance) -> None:
    for method in (requests.get, requests.head):
        answer = method(one.url + "login", timeout=5)
        assert answer.status_code == 200
        assert answer.headers["X-Jenkins"] == VERSION
        assert answer.headers["X-Labgen-Flavour"] == "lite"
        assert answer.headers["X-Labgen-Node"] == "jenkins01"
        assert re.fullmatch(r"[0-9a-f]{8}", answer.headers["X-Jenkins-Session"])
    assert "NOT Jenkins" in requests.get(one.url + "login", timeout=5).text
    # authenticated users get it too
    assert one.get("login", auth=(ADMIN, PASSWORD)).status_code == 200


def test_login_answers_an_http_1_0_health_check(one: Instance) -> None:
    with socket.create_connection(("127.0.0.1", one.server.http_port), timeout=5) as sock:
        sock.sendall(b"GET /login HTTP/1.0\r\n\r\n")
        reply = _read_all(sock)
    assert reply.startswith(b"HTTP/1.1 200 ") or reply.startswith(b"HTTP/1.0 200 ")
    assert b"X-Labgen-Flavour: lite" in reply


@pytest.mark.parametrize(
    "path", ["", "api/json", "api/json?tree=jobs[name]", "job/x/api/json", "crumbIssuer/api/json", "no/such/page"]
)
def test_anonymous_is_forbidden_everywhere_else(one: Instance, path: str) -> None:
    answer = one.get(path)
    assert answer.status_code == 403
    assert answer.headers["X-Jenkins"] == VERSION
    assert answer.headers["X-Labgen-Flavour"] == "lite"
    assert answer.headers["X-You-Are-Authenticated-As"] == "anonymous"


def test_anonymous_post_is_forbidden(one: Instance) -> None:
    answer = one.post("createItem?name=x", data=JOB_XML, headers={"Content-Type": "application/xml"})
    assert answer.status_code == 403
    assert not (one.home / "jobs" / "x").exists()


@pytest.mark.parametrize("auth", [(ADMIN, "wrong"), ("nobody", PASSWORD), (BOB, TOKEN)])
def test_wrong_credentials_get_401(one: Instance, auth: tuple[str, str]) -> None:
    answer = one.get("api/json", auth=auth)
    assert answer.status_code == 401
    assert "Invalid password/token" in answer.text
    assert answer.headers["X-Labgen-Flavour"] == "lite"


def test_password_and_token_both_authenticate(one: Instance) -> None:
    for auth in ((ADMIN, PASSWORD), (ADMIN, TOKEN), (BOB, BOB_PASSWORD), (BOB, BOB_TOKEN)):
        assert one.get("api/json", auth=auth).status_code == 200, auth
    who = one.get("whoAmI/api/json", auth=(BOB, BOB_TOKEN)).json()
    assert who["name"] == BOB and who["authenticated"] is True


def test_tcp_agent_listener_page_is_open(one: Instance) -> None:
    answer = one.get("tcpSlaveAgentListener/")
    assert answer.status_code == 200
    assert answer.text.strip() == "Jenkins"
    assert answer.headers["X-Jenkins-JNLP-Port"] == str(one.agent_port)
    assert answer.headers["X-Jenkins-Agent-Protocols"] == "JNLP4-connect, Ping"
    assert re.fullmatch(r"[A-Za-z0-9+/]{40,}={0,2}", answer.headers["X-Instance-Identity"])


# --------------------------------------------------------------------------- python-jenkins


def test_python_jenkins_round_trip(one: Instance) -> None:
    client = _client(one)
    assert client.get_whoami()["id"] == ADMIN  # resolves auth, like any first call
    assert client.get_version() == VERSION
    client.create_job("demo", JOB_XML)  # password auth: exercises the crumb
    assert [job["name"] for job in client.get_jobs()] == ["demo"]
    assert client.get_jobs()[0]["color"] == "notbuilt"
    queue_id = client.build_job("demo")
    one.wait_queue_item_left(queue_id)
    item = client.get_queue_item(queue_id)
    assert item["executable"]["number"] == 1
    one.wait_build("demo", 1)
    info = client.get_job_info("demo")
    assert info["name"] == "demo"
    assert info["nextBuildNumber"] == 2
    assert info["lastBuild"]["number"] == 1
    assert [build["number"] for build in info["builds"]] == [1]
    assert client.get_jobs()[0]["color"] == "blue"
    assert client.get_build_info("demo", 1)["result"] == "SUCCESS"
    assert "lab job" in client.get_job_config("demo")
    with pytest.raises(jenkins.JenkinsException):
        client.create_job("demo", JOB_XML)


def test_python_jenkins_needs_auth_for_get_version_like_a_secured_jenkins(one: Instance) -> None:
    # python-jenkins' get_version() sends no credentials until auth is resolved: a secured
    # Jenkins answers 403 then, and so does the stand-in.
    with pytest.raises(jenkins.BadHTTPException):
        _client(one).get_version()


def test_python_jenkins_with_api_token(one: Instance) -> None:
    client = _client(one, ADMIN, TOKEN)
    client.create_job("tok", JOB_XML)
    for number in (1, 2):
        client.build_job("tok")
        one.wait_build("tok", number)
    assert client.get_job_info("tok")["nextBuildNumber"] == 3


def test_job_and_build_land_on_disk_like_jenkins(one: Instance) -> None:
    assert one.create_job("disk").status_code == 200
    job_dir = one.home / "jobs" / "disk"
    assert (job_dir / "config.xml").read_text() == JOB_XML
    assert (job_dir / "nextBuildNumber").read_text().strip() == "1"
    answer = one.post("job/disk/build", auth=(ADMIN, TOKEN))
    assert answer.status_code == 201
    assert re.fullmatch(re.escape(one.url) + r"queue/item/\d+/", answer.headers["Location"])
    one.wait_build("disk", 1)
    build_xml = (job_dir / "builds" / "1" / "build.xml").read_text()
    assert "<result>SUCCESS</result>" in build_xml
    assert "<userId>admin</userId>" in build_xml
    assert (job_dir / "nextBuildNumber").read_text().strip() == "2"
    assert (one.home / "config.xml").exists()
    assert not list(job_dir.glob(".*.tmp"))


def test_api_json_lists_jobs_and_honours_tree(one: Instance) -> None:
    for name in ("beta", "Alpha"):
        one.create_job(name)
    full = one.get("api/json", auth=(ADMIN, TOKEN)).json()
    assert full["_class"] == "hudson.model.Hudson"
    assert full["useSecurity"] is True and full["mode"] == "NORMAL"
    assert "NOT Jenkins" in full["nodeDescription"]
    assert [job["name"] for job in full["jobs"]] == ["Alpha", "beta"]
    assert full["jobs"][0]["url"] == one.url + "job/Alpha/"
    trimmed = one.get("api/json?tree=jobs[name]", auth=(ADMIN, TOKEN)).json()
    assert trimmed == {
        "_class": "hudson.model.Hudson",
        "jobs": [
            {"_class": "hudson.model.FreeStyleProject", "name": "Alpha"},
            {"_class": "hudson.model.FreeStyleProject", "name": "beta"},
        ],
    }


def test_unknown_job_is_404(one: Instance) -> None:
    assert one.get("job/ghost/api/json", auth=(ADMIN, TOKEN)).status_code == 404
    assert one.post("job/ghost/build", auth=(ADMIN, TOKEN)).status_code == 404


def test_create_item_rejects_duplicates_and_bad_input(one: Instance) -> None:
    assert one.create_job("dup").status_code == 200
    again = one.create_job("dup")
    assert again.status_code == 400
    assert again.headers["X-Error"] == "A job already exists with the name 'dup'"
    token = (ADMIN, TOKEN)
    xml = {"Content-Type": "application/xml"}
    assert one.post("createItem?name=bad%3Fname", auth=token, data=JOB_XML, headers=xml).status_code == 400
    assert one.post("createItem?name=..", auth=token, data=JOB_XML, headers=xml).status_code == 400
    assert one.post("createItem", auth=token, data=JOB_XML, headers=xml).status_code == 400
    assert one.post("createItem?name=broken", auth=token, data="<project>", headers=xml).status_code == 400
    assert sorted(os.listdir(one.home / "jobs")) == ["dup"]


def test_build_requires_post(one: Instance) -> None:
    one.create_job("p")
    assert one.get("job/p/build", auth=(ADMIN, TOKEN)).status_code == 405
    assert not (one.home / "jobs" / "p" / "builds").exists()


def test_concurrent_build_requests_get_distinct_numbers(one: Instance) -> None:
    # Requests that find the job already queued join that item (Queue.schedule2), so 12 requests make
    # at most 12 builds; whatever ran got consecutive numbers.
    one.create_job("busy")
    statuses: list[int] = []

    def build() -> None:
        statuses.append(one.post("job/busy/build", auth=(ADMIN, TOKEN)).status_code)

    threads = [threading.Thread(target=build) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 12
    wait_for(
        lambda: (
            not one.get("queue/api/json", auth=(ADMIN, TOKEN)).json()["items"]
            and not one.get("job/busy/api/json", auth=(ADMIN, TOKEN)).json()["color"].endswith("_anime")
        )
    )
    numbers = sorted(int(n) for n in os.listdir(one.home / "jobs" / "busy" / "builds"))
    assert numbers == list(range(1, len(numbers) + 1)) and 1 <= len(numbers) <= 12
    assert one.get("job/busy/api/json", auth=(ADMIN, TOKEN)).json()["nextBuildNumber"] == len(numbers) + 1


# --------------------------------------------------------------------------- CSRF


def test_password_post_needs_a_crumb_bound_to_the_session(one: Instance) -> None:
    xml = {"Content-Type": "application/xml"}
    bare = one.post("createItem?name=c1", auth=(ADMIN, PASSWORD), data=JOB_XML, headers=xml)
    assert bare.status_code == 403
    assert "No valid crumb was included in the request" in bare.text

    session, crumb_header = _crumbed_session(one)
    answer = session.get(one.url + "crumbIssuer/api/json", timeout=5).json()
    assert answer["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert answer["crumbRequestField"] == "Jenkins-Crumb"
    assert any(cookie.name.startswith("JSESSIONID.") for cookie in session.cookies)

    # the crumb without its session cookie is worthless
    stray = one.post("createItem?name=c1", auth=(ADMIN, PASSWORD), data=JOB_XML, headers={**xml, **crumb_header})
    assert stray.status_code == 403
    # a wrong crumb in the right session too
    wrong = session.post(one.url + "createItem?name=c1", data=JOB_XML, headers={**xml, "Jenkins-Crumb": "0" * 64})
    assert wrong.status_code == 403
    good = session.post(one.url + "createItem?name=c1", data=JOB_XML, headers={**xml, **crumb_header}, timeout=5)
    assert good.status_code == 200
    # the crumb is also accepted as a form field
    form = session.post(one.url + "job/c1/build", data=crumb_header, timeout=5, allow_redirects=False)
    assert form.status_code == 201
    one.wait_build("c1", 1)


def test_crumb_of_one_session_is_rejected_in_another(one: Instance) -> None:
    _first, first_crumb = _crumbed_session(one)
    second, second_crumb = _crumbed_session(one)
    assert first_crumb != second_crumb
    xml = {"Content-Type": "application/xml"}
    crossed = second.post(one.url + "createItem?name=s", data=JOB_XML, headers={**xml, **first_crumb}, timeout=5)
    assert crossed.status_code == 403
    own = second.post(one.url + "createItem?name=s", data=JOB_XML, headers={**xml, **second_crumb}, timeout=5)
    assert own.status_code == 200


def test_crumb_xpath_recipe(one: Instance) -> None:
    session = requests.Session()
    session.auth = (ADMIN, PASSWORD)
    answer = session.get(one.url + 'crumbIssuer/api/xml?xpath=concat(//crumbRequestField,":",//crumb)', timeout=5)
    field, crumb = answer.text.split(":")
    assert field == "Jenkins-Crumb"
    created = session.post(
        one.url + "createItem?name=x1", data=JOB_XML, headers={"Content-Type": "text/xml", field: crumb}, timeout=5
    )
    assert created.status_code == 200


def test_crumb_from_one_instance_is_rejected_by_the_other(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "shared"
    first, second = start(home, "jenkins01"), start(home, "jenkins02")
    session, crumb_header = _crumbed_session(first)
    xml = {"Content-Type": "application/xml", **crumb_header}
    # the same session (cookies included) replayed against the other master
    answer = session.post(second.url + "createItem?name=x", data=JOB_XML, headers=xml, timeout=5)
    assert answer.status_code == 403
    assert "No valid crumb was included in the request" in answer.text
    assert answer.headers["X-Labgen-Node"] == "jenkins02"
    # even with A's cookie renamed to B's cookie name
    cookie = next(c for c in session.cookies if c.name.startswith("JSESSIONID."))
    forged = requests.post(
        second.url + "createItem?name=x",
        auth=(ADMIN, PASSWORD),
        data=JOB_XML,
        headers=xml,
        cookies={second.server.app.security.cookie_name: cookie.value or ""},
        timeout=5,
    )
    assert forged.status_code == 403
    # while A itself accepts it
    assert session.post(first.url + "createItem?name=x", data=JOB_XML, headers=xml, timeout=5).status_code == 200


def test_token_post_needs_no_crumb(one: Instance) -> None:
    answer = one.create_job("nocrumb")
    assert answer.status_code == 200
    assert one.post("job/nocrumb/build", auth=(BOB, BOB_TOKEN)).status_code == 201
    assert one.wait_build("nocrumb", 1)["result"] == "SUCCESS"


# --------------------------------------------------------------------------- shared JENKINS_HOME, reload


def test_standby_is_stale_until_reload(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "shared"
    active, standby = start(home, "jenkins01"), start(home, "jenkins02")
    assert active.create_job("fresh").status_code == 200
    assert (home / "jobs" / "fresh" / "config.xml").exists()
    assert standby.get("job/fresh/api/json", auth=(ADMIN, TOKEN)).status_code == 404
    assert standby.get("api/json", auth=(ADMIN, TOKEN)).json()["jobs"] == []

    reload = standby.post("reload", auth=(ADMIN, TOKEN))
    assert reload.status_code == 302
    assert reload.headers["Location"] == standby.url
    for path in ("login", "api/json", "tcpSlaveAgentListener/", "job/fresh/api/json"):
        during = standby.get(path, auth=(ADMIN, TOKEN))
        assert during.status_code == 503, path
        assert during.headers["X-Labgen-Flavour"] == "lite"
        assert during.headers["X-Labgen-Node"] == "jenkins02"
    assert standby.get("login").status_code == 503  # anonymous health checks too
    assert active.get("login").status_code == 200  # the other master is unaffected

    began = time.monotonic()
    standby.wait_until_serving()
    assert time.monotonic() - began < RELOAD_SECONDS + 2
    job = standby.get("job/fresh/api/json", auth=(ADMIN, TOKEN))
    assert job.status_code == 200
    assert job.json()["nextBuildNumber"] == 1


def test_reload_is_post_only_and_admin_only(one: Instance) -> None:
    assert one.get("reload", auth=(ADMIN, TOKEN)).status_code == 405
    assert one.get("reload").status_code == 403  # anonymous: no Overall/Read first
    denied = one.post("reload", auth=(BOB, BOB_TOKEN))
    assert denied.status_code == 403
    assert "bob is missing the Overall/Administer permission" in denied.text
    assert denied.headers["X-Required-Permission"] == "hudson.model.Hudson.Administer"
    anonymous = one.post("reload")
    assert anonymous.status_code == 403
    assert one.get("login").status_code == 200  # none of these started a reload


def test_reload_with_password_needs_crumb(one: Instance) -> None:
    assert one.post("reload", auth=(ADMIN, PASSWORD)).status_code == 403
    session, crumb_header = _crumbed_session(one)
    answer = session.post(one.url + "reload", headers=crumb_header, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert one.get("login").status_code == 503
    one.wait_until_serving()


def test_two_masters_collide_on_build_numbers(
    start: Callable[..., Instance], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in Jenkins 2.190: the POST is accepted (201); the executor then takes the in-memory number,
    # saves nextBuildNumber, finds builds/N taken and dies; the queue item left with no build.
    home = tmp_path / "shared"
    first = start(home, "jenkins01")
    assert first.create_job("twin").status_code == 200
    second = start(home, "jenkins02")  # loads the job at start: both now think #1 is next
    token = (ADMIN, TOKEN)

    assert first.post("job/twin/build", auth=token).status_code == 201
    first.wait_build("twin", 1)
    clash = second.post("job/twin/build", auth=token)
    assert clash.status_code == 201
    item = second.wait_queue_item_left(int(clash.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert item["executable"] is None and item["cancelled"] is False
    expected = (
        f"java.lang.IllegalStateException: JENKINS-23152: {home}/jobs/twin/builds/1 already existed; "
        "will not overwrite with twin #1"
    )
    assert expected in capsys.readouterr().out
    # #1 on disk is still jenkins01's; jenkins02 consumed the number, as Jenkins does
    assert "jenkins01" in (home / "jobs" / "twin" / "builds" / "1" / "build.xml").read_text()
    assert (home / "jobs" / "twin" / "nextBuildNumber").read_text().strip() == "2"
    # now jenkins02 builds #2, and jenkins01 (still at 2 in memory) collides in turn
    assert second.post("job/twin/build", auth=token).status_code == 201
    second.wait_build("twin", 2)
    again = first.post("job/twin/build", auth=token)
    assert again.status_code == 201
    first.wait_queue_item_left(int(again.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert "builds/2 already existed; will not overwrite with twin #2" in capsys.readouterr().out


def test_python_jenkins_sees_the_collision_as_a_build_that_never_starts(
    start: Callable[..., Instance], tmp_path: Path
) -> None:
    home = tmp_path / "shared"
    first = start(home, "jenkins01")
    first.create_job("twin")
    second = start(home, "jenkins02")
    first.wait_queue_item_left(_client(first, ADMIN, TOKEN).build_job("twin"))
    first.wait_build("twin", 1)
    queue_id = _client(second, ADMIN, TOKEN).build_job("twin")
    second.wait_queue_item_left(queue_id)
    item = _client(second, ADMIN, TOKEN).get_queue_item(queue_id)
    assert item["_class"] == "hudson.model.Queue$LeftItem" and item["executable"] is None
    assert _client(second, ADMIN, TOKEN).get_job_info("twin")["lastBuild"] is None


# --------------------------------------------------------------------------- TCP agent port


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_agent_port_answers_get_like_tcp_slave_agent_listener(one: Instance) -> None:
    session_hash = one.get("login").headers["X-Jenkins-Session"]
    with socket.create_connection(("127.0.0.1", one.agent_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = _read_all(sock).decode()
    head, _, body = reply.partition("\r\n\r\n")
    assert head == "HTTP/1.0 200 OK\r\nContent-Type: text/plain;charset=UTF-8"
    assert body.splitlines() == [
        "Jenkins-Agent-Protocols: JNLP4-connect, Ping",
        f"Jenkins-Version: {VERSION}",
        f"Jenkins-Session: {session_hash}",
        "Client: 127.0.0.1",
        "Server: 127.0.0.1",
        "Remoting-Minimum-Version: 3.4",
    ]


def test_agent_port_says_nothing_first(one: Instance) -> None:
    with socket.create_connection(("127.0.0.1", one.agent_port), timeout=5) as sock:
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)


def test_agent_port_ping_protocol(one: Instance) -> None:
    for _ in range(3):  # a TCP health check would do this repeatedly
        with socket.create_connection(("127.0.0.1", one.agent_port), timeout=5) as sock:
            message = b"Protocol:Ping"
            sock.sendall(struct.pack(">H", len(message)) + message)
            assert _read_all(sock) == b"Ping\n"


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        (struct.pack(">H", 14) + b"Protocol:Nope!", b"Unknown protocol:\n"),
        (struct.pack(">H", 12) + b"hello there!", b"Unrecognized protocol: hello there!\n"),
        (b"GET /x HTTP/1.0\r\n\r\n", b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n"),
    ],
)
def test_agent_port_rejects_anything_else(one: Instance, sent: bytes, answer: bytes) -> None:
    with socket.create_connection(("127.0.0.1", one.agent_port), timeout=5) as sock:
        sock.sendall(sent)
        assert _read_all(sock).startswith(answer)
    # and keeps serving
    assert one.get("tcpSlaveAgentListener/").status_code == 200


# --------------------------------------------------------------------------- configuration, process


def test_config_from_env() -> None:
    config = lite.Config.from_env(
        {
            "JENKINS_HOME": "/srv/jh",
            "JENKINS_SLAVE_AGENT_PORT": "9000",
            "JAVA_OPTS": "-Xmx1g -Djenkins.model.Jenkins.slaveAgentPort=8282",
            "JENKINS_OPTS": "--httpPort=8088",
            "JENKINS_URL": "http://10.0.0.1",
            "JENKINS_NODE_NAME": "jenkins02",
            "JENKINS_RELOAD_SECONDS": "2.5",
            "JENKINS_ADMIN_USER": "root",
            "JENKINS_ADMIN_PASSWORD": "pw",
            "JENKINS_EXTRA_USERS": "ann:apw, joe:jpw:jtok",
        }
    )
    assert config.home == Path("/srv/jh")
    assert (config.http_port, config.agent_port) == (8088, 8282)
    assert config.root_url == "http://10.0.0.1/"
    assert (config.node_name, config.reload_seconds) == ("jenkins02", 2.5)
    assert (config.admin_user, config.admin_password, config.admin_token) == ("root", "pw", None)
    assert config.extra_users == (lite.User("ann", "apw"), lite.User("joe", "jpw", "jtok"))
    defaults = lite.Config.from_env({"JENKINS_SLAVE_AGENT_PORT": "9000"})
    assert (defaults.home, defaults.http_port, defaults.agent_port) == (Path("/var/jenkins_home"), 8080, 9000)
    assert (defaults.version, defaults.reload_seconds, defaults.root_url) == ("2.190.2", 1.0, None)


def test_configured_root_url_is_reported(start: Callable[..., Instance], tmp_path: Path) -> None:
    instance = start(tmp_path / "home", root_url="http://192.168.1.100/")
    instance.create_job("j")
    assert instance.post("job/j/build", auth=(ADMIN, TOKEN)).headers["Location"] == "http://192.168.1.100/queue/item/1/"
    instance.wait_build("j", 1)
    jobs = instance.get("api/json", auth=(ADMIN, TOKEN)).json()["jobs"]
    assert jobs[0]["url"] == "http://192.168.1.100/job/j/"


def test_existing_home_is_read_at_start_and_not_overwritten(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "jobs" / "old" / "builds" / "7").mkdir(parents=True)
    (home / "config.xml").write_text("<hudson><!-- mine --></hudson>")
    (home / "jobs" / "old" / "config.xml").write_text(JOB_XML)
    (home / "jobs" / "old" / "nextBuildNumber").write_text("8\n")
    (home / "jobs" / "old" / "builds" / "7" / "build.xml").write_text("<build><result>FAILURE</result></build>")
    instance = start(home)
    assert (home / "config.xml").read_text() == "<hudson><!-- mine --></hudson>"
    info = instance.get("job/old/api/json", auth=(ADMIN, TOKEN)).json()
    assert info["nextBuildNumber"] == 8
    assert info["lastBuild"]["number"] == 7
    assert info["color"] == "red"


def test_generated_admin_password_is_shared_through_home(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start(home, admin_password=None)
    second = start(home, admin_password=None)
    password = (home / "secrets" / "initialAdminPassword").read_text().strip()
    assert len(password) == 32
    for instance in (first, second):
        assert instance.get("api/json", auth=(ADMIN, password)).status_code == 200


def test_process_banner_request_log_and_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JENKINS_HOME": str(tmp_path / "home"),
        "JENKINS_HTTP_PORT": "0",
        "JENKINS_SLAVE_AGENT_PORT": "0",
        "JENKINS_NODE_NAME": "jenkins07",
        "JENKINS_ADMIN_PASSWORD": PASSWORD,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(LITE_DIR), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "labgen_lite", "--httpListenAddress=127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline()]
        while "Jenkins is fully up and running" not in lines[-1]:
            assert lines[-1], f"exited early: {lines}"
            lines.append(process.stdout.readline())
        assert "labgen jenkins-lite 2.190.2: a stand-in for Jenkins, NOT Jenkins" in lines[0]
        port = int(re.search(r"http=127\.0\.0\.1:(\d+)", "".join(lines)).group(1))  # type: ignore[union-attr]
        answer = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert answer.headers["X-Labgen-Node"] == "jenkins07"
        request_line = process.stdout.readline()
        assert "[jenkins07]" in request_line and '"GET /login" 200' in request_line
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)  # a second one (docker stop, then timeout's) must not hang it
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - began < 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_json_is_compact_and_typed(one: Instance) -> None:
    answer = one.get("crumbIssuer/api/json", auth=(ADMIN, TOKEN))
    assert answer.headers["Content-Type"].startswith("application/json")
    assert json.loads(answer.text)["crumb"]


def test_malformed_requests_still_carry_the_identification(one: Instance) -> None:
    with socket.create_connection(("127.0.0.1", one.server.http_port), timeout=5) as sock:
        sock.sendall(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = _read_all(sock)
    assert reply.split(b" ")[1] == b"501"
    assert b"X-Labgen-Flavour: lite" in reply and b"X-Jenkins: 2.190.2" in reply
    with socket.create_connection(("127.0.0.1", one.server.http_port), timeout=5) as sock:
        sock.sendall(b"GET /login HTTP/9.9\r\n\r\n")
        reply = _read_all(sock)
    assert b" 505 " in reply.split(b"\r\n")[0] and b"X-Labgen-Node: jenkins01" in reply
    assert one.get("login").status_code == 200


def test_non_latin1_job_names_work(one: Instance) -> None:
    assert one.create_job("%E4%BD%9C%E4%B8%9A").status_code == 200
    again = one.create_job("%E4%BD%9C%E4%B8%9A")
    assert again.status_code == 400 and again.headers["X-Error"].startswith("A job already exists")
    assert one.post("job/%E4%BD%9C%E4%B8%9A/build", auth=(ADMIN, TOKEN)).status_code == 201
    one.wait_build("%E4%BD%9C%E4%B8%9A", 1)
    assert (one.home / "jobs" / "作业" / "builds" / "1" / "build.xml").exists()


def test_a_list_of_names_follows_every_change_of_the_job_set(one: Instance) -> None:
    """The names-only answer is exported once per job set: a create, a rename, a delete and another root
    URL each show at once."""

    def names(url: str = "api/json?tree=jobs[name,url]") -> list[tuple[str, str]]:
        return [(job["name"], job.get("url", "")) for job in one.get(url, auth=(ADMIN, TOKEN)).json()["jobs"]]

    one.create_job("a")
    assert names() == names() == [("a", one.url + "job/a/")]
    one.create_job("b")
    assert [name for name, _ in names()] == ["a", "b"]
    reply = requests.post(one.url + "job/a/doRename?newName=c", auth=(ADMIN, TOKEN), timeout=10)
    assert reply.status_code in (200, 302)
    assert [name for name, _ in names()] == ["b", "c"]
    reply = requests.post(one.url + "job/b/doDelete", auth=(ADMIN, TOKEN), timeout=10)
    assert reply.status_code in (200, 302)
    assert names() == [("c", one.url + "job/c/")]
    assert [name for name, _ in names("api/json?tree=jobs[name]&pretty=true")] == ["c"]
