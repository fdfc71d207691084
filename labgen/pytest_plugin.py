"""labgen's pytest plugin (entry point ``pytest11``: active once labgen is installed).

A test asks for ``jenkins_ha_lab`` and gets a running `labgen.JenkinsHALab`, started for it and
removed after it (containers, network and JENKINS_HOME's volume), whether it passed, failed or
was interrupted::

    import pytest

    @pytest.mark.labgen(profile="ha", flavour="lite", masters=2)
    def test_my_job_survives_a_failover(jenkins_ha_lab):
        server = jenkins_ha_lab.python_jenkins()
        ...

The marker (on the test, its class or its module) takes ``profile``, ``flavour``, ``masters``,
``name`` and any spec field as ``set={"haproxy.check.inter_ms": 500}``. Lab names are
``<prefix><test name>-<hash>``, the prefix from the ini option ``labgen_lab_prefix`` (default
``plugin-``), the hash of the test's full id (parameters included), the pytest-xdist worker and
this session: each test of each session gets its own lab. The fixture removes only the lab it
created: a lab of that name that is already there fails the test at setup and is left alone.
``--labgen-keep`` leaves the lab running after the test (to look at it; `labgen
down --lab NAME --volumes` removes it).

Why not testcontainers' ``DockerCompose`` for the lab itself: the fixture needs what labgen's
runtime adds to a Compose stack (the health wait through HAProxy, the handle that chaos and
verify use, removal by Docker label even after a crash). testcontainers runs the generated stack
on its own in labgen's own tests; here ``pytest_sessionfinish`` is the reaper: it removes every
lab this session started that is still there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

MARKER = "labgen"
PREFIX_OPTION = "labgen_lab_prefix"
DEFAULT_PREFIX = "plugin-"
MARKER_ARGS = ("profile", "flavour", "masters", "name", "set", "timeout")
_started: set[str] = set()  # labs this session started and has not removed yet
_SESSION = secrets.token_hex(8)  # this process's: two sessions (or xdist workers) never share a name
HASH_CHARS = 8


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labgen", "labgen: Jenkins HA labs for tests")
    group.addoption(
        "--labgen-keep",
        action="store_true",
        default=False,
        help="leave each jenkins_ha_lab running after its test (remove it with `labgen down --volumes`)",
    )
    parser.addini(PREFIX_OPTION, f"prefix of the labs jenkins_ha_lab starts (default {DEFAULT_PREFIX!r})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(profile='ha', flavour='lite', masters=2, name=None, set=None, timeout=300): "
        "the lab the jenkins_ha_lab fixture starts for this test",
    )


def lab_name(prefix: str, test_name: str, unique: str = "") -> str:
    """A valid lab name (2-32 of [a-z0-9-], starting with a letter) from a prefix and a test's name;
    with `unique` (a test's full id, worker and session), a hash of it ends the name."""
    suffix = f"-{hashlib.sha256(unique.encode()).hexdigest()[:HASH_CHARS]}" if unique else ""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_")).strip("-") or "lab"
    head = re.sub(r"[^a-z0-9-]+", "-", prefix.lower())
    if not head[:1].isalpha():
        head = "lab-" + head
    name = (head + slug)[: 32 - len(suffix)].rstrip("-") + suffix
    return name if len(name) >= 2 and not name.endswith("-") else f"{name}lab"[:32]


def unique_id(request: pytest.FixtureRequest) -> str:
    """What tells this test's lab from every other's: the node id with its parameters, the xdist
    worker (PYTEST_XDIST_WORKER, or the worker input) and this session."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    worker_input = getattr(request.config, "workerinput", None)
    if isinstance(worker_input, dict):
        worker = str(worker_input.get("workerid", worker))
    return f"{request.node.nodeid}|{worker}|{_SESSION}"


def _lab_exists(name: str) -> bool:
    from labgen.errors import LabgenError
    from labgen.lab import docker
    from labgen.lab.folder import labs_on_disk

    if name in labs_on_disk():
        return True
    try:
        return name in docker.lab_names()
    except LabgenError:
        return False  # Docker does not answer: up() says so


def lab_options(marker: pytest.Mark | None) -> dict[str, Any]:
    """The marker's arguments, checked: a misspelt one fails the test at setup, not silently."""
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only: {', '.join(MARKER_ARGS)}")
    unknown = sorted(set(marker.kwargs) - set(MARKER_ARGS))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}: unknown argument(s) {', '.join(unknown)}; allowed: {', '.join(MARKER_ARGS)}"
        )
    return dict(marker.kwargs)


@pytest.fixture
def jenkins_ha_lab(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A running Jenkins HA lab (`labgen.JenkinsHALab`) for this test; removed afterwards."""
    from labgen.api import JenkinsHALab

    options = lab_options(request.node.get_closest_marker(MARKER))
    prefix = str(request.config.getini(PREFIX_OPTION) or DEFAULT_PREFIX)
    name = options.pop("name", None) or lab_name(prefix, request.node.name, unique_id(request))
    if _lab_exists(name):
        pytest.fail(
            f"a lab named {name!r} already exists: jenkins_ha_lab leaves labs it did not create alone "
            f"(remove it with `labgen down --lab {name} --volumes`, or give the marker another name)",
            pytrace=False,
        )
    lab = JenkinsHALab(
        name,
        profile=options.get("profile"),
        flavour=options.get("flavour"),
        masters=options.get("masters"),
        overrides=options.get("set"),
        timeout=float(options.get("timeout", 300)),
    )
    keep = bool(request.config.getoption("--labgen-keep"))
    _started.add(name)  # from here on, what exists under this name is this fixture's
    try:
        lab.up()
        yield lab
    finally:
        if not keep:
            lab.down()
            _started.discard(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove what a fixture could not (an interrupt between start and teardown)."""
    if session.config.getoption("--labgen-keep", default=False):
        return
    from labgen.errors import LabgenError
    from labgen.lab import runtime

    for name in sorted(_started):
        with contextlib.suppress(LabgenError):
            runtime.down(name, volumes=True)
        _started.discard(name)
