"""labgen jenkins-lite: a small stand-in for Jenkins 2.190.2. It is NOT Jenkins.

It answers like a secured Jenkins master wherever HAProxy, a failover controller or a
Jenkins client (python-jenkins, api4jenkins, curl) can tell: /login, the JSON API, CSRF crumbs
bound to an HTTP session, createItem, reload (503 while reloading), the on-disk JENKINS_HOME
layout and the TCP agent listener's hello and Ping protocol. Freestyle builds run their shell
steps on two executors behind a real queue (quiet period, blocking, parameters, stop, cancel,
quietDown), with the log streamed to builds/N/log and build.xml written at the end; the queue is
saved to queue.xml as Jenkins saves it (including on reload, first); DoubleLaunchChecker watches
JENKINS_HOME/.owner. Jobs live in memory and are read from disk only at start and on reload, so
an instance that did not reload is stale, exactly like a Jenkins hot standby on a shared
JENKINS_HOME.

Every response says what answered it: ``X-Labgen-Flavour: lite`` and ``X-Labgen-Node``.
Python 3.11 standard library only; run as ``python3 -m labgen_lite``.
"""

from labgen_lite.config import Config
from labgen_lite.security import User
from labgen_lite.server import LiteServer

__all__ = ["Config", "LiteServer", "User"]
