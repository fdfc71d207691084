"""Helpers the integration tests share (no test module imports another)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

PARAMS = """<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>
<hudson.model.StringParameterDefinition><name>GREETING</name><defaultValue>hi</defaultValue>
</hudson.model.StringParameterDefinition></parameterDefinitions></hudson.model.ParametersDefinitionProperty>
</properties>"""


def job_xml(command: str, *, params: bool = False) -> str:
    return (
        "<?xml version='1.1' encoding='UTF-8'?><project><description>client test</description>"
        f"{PARAMS if params else ''}<builders><hudson.tasks.Shell><command>{command}</command>"
        "</hudson.tasks.Shell></builders></project>"
    )


def wait_until(check: Callable[[], T | None], timeout: float = 30, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        last: Exception | None = None
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # a client error while the condition is not yet true
            last = exc
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}: {last!r}"
        time.sleep(0.2)
