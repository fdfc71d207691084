"""Form login and logout of lite as Jenkins 2.190.2 does them, against lite in-process.

Read from Jenkins core at tag jenkins-2.190.2: war/.../WEB-INF/security/SecurityFilters.groovy (the filter chain:
`/j_acegi_security_check`, failure URL `/loginError`, default target `/`), hudson.security.
AuthenticationProcessingFilter2 (redirect to `from` unless hudson.Util.isSafeToRedirectTo refuses it; the old
session invalidated), jenkins/model/Jenkins/login.jelly and loginError.jelly (the form's fields; 401 on error),
hudson.security.HudsonAuthenticationEntryPoint (403 and a page that sends a browser to `/login?from=`; a bare
403 for XMLHttpRequest), hudson.security.SecurityRealm.doLogout and TokenBasedRememberMeServices2."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jenkins
import pytest
import requests

from tests.unit.lite.support import (
    ADMIN,
    PASSWORD,
    REMEMBER_ME,
    TOKEN,
    VERSION,
    Instance,
    browser_of,
    log_in,
    session_cookie,
)


@pytest.mark.parametrize(
    ("path", "login"),
    [("", "/login?from=%2F"), ("job/x/?a=b c", "/login?from=%2Fjob%2Fx%2F%3Fa%3Db%2520c")],
)
def test_anonymous_browser_is_sent_to_the_login_form(one: Instance, path: str, login: str) -> None:
    answer = one.get(path)
    assert answer.status_code == 403  # HudsonAuthenticationEntryPoint: 403 for programs, a redirect for people
    assert f"<meta http-equiv='refresh' content='1;url={login}'/>" in answer.text
    assert f"window.location.replace('{login}')" in answer.text
    assert "Authentication required" in answer.text
    assert answer.headers["X-You-Are-Authenticated-As"] == "anonymous"
    assert answer.headers["X-Required-Permission"] == "hudson.model.Hudson.Read"
    assert answer.headers["X-Labgen-Flavour"] == "lite"


def test_anonymous_xhr_gets_a_bare_403(one: Instance) -> None:
    answer = one.get("", headers={"X-Requested-With": "XMLHttpRequest"})
    assert answer.status_code == 403
    assert "refresh" not in answer.text


def test_login_form_has_jenkins_fields_and_keeps_from_escaped(one: Instance) -> None:
    answer = one.get("login?from=/job/a'<b>/")
    assert answer.status_code == 200
    page = answer.text
    assert "action='j_acegi_security_check'" in page and "method='post'" in page
    for field in ("j_username", "j_password", "remember_me"):
        assert f"name='{field}'" in page
    assert "value='/job/a&#x27;&lt;b&gt;/'" in page  # the `from` field, escaped
    assert "<b>/" not in page
    assert "NOT Jenkins" in page and "jenkins01" in page
    assert "Set-Cookie" not in answer.headers  # a health check makes no session


def test_good_login_needs_no_crumb_and_redirects_to_from(one: Instance) -> None:
    browser = requests.Session()
    browser.get(one.url + "crumbIssuer/api/json", auth=(ADMIN, PASSWORD), timeout=5)  # a session before login
    before = session_cookie(one, browser)
    assert before
    answer = browser.post(
        one.url + "j_acegi_security_check",
        data={"j_username": ADMIN, "j_password": PASSWORD, "from": "/job/x/?a=1"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == one.url + "job/x/?a=1"
    cookie = answer.headers["Set-Cookie"]
    assert re.match(r"JSESSIONID\.[0-9a-f]{8}=node0[0-9a-f]+\.node0; Path=/; HttpOnly", cookie)
    after = session_cookie(one, browser)
    assert after and after != before  # AuthenticationProcessingFilter2: no session fixation
    page = browser.get(one.url, allow_redirects=False, timeout=5)
    assert page.status_code == 200
    assert "log out" in page.text and ADMIN in page.text
    who = browser.get(one.url + "whoAmI/api/json", timeout=5).json()
    assert who["name"] == ADMIN and who["authenticated"] is True
    # the old session is gone: its cookie alone is anonymous again
    stale = requests.get(one.url, cookies={cookie.split("=")[0]: before}, allow_redirects=False, timeout=5)
    assert stale.status_code == 403


@pytest.mark.parametrize("target", ["http://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_never_redirects_off_site(one: Instance, target: str) -> None:
    browser = requests.Session()
    answer = browser.post(
        one.url + "j_acegi_security_check",
        data={"j_username": ADMIN, "j_password": PASSWORD, "from": target},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == one.url


@pytest.mark.parametrize(("user", "password"), [(ADMIN, "wrong"), ("nobody", PASSWORD), (ADMIN, TOKEN), (ADMIN, "")])
def test_bad_login_goes_to_login_error_with_401(one: Instance, user: str, password: str) -> None:
    browser = requests.Session()
    answer = browser.post(
        one.url + "j_acegi_security_check",
        data={"j_username": user, "j_password": password, "from": "/job/x/"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == one.url + "loginError"
    error = browser.get(answer.headers["Location"], allow_redirects=False, timeout=5)
    assert error.status_code == 401
    assert "Invalid username or password" in error.text
    assert "name='from' value='/job/x/'" in error.text  # kept in the session, as AuthenticationProcessingFilter2
    assert browser.get(one.url, allow_redirects=False, timeout=5).status_code == 403


def test_logout_ends_the_session(one: Instance) -> None:
    browser = browser_of(log_in(one))
    cookie = session_cookie(one, browser)
    answer = browser.get(one.url + "logout", allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    assert answer.headers["Location"] == one.url
    set_cookies = answer.raw.headers.getlist("Set-Cookie")
    assert f"{REMEMBER_ME}=; Max-Age=0; Path=/; HttpOnly" in set_cookies
    name = one.server.app.security.cookie_name
    assert f"{name}=; Max-Age=0; Path=/" in set_cookies  # every JSESSIONID.* cookie is cleared
    assert session_cookie(one, browser) is None
    assert requests.get(one.url, cookies={name: cookie or ""}, allow_redirects=False, timeout=5).status_code == 403


def test_a_session_post_needs_the_sessions_crumb(one: Instance) -> None:
    one.create_job("j")
    browser = browser_of(log_in(one))
    refused = browser.post(one.url + "job/j/build", allow_redirects=False, timeout=5)
    assert refused.status_code == 403 and "No valid crumb" in refused.text
    page = browser.get(one.url + "job/j/", timeout=5).text
    crumb = re.search(r"name='Jenkins-Crumb' value='([0-9a-f]+)'", page)
    assert crumb
    accepted = browser.post(
        one.url + "job/j/build", data={"Jenkins-Crumb": crumb.group(1)}, allow_redirects=False, timeout=5
    )
    assert accepted.status_code == 201


def test_sessions_are_per_master_remember_me_is_per_home(start: Callable[..., Instance], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = start(home, node="jenkins01"), start(home, node="jenkins02")
    plain = browser_of(log_in(first))
    remembered = log_in(first, remember_me="on")
    assert REMEMBER_ME in remembered.cookies
    for browser in (plain, browser_of(remembered)):
        assert browser.get(first.url, allow_redirects=False, timeout=5).status_code == 200
    # the same cookies sent to the other master (HAProxy's failover): unknown there, a new login is asked for,
    # even under the other master's cookie name ...
    lost = requests.get(second.url, cookies=plain.cookies, allow_redirects=False, timeout=5)
    assert lost.status_code == 403 and "/login?from=%2F" in lost.text
    renamed = {second.server.app.security.cookie_name: session_cookie(first, plain) or ""}
    assert requests.get(second.url, cookies=renamed, allow_redirects=False, timeout=5).status_code == 403
    # ... while the remember-me cookie, signed with the home's key, logs in there too (and makes a session)
    token = remembered.cookies[REMEMBER_ME] or ""
    kept = requests.get(second.url, cookies={REMEMBER_ME: token}, allow_redirects=False, timeout=5)
    assert kept.status_code == 200 and "log out" in kept.text
    assert "JSESSIONID." in kept.headers["Set-Cookie"]
    assert "jenkins02" in kept.text


def test_a_forged_remember_me_cookie_is_anonymous(one: Instance) -> None:
    import base64

    forged = base64.b64encode(f"{ADMIN}:99999999999999:{'0' * 64}".encode()).decode()
    answer = requests.get(one.url, cookies={REMEMBER_ME: forged}, allow_redirects=False, timeout=5)
    assert answer.status_code == 403


def test_api_clients_see_what_they_saw(one: Instance) -> None:
    """python-jenkins and curl: anonymous API calls stay 403, basic auth works, /login stays 200."""
    assert one.get("api/json").status_code == 403
    assert one.get("login").status_code == 200
    client = jenkins.Jenkins(one.url, username=ADMIN, password=PASSWORD, timeout=5)
    assert client.get_whoami()["id"] == ADMIN
    assert client.get_version() == VERSION
    client.create_job("made-by-client", jenkins.EMPTY_CONFIG_XML)  # a password POST with its crumb
    assert client.job_exists("made-by-client")
    anonymous = jenkins.Jenkins(one.url, timeout=5)
    with pytest.raises(jenkins.JenkinsException):
        anonymous.get_jobs()
