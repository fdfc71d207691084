"""A person with a browser on a real lab: Debian's chromium, headless, driven by selenium through HAProxy.

Log in, press Build Now, watch the console follow the running build, kill the active master, reload: the
same jobs, now from the other master, and a new login asked for (sessions are per master, as in Jenkins
2.190.2). Screenshots are kept in a temporary folder whose path the test prints."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from labgen.chaos import apply
from labgen.lab.handle import LabHandle
from tests.integration.conftest import RunningLab, requires_docker, running_lab

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402

pytestmark = [
    requires_docker,
    pytest.mark.integration,
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason="Debian's chromium and chromium-driver are not installed (bash scripts/setup installs them)",
    ),
]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "lg-liteweb")
T = TypeVar("T")
TICKS = 12
JOB = "greeter"
JOB_XML = (
    "<?xml version='1.1' encoding='UTF-8'?><project><description>a job for the browser test</description>"
    "<builders><hudson.tasks.Shell><command>for i in $(seq 1 "
    f"{TICKS}); do echo tick $i; sleep 0.5; done</command></hudson.tasks.Shell></builders></project>"
)


def wait_until(check: Callable[[], T | None], timeout: float = 30, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the page is changing under us: try again
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}: {last!r}")


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-browser") as running:
        yield running


@pytest.fixture
def shots() -> Iterator[Callable[[WebDriver, str], None]]:
    folder = Path(tempfile.mkdtemp(prefix="labgen-browser-"))
    print(f"screenshots in {folder}")

    def shot(driver: WebDriver, name: str) -> None:
        driver.save_screenshot(str(folder / f"{name}.png"))

    yield shot
    if not any(folder.iterdir()):
        shutil.rmtree(folder)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must download nothing (no network here)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def node_of(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "lite-node").text)


def log_in(driver: WebDriver, user: str, password: str) -> None:
    driver.find_element(By.ID, "j_username").send_keys(user)
    driver.find_element(By.ID, "j_password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()


def test_a_person_logs_in_builds_and_follows_a_failover(
    lab: RunningLab, browser: WebDriver, shots: Callable[[WebDriver, str], None]
) -> None:
    try:
        person_logs_in_builds_and_follows_a_failover(lab, browser, shots)
    except Exception:  # what the browser and the masters saw, for the report
        shots(browser, "failure")
        print("active master now:", LabHandle.open(lab.name).active_master(None))
        print(browser.page_source)
        for service in [*lab.lab.masters, "haproxy"]:
            print(f"--- {service}:", lab.container(service).logs(tail=400).decode(errors="replace"))
        raise


def person_logs_in_builds_and_follows_a_failover(
    lab: RunningLab, browser: WebDriver, shots: Callable[[WebDriver, str], None]
) -> None:
    url = f"http://127.0.0.1:{lab.lab.ports.http}/"
    secrets = lab.secrets
    user, password, token = (
        secrets["JENKINS_ADMIN_USER"],
        secrets["JENKINS_ADMIN_PASSWORD"],
        secrets["JENKINS_ADMIN_TOKEN"],
    )
    created = requests.post(
        url + "createItem",
        params={"name": JOB},
        data=JOB_XML,
        auth=(user, token),
        headers={"Content-Type": "application/xml"},
        timeout=15,
    )
    assert created.status_code == 200, created.text
    handle = LabHandle.open(lab.name)
    first = wait_until(lambda: handle.active_master(None), what="an active master")

    # anonymous: Jenkins' 403 page sends the browser on to the login form
    browser.get(url)
    wait_until(lambda: "/login?from=%2F" in browser.current_url, what="the login form")
    assert node_of(browser) == first
    shots(browser, "1-login")
    log_in(browser, user, password)
    wait_until(lambda: browser.current_url == url, what="the dashboard after login")
    assert node_of(browser) == first
    assert "lite" in browser.find_element(By.CLASS_NAME, "lite-banner").text
    stats = browser.find_element(By.ID, "haproxy-stats").get_attribute("href")
    assert stats == f"http://127.0.0.1:{lab.lab.ports.stats}/haproxy?stats"
    assert stats is not None
    shots(browser, "2-dashboard")
    # the link leads to HAProxy's stats page (behind the stats login)
    login = f"{secrets['LABGEN_STATS_USER']}:{secrets['LABGEN_STATS_PASSWORD']}@"
    browser.get(stats.replace("http://", "http://" + login, 1))
    wait_until(lambda: "Statistics Report" in browser.page_source, what="HAProxy's stats page")
    shots(browser, "2b-haproxy-stats")
    browser.get(url)
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-job='{JOB}']")

    # Build Now, then the build's page: the console grows while the page stays (no reload)
    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(lambda: browser.current_url == f"{url}job/{JOB}/", what="the job page")
    link = wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-build='1'] a"), timeout=30, what="build #1"
    )
    link[0].click()
    wait_until(lambda: browser.find_element(By.ID, "console").get_attribute("data-follow"), what="a following page")
    browser.execute_script("window.labgenSamePage = true;")
    seen = browser.find_element(By.ID, "console").text
    wait_until(lambda: f"tick {TICKS - 2}" in browser.find_element(By.ID, "console").text, what="more console")
    assert browser.execute_script("return window.labgenSamePage === true;"), "the page reloaded to follow"
    assert len(browser.find_element(By.ID, "console").text) > len(seen)
    shots(browser, "3-console-following")
    standby_reads = [
        line
        for master in lab.lab.masters
        if master != first
        for line in lab.container(master).logs().decode(errors="replace").splitlines()
        if "logText" in line
    ]
    print("console polls answered by a standby:", standby_reads)
    if standby_reads:  # seen when the machine is loaded: for whoever looks at HAProxy's routing
        print(lab.container("haproxy").logs(tail=200).decode(errors="replace"))
    wait_until(lambda: "Finished: SUCCESS" in browser.find_element(By.ID, "console").text, what="the build's end")
    wait_until(lambda: browser.find_element(By.ID, "build-state").text == "SUCCESS", what="the finished page")
    shots(browser, "4-build-done")

    assert handle.active_master(None) == first, "the lab failed over by itself before the kill"

    # the active master dies: a reload is answered by the other one, which asks for a new login
    apply(handle, "kill", first)
    second = wait_until(
        lambda: (lambda m: m if m not in (None, first) else None)(handle.active_master(None)),
        timeout=90,
        what="the other master to serve",
    )
    build_page = f"{url}job/{JOB}/1/"
    browser.get(build_page)
    wait_until(lambda: "/login?from=" in browser.current_url, timeout=30, what="a new login")
    assert node_of(browser) == second
    shots(browser, "5-login-again")
    log_in(browser, user, password)
    wait_until(lambda: browser.current_url == build_page, what="back to the build after login")
    assert node_of(browser) == second
    assert "Finished: SUCCESS" in browser.find_element(By.ID, "console").text  # read from the shared home
    shots(browser, "6-build-on-the-other-master")
    browser.get(url)
    assert node_of(browser) == second
    jobs = [row.get_attribute("data-job") for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-job]")]
    assert jobs == [JOB]
    row_html = browser.find_element(By.CSS_SELECTOR, f"tr[data-job='{JOB}']").get_attribute("innerHTML")
    assert "ball-blue" in (row_html or "")
    shots(browser, "7-dashboard-other-master")
