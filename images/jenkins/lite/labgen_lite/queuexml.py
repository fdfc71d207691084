"""queue.xml: the queue as Jenkins 2.190 persists it (hudson.model.Queue.save/load and Queue.Saver).

Jenkins writes `Queue.State` with XStream: `<hudson.model.Queue_-State>` holding `<counter>` and one element
per item (`hudson.model.Queue_-WaitingItem`, `_-BlockedItem`, `_-BuildableItem`) with its actions (CauseAction,
ParametersAction), `id`, `inQueueSince`, `task` (the job's full name) and, per kind, `timestamp` or
`buildableStartMilliseconds`/`isPending`. Lite writes the same elements. What differs: no `outer-class` element
on BlockedItem (XStream writes one for that inner class), no `safeParameters`/`parameterDefinitionNames` in
ParametersAction, and a comment saying lite wrote it. Lite reads back what it writes and the same shape from
Jenkins (items whose job it does not know are dropped, as XStream's robust reader does).

Loading renames queue.xml to queue.xml.bak, as Jenkins does; saving is Queue.Saver's timer, at most
`delay` seconds after an item enters the queue or leaves it, plus every explicit save (reload, shutdown).
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from labgen_lite.home import parameters_xml, write_atomic
from labgen_lite.identity import PRODUCT
from labgen_lite.jobs import XML_HEADER
from labgen_lite.queue import BLOCKED, BUILDABLE, WAITING, QueueItem

ELEMENTS = {WAITING: "hudson.model.Queue_-WaitingItem", BLOCKED: "hudson.model.Queue_-BlockedItem"}
ELEMENTS[BUILDABLE] = "hudson.model.Queue_-BuildableItem"
STATES = {element: state for state, element in ELEMENTS.items()}


def dump(counter: int, items: list[QueueItem]) -> bytes:
    parts = [XML_HEADER, f"<!-- written by {PRODUCT}, NOT Jenkins -->\n<hudson.model.Queue_-State>\n"]
    parts.append(f"  <counter>{counter}</counter>\n  <items>\n")
    for item in items:
        parts.append(_item_xml(item))
    parts.append("  </items>\n</hudson.model.Queue_-State>\n")
    return "".join(parts).encode()


def _item_xml(item: QueueItem) -> str:
    esc = html.escape
    element = ELEMENTS[item.state]
    params_action = parameters_xml(item.params, "        ")
    if item.state == WAITING:
        tail = f"      <timestamp>\n        <time>{item.due}</time>\n        <timezone>UTC</timezone>\n"
        tail += "      </timestamp>\n"
    else:
        tail = f"      <buildableStartMilliseconds>{item.buildable_since}</buildableStartMilliseconds>\n"
        tail += "      <isPending>false</isPending>\n" if item.state == BUILDABLE else ""
    return (
        f"    <{element}>\n      <actions>\n        <hudson.model.CauseAction>\n"
        '          <causeBag class="linked-hash-map">\n            <entry>\n'
        f"              <hudson.model.Cause_-UserIdCause>\n                <userId>{esc(item.user)}</userId>\n"
        "              </hudson.model.Cause_-UserIdCause>\n              <int>1</int>\n            </entry>\n"
        f"          </causeBag>\n        </hudson.model.CauseAction>\n{params_action}      </actions>\n"
        f"      <id>{item.id}</id>\n      <inQueueSince>{item.since}</inQueueSince>\n"
        f'      <task class="hudson.model.FreeStyleProject">{esc(item.job)}</task>\n{tail}    </{element}>\n'
    )


def parse(data: bytes) -> tuple[int, list[QueueItem]]:
    root = ET.fromstring(data)
    items = []
    for element in root.findall("./items/*"):
        state = STATES.get(element.tag)
        if state is None:
            continue
        params = tuple(
            (p.findtext("name") or "", p.findtext("value") or "") for p in element.findall(".//parameters/*")
        )
        since = int(element.findtext("inQueueSince") or 0)
        due = int(element.findtext("timestamp/time") or since)
        item = QueueItem(
            id=int(element.findtext("id") or 0),
            job=element.findtext("task") or "",
            user=element.findtext(".//userId") or "",
            params=params,
            since=since,
            due=due,
            state=state,
            buildable_since=int(element.findtext("buildableStartMilliseconds") or 0),
        )
        items.append(item)
    return int(root.findtext("counter") or 0), items


class QueueFile:
    """JENKINS_HOME/queue.xml: save (write, fsync, rename), load (then move to .bak), and the Saver timer."""

    def __init__(self, home: Path, delay: float, snapshot: Callable[[], bytes], log: Callable[[str, str], None]):
        self.path = home / "queue.xml"
        self.delay = delay
        self._snapshot = snapshot  # the queue as queue.xml bytes, taken under the app's lock
        self._log = log
        self._timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()

    def save(self) -> None:
        try:
            write_atomic(self.path, self._snapshot())
        except OSError as error:
            self._log(f"Failed to write out the queue file {self.path}: {error}", "WARNING")

    def load(self) -> tuple[int, list[QueueItem]]:
        """The saved queue (empty if none); the file is then moved to queue.xml.bak, as Jenkins does."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0, []
        backup = self.path.with_name("queue.xml.bak")
        with contextlib.suppress(OSError):
            os.unlink(backup)
        with contextlib.suppress(OSError):
            os.replace(self.path, backup)
        try:
            return parse(data)
        except (ET.ParseError, ValueError) as error:
            self._log(f"Failed to load the queue file {self.path}: {error}", "WARNING")
            return 0, []

    def push(self) -> None:
        """Queue.Saver: a save `delay` seconds from now, unless one is already planned."""
        if self.delay < 0:
            return
        with self._timer_lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.delay, self._run)
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        try:
            self.save()
        finally:
            with self._timer_lock:
                self._timer = None

    def cancel(self) -> None:
        with self._timer_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
