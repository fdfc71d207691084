"""lite's pages for a person: the dashboard, a job, the parameters form, a build whose console follows it;
each says it is lite, which master answered, and links HAProxy's stats page. Against lite in-process.

Jenkins 2.190.2 (tag jenkins-2.190.2) for the parts a browser depends on: hudson.model.ParametersDefinitionProperty
(the parameters form posts `json` to `build`), hudson.console.AnnotatedLargeText (logText/progressiveText with
X-Text-Size and X-More-Data), hudson.security.csrf.CrumbFilter (every POST of a session carries its crumb)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from labgen.generate.render import render_files
from labgen.model import names
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from tests.unit.lite.support import ADMIN, STRING_PARAMS, TOKEN, Instance, browser_of, create, job_xml, log_in, wait_for

STATS = "http://127.0.0.1:18001/haproxy?stats"
HOSTILE = "<script>alert('x')</script>&"


@pytest.fixture
def lab(start: Callable[..., Instance], tmp_path: Path) -> Instance:
    return start(tmp_path / "home", stats_url=STATS)


@pytest.fixture
def browser(lab: Instance) -> requests.Session:
    return browser_of(log_in(lab))


def crumb_of(page: str) -> str:
    found = re.search(r"name='Jenkins-Crumb' value='([0-9a-f]+)'", page)
    assert found, "the page has no crumb"
    return found.group(1)


def test_every_page_says_lite_which_master_and_links_the_stats(lab: Instance, browser: requests.Session) -> None:
    create(lab, "plain", job_xml("echo hi"))
    for path in ("", "job/plain/"):
        answer = browser.get(lab.url + path, timeout=5)
        assert answer.status_code == 200, path
        page = answer.text
        assert "NOT Jenkins" in page and "labgen jenkins-lite" in page
        assert "<b id='lite-node'>jenkins01</b>" in page
        assert f"href='{html.escape(STATS)}'" in page  # HAProxy's stats page, from LABGEN_STATS_URL
        assert f"<span class='user'>{ADMIN}</span>" in page and "href='/logout'" in page


def test_the_stats_variable_is_the_one_the_lab_passes() -> None:
    sys_config = pytest.importorskip("labgen_lite.config")
    assert sys_config.STATS_URL_ENV == names.LITE_STATS_URL_ENV
    topology = Topology.resolve(LabSpec(), flavour="lite", nfs_client="fuse")
    compose = render_files(topology)["compose.yaml"]
    assert f'{names.LITE_STATS_URL_ENV}: "{topology.urls["stats"]}"' in compose


def test_dashboard_lists_jobs_with_status_and_build_now(lab: Instance, browser: requests.Session) -> None:
    create(lab, "green", job_xml("true"))
    create(lab, "broken", job_xml("false"))
    create(lab, "asks", job_xml("true", params=STRING_PARAMS))
    for job in ("green", "broken"):
        assert lab.post(f"job/{job}/build", auth=(ADMIN, TOKEN)).status_code == 201
        lab.wait_build(job, 1, timeout=15)
    page = browser.get(lab.url, timeout=5).text
    rows = dict(re.findall(r"<tr id='job_[^']*' data-job='([^']*)'>(.*?)</tr>", page))
    assert set(rows) == {"green", "broken", "asks"}
    assert "ball-blue" in rows["green"] and "#1</a>" in rows["green"]
    assert "ball-red" in rows["broken"]
    assert "ball-notbuilt" in rows["asks"]
    assert "action='/job/green/build?delay=0sec'" in rows["green"] and "Build Now" in rows["green"]
    assert "Build with Parameters" in rows["asks"]  # a parameterized job opens its form instead


def test_build_now_from_the_page_posts_with_the_sessions_crumb(lab: Instance, browser: requests.Session) -> None:
    create(lab, "j", job_xml("echo built"))
    page = browser.get(lab.url + "job/j/", timeout=5).text
    form = re.search(r"<form class='inline' method='post' action='([^']+)' data-follow='([^']+)'>", page)
    assert form and form.group(1) == "/job/j/build?delay=0sec" and form.group(2) == "/job/j/"
    answer = browser.post(
        lab.url + form.group(1).lstrip("/"), data={"Jenkins-Crumb": crumb_of(page)}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 201
    assert lab.wait_build("j", 1)["result"] == "SUCCESS"
    history = browser.get(lab.url + "job/j/", timeout=5).text
    assert "<tr data-build='1'>" in history and "SUCCESS" in history
    # a crumb from another session is refused
    other = browser_of(log_in(lab))
    stolen = other.post(lab.url + "job/j/build", data={"Jenkins-Crumb": crumb_of(page)}, timeout=5)
    assert stolen.status_code == 403


def test_parameters_form_builds_with_the_values_given(lab: Instance, browser: requests.Session) -> None:
    create(lab, "p", job_xml('echo "$GREETING"', params=STRING_PARAMS))
    form = browser.get(lab.url + "job/p/build?delay=0sec", timeout=5)
    assert form.status_code == 200
    assert "data-param='GREETING'" in form.text and "value='hello'" in form.text and "what to say" in form.text
    assert "type='checkbox' name='value' data-param='LOUD'" in form.text
    # what the page's script posts: ParametersDefinitionProperty's `json` field
    payload = {"parameter": [{"name": "GREETING", "value": HOSTILE}, {"name": "LOUD", "value": "true"}]}
    answer = browser.post(
        lab.url + "job/p/build?delay=0sec",
        data={"json": json.dumps(payload), "Jenkins-Crumb": crumb_of(form.text)},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 201
    lab.wait_build("p", 1)
    page = browser.get(lab.url + "job/p/1/", timeout=5).text
    assert HOSTILE not in page  # escaped: in the parameters and in the console
    assert html.escape(HOSTILE) in page
    assert "<dt>LOUD</dt><dd>true</dd>" in page
    # a job without parameters has no form: GET build asks for POST
    create(lab, "plain", job_xml("true"))
    assert browser.get(lab.url + "job/plain/build", timeout=5).status_code == 405


def test_build_page_follows_a_running_build(lab: Instance, browser: requests.Session) -> None:
    marker = lab.home / "go"
    create(lab, "slow", job_xml(f"echo first; set +x; while [ ! -e {marker} ]; do sleep 0.05; done; echo second"))
    assert lab.post("job/slow/build", auth=(ADMIN, TOKEN)).status_code == 201
    wait_for(lambda: "first" in lab.get("job/slow/1/consoleText", auth=(ADMIN, TOKEN)).text)
    page = browser.get(lab.url + "job/slow/1/", timeout=5).text
    follow = re.search(r"<pre class='console' id='console' data-follow='([^']+)' data-start='(\d+)'>", page)
    assert follow, "a running build's console follows it"
    assert follow.group(1) == "/job/slow/1/logText/progressiveText"
    assert "In progress" in page and "Abort" in page
    start_at = int(follow.group(2))
    progress = browser.get(lab.url + follow.group(1).lstrip("/"), params={"start": start_at}, timeout=5)
    assert progress.headers["X-More-Data"] == "true" and int(progress.headers["X-Text-Size"]) == start_at
    marker.touch()
    lab.wait_build("slow", 1)
    rest = browser.get(lab.url + follow.group(1).lstrip("/"), params={"start": start_at}, timeout=5)
    assert "second" in rest.text and "X-More-Data" not in rest.headers
    done = browser.get(lab.url + "job/slow/1/console", timeout=5).text
    assert "data-follow=" not in done.split("id='console'")[1].split(">")[0]
    assert "SUCCESS" in done and "Finished: SUCCESS" in done


def test_user_strings_are_escaped_everywhere(lab: Instance, browser: requests.Session) -> None:
    name = 'it\'s "quoted"'
    xml = job_xml("echo '&lt;img src=x onerror=alert(1)&gt;'").replace(
        "<description/>", "<description>&lt;script&gt;alert(1)&lt;/script&gt;</description>"
    )
    answer = lab.post(
        "createItem",
        auth=(ADMIN, TOKEN),
        params={"name": name},
        data=xml.encode(),
        headers={"Content-Type": "application/xml"},
    )
    assert answer.status_code == 200, answer.text
    assert lab.post('job/it\'s "quoted"/build', auth=(ADMIN, TOKEN)).status_code == 201
    lab.wait_build(name, 1)
    pages = [
        browser.get(lab.url + path, timeout=5).text
        for path in ("", "job/it's%20%22quoted%22/", "job/it's%20%22quoted%22/1/")
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "data-job='it's" not in page and "it&#x27;s &quot;quoted&quot;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2]


def test_unknown_jobs_and_builds_are_404(lab: Instance, browser: requests.Session) -> None:
    create(lab, "j", job_xml("true"))
    for path in ("job/nope/", "job/j/7/", "job/j/lastFailedBuild/"):
        assert browser.get(lab.url + path, timeout=5).status_code == 404, path
