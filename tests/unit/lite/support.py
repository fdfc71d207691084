"""What the lite tests share: the in-process stand-in (`Instance`), its users and the job, build,
parameter and login helpers. Fixtures are in conftest.py; no test module imports another."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from labgen.wire import poll

ROOT = Path(__file__).resolve().parents[3]
LITE_DIR = ROOT / "images" / "jenkins" / "lite"  # holds the labgen_lite package
VERSION = "2.190.2"
ADMIN, PASSWORD, TOKEN = "admin", "s3cret", "11aa22bb33cc44dd"
BOB, BOB_PASSWORD, BOB_TOKEN = "bob", "bobpw", "bobtoken"
JOB_XML = "<?xml version='1.1' encoding='UTF-8'?>\n<project><description>lab job</description><builders/></project>"
RELOAD_SECONDS = 0.4

if str(LITE_DIR) not in sys.path:
    sys.path.insert(0, str(LITE_DIR))
import labgen_lite as lite  # noqa: E402, F401  (the package under test, for the tests that use it)


class Instance:
    """One running stand-in with handy URLs and authenticated sessions."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{server.http_port}/"
        self.agent_port: int = server.agent_port
        self.home: Path = server.app.home.root

    def get(self, path: str, auth: tuple[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, auth=auth, allow_redirects=False, timeout=5, **kwargs)

    def post(self, path: str, auth: tuple[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, auth=auth, allow_redirects=False, timeout=5, **kwargs)

    def create_job(self, name: str) -> requests.Response:
        return self.post(
            f"createItem?name={name}",
            auth=(ADMIN, TOKEN),
            data=JOB_XML.encode(),
            headers={"Content-Type": "application/xml"},
        )

    def wait_build(self, job: str, number: int, timeout: float = 10.0) -> dict[str, Any]:
        """The build's JSON once it has finished."""

        def finished() -> dict[str, Any] | None:
            answer = self.get(f"job/{job}/{number}/api/json", auth=(ADMIN, TOKEN))
            return dict(answer.json()) if answer.status_code == 200 and not answer.json()["building"] else None

        build = poll.wait_for(finished, timeout, interval=0.02)
        assert build is not None, f"{job} #{number} did not finish"
        return build

    def wait_queue_item_left(self, item_id: int, timeout: float = 10.0) -> dict[str, Any]:
        def left() -> dict[str, Any] | None:
            item = self.get(f"queue/item/{item_id}/api/json", auth=(ADMIN, TOKEN)).json()
            return dict(item) if item["_class"].endswith("$LeftItem") else None

        item = poll.wait_for(left, timeout, interval=0.02)
        assert item is not None, f"queue item {item_id} never left the queue"
        return item

    def wait_until_serving(self, timeout: float = 5.0) -> None:
        assert poll.wait_for(lambda: self.get("login").status_code != 503, timeout, interval=0.05), "still reloading"


# ---- jobs and builds


def job_xml(*commands: str, params: str = "", concurrent: bool = False) -> str:
    steps = "".join(f"<hudson.tasks.Shell><command>{c}</command></hudson.tasks.Shell>" for c in commands)
    prop = f"<properties>{params}</properties>" if params else "<properties/>"
    return (
        "<?xml version='1.1' encoding='UTF-8'?>\n<project><description/>"
        f"{prop}<disabled>false</disabled><concurrentBuild>{str(concurrent).lower()}</concurrentBuild>"
        f"<builders>{steps}</builders><publishers/><buildWrappers/></project>"
    )


STRING_PARAMS = (
    "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
    "<hudson.model.StringParameterDefinition><name>GREETING</name><description>what to say</description>"
    "<defaultValue>hello</defaultValue><trim>false</trim></hudson.model.StringParameterDefinition>"
    "<hudson.model.BooleanParameterDefinition><name>LOUD</name><defaultValue>false</defaultValue>"
    "</hudson.model.BooleanParameterDefinition>"
    "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
)


def create(instance: Instance, name: str, xml: str) -> None:
    answer = instance.post(
        f"createItem?name={name}", auth=(ADMIN, TOKEN), data=xml.encode(), headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 200, answer.text


def queue_id(answer: object) -> int:
    location = answer.headers["Location"]  # type: ignore[attr-defined]
    return int(location.rstrip("/").rsplit("/", 1)[1])


def wait_for(check: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll `check` until it is true; fail the test when `timeout` seconds pass first."""
    assert poll.wait_for(lambda: bool(check()), timeout, interval=0.02), "timed out"


PARAMS = (
    "<hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
    "<hudson.model.ChoiceParameterDefinition><name>COLOUR</name><description>pick</description>"
    '<choices class="java.util.Arrays$ArrayList"><a class="string-array"><string>red</string><string>green</string>'
    "</a></choices></hudson.model.ChoiceParameterDefinition>"
    "<hudson.model.BooleanParameterDefinition><name>LOUD</name><defaultValue>true</defaultValue>"
    "</hudson.model.BooleanParameterDefinition>"
    "<hudson.model.PasswordParameterDefinition><name>PW</name><defaultValue>x</defaultValue>"
    "</hudson.model.PasswordParameterDefinition>"
    "</parameterDefinitions></hudson.model.ParametersDefinitionProperty>"
)


# ---- the login form

REMEMBER_ME = "ACEGI_SECURITY_HASHED_REMEMBER_ME_COOKIE"


def session_cookie(instance: Instance, browser: requests.Session) -> str | None:
    names = [name for name in browser.cookies.keys() if name.startswith("JSESSIONID.")]  # noqa: SIM118
    return browser.cookies.get(names[0]) if names else None


def log_in(instance: Instance, user: str = ADMIN, password: str = PASSWORD, **extra: str) -> requests.Response:
    browser = requests.Session()
    answer = browser.post(
        instance.url + "j_acegi_security_check",
        data={"j_username": user, "j_password": password, "from": "/", **extra},
        allow_redirects=False,
        timeout=5,
    )
    answer.browser = browser  # type: ignore[attr-defined]
    return answer


def browser_of(answer: requests.Response) -> requests.Session:
    return answer.browser  # type: ignore[attr-defined]
