#!/usr/bin/env python3
"""labgen jenkins-lite: a small stand-in for Jenkins 2.190.2. It is NOT Jenkins.

It answers like a secured Jenkins master wherever HAProxy, a failover controller or a
Jenkins client (python-jenkins, curl) can tell: /login, the JSON API, CSRF crumbs bound
to an HTTP session, createItem, build, reload (503 while reloading), the on-disk
JENKINS_HOME layout and the TCP agent listener's hello and Ping protocol. Jobs live in
memory and are read from disk only at start and on reload, so an instance that did not
reload is stale, exactly like a Jenkins hot standby on a shared JENKINS_HOME.

Every response says what answered it: ``X-Labgen-Flavour: lite`` and ``X-Labgen-Node``.
Python 3.11 standard library only; run as ``python3 jenkins_lite.py``.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import shlex
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, quote, unquote, urlsplit

PRODUCT = "labgen jenkins-lite"
FLAVOUR = "lite"
AGENT_PROTOCOLS = "JNLP4-connect, Ping"
REMOTING_MINIMUM_VERSION = "3.4"
CRUMB_FIELD = "Jenkins-Crumb"
NO_CRUMB = "No valid crumb was included in the request"
MAX_BODY = 16 * 1024 * 1024
MAX_SESSIONS = 10_000
API_BUILDS_LIMIT = 100
UNSAFE_NAME_CHARS = "?*/\\%!@#$^&|<>[]:;"
XML_HEADER = "<?xml version='1.1' encoding='UTF-8'?>\n"

JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"

# root element of a job's config.xml -> (item class, build class)
ITEM_CLASSES = {
    "project": ("hudson.model.FreeStyleProject", "hudson.model.FreeStyleBuild"),
    "flow-definition": (
        "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "org.jenkinsci.plugins.workflow.job.WorkflowRun",
    ),
}
DEFAULT_ITEM_CLASSES = ITEM_CLASSES["project"]
RESULT_COLORS = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow", "ABORTED": "aborted"}

FREESTYLE_CONFIG = (
    XML_HEADER
    + """<project>
  <description></description>
  <keepDependencies>false</keepDependencies>
  <properties/>
  <scm class="hudson.scm.NullSCM"/>
  <canRoam>true</canRoam>
  <disabled>false</disabled>
  <blockBuildWhenDownstreamBuilding>false</blockBuildWhenDownstreamBuilding>
  <blockBuildWhenUpstreamBuilding>false</blockBuildWhenUpstreamBuilding>
  <triggers/>
  <concurrentBuild>false</concurrentBuild>
  <builders/>
  <publishers/>
  <buildWrappers/>
</project>
"""
)


# --------------------------------------------------------------------------- logging

_LOG_LOCK = threading.Lock()


def log(node: str, level: str, message: str) -> None:
    """One line on stdout, Jenkins-like: time, node, level, message."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    line = f"{stamp}.{int(now * 1000) % 1000:03d}+0000 [{node}] {level:<7} {message}"
    with _LOG_LOCK:
        print(line, flush=True)


# --------------------------------------------------------------------------- config


class Permission(enum.Enum):
    """The permissions this stand-in checks: (Jenkins permission id, display name)."""

    READ = ("hudson.model.Hudson.Read", "Overall/Read")
    CREATE = ("hudson.model.Item.Create", "Job/Create")
    BUILD = ("hudson.model.Item.Build", "Job/Build")
    CONFIGURE = ("hudson.model.Item.Configure", "Job/Configure")
    DELETE = ("hudson.model.Item.Delete", "Job/Delete")
    ADMINISTER = ("hudson.model.Hudson.Administer", "Overall/Administer")

    @property
    def id(self) -> str:
        return self.value[0]

    @property
    def title(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class User:
    name: str
    password: str
    token: str | None = None
    admin: bool = False

    def has(self, permission: Permission) -> bool:
        return self.admin or permission is not Permission.ADMINISTER


@dataclass(frozen=True)
class Config:
    home: Path
    http_port: int = 8080
    http_host: str = "0.0.0.0"
    agent_port: int = 8181
    version: str = "2.190.2"
    root_url: str | None = None
    node_name: str = "jenkins"
    reload_seconds: float = 1.0
    admin_user: str = "admin"
    admin_password: str | None = None
    admin_token: str | None = None
    extra_users: tuple[User, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], argv: Sequence[str] = ()) -> Config:
        """Read the JENKINS_* variables; Java/winstone style options override them."""
        java_opts = shlex.split(env.get("JAVA_OPTS", "")) + shlex.split(env.get("JENKINS_OPTS", ""))
        win_opts = shlex.split(env.get("JENKINS_OPTS", "")) + list(argv)
        agent = _last_option(java_opts, "-Djenkins.model.Jenkins.slaveAgentPort=")
        http = _last_option(win_opts, "--httpPort=")
        return cls(
            home=Path(env.get("JENKINS_HOME") or "/var/jenkins_home"),
            http_port=int(http or env.get("JENKINS_HTTP_PORT") or 8080),
            http_host=_last_option(win_opts, "--httpListenAddress=") or "0.0.0.0",
            agent_port=int(agent or env.get("JENKINS_SLAVE_AGENT_PORT") or 8181),
            version=env.get("JENKINS_VERSION") or "2.190.2",
            root_url=_with_slash(env.get("JENKINS_URL") or None),
            node_name=env.get("JENKINS_NODE_NAME") or socket.gethostname(),
            reload_seconds=float(env.get("JENKINS_RELOAD_SECONDS") or 1.0),
            admin_user=env.get("JENKINS_ADMIN_USER") or "admin",
            admin_password=env.get("JENKINS_ADMIN_PASSWORD") or None,
            admin_token=env.get("JENKINS_ADMIN_TOKEN") or None,
            extra_users=parse_users(env.get("JENKINS_EXTRA_USERS", "")),
        )


def _last_option(options: Sequence[str], prefix: str) -> str | None:
    values = [opt[len(prefix) :] for opt in options if opt.startswith(prefix)]
    return values[-1] if values else None


def _with_slash(url: str | None) -> str | None:
    if url is None:
        return None
    return url if url.endswith("/") else url + "/"


def parse_users(spec: str) -> tuple[User, ...]:
    """`user:password[:token],...` -> non-admin users (everything but Overall/Administer)."""
    users = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, rest = item.partition(":")
        password, _, token = rest.partition(":")
        if not name or not password:
            raise ValueError(f"JENKINS_EXTRA_USERS: expected user:password[:token], got {item!r}")
        users.append(User(name, password, token or None, admin=False))
    return tuple(users)


# --------------------------------------------------------------------------- disk


class BuildCollision(Exception):
    """The build directory already exists on disk: another master built that number."""


@dataclass
class Build:
    number: int
    result: str
    timestamp: int  # ms since epoch
    duration: int  # ms
    queue_id: int = 0
    user: str = ""


@dataclass
class Job:
    name: str
    config: bytes
    next_build_number: int = 1
    builds: dict[int, Build] = field(default_factory=dict)

    @property
    def root_tag(self) -> str:
        match = re.search(rb"<([A-Za-z][\w.-]*)", re.sub(rb"<[?!][^>]*>", b"", self.config))
        return match.group(1).decode() if match else "project"

    @property
    def item_class(self) -> str:
        return ITEM_CLASSES.get(self.root_tag, DEFAULT_ITEM_CLASSES)[0]

    @property
    def build_class(self) -> str:
        return ITEM_CLASSES.get(self.root_tag, DEFAULT_ITEM_CLASSES)[1]

    @property
    def disabled(self) -> bool:
        return re.search(rb"<disabled>\s*true\s*</disabled>", self.config) is not None

    @property
    def description(self) -> str:
        match = re.search(rb"<description>(.*?)</description>", self.config, re.S)
        return html.unescape(match.group(1).decode("utf-8", "replace")) if match else ""

    @property
    def color(self) -> str:
        if self.disabled:
            return "disabled"
        last = self.last(lambda b: True)
        return RESULT_COLORS.get(last.result, "notbuilt") if last else "notbuilt"

    def last(self, keep: Callable[[Build], bool]) -> Build | None:
        matching = [n for n, b in self.builds.items() if keep(b)]
        return self.builds[max(matching)] if matching else None


def write_durable(path: Path, data: bytes) -> None:
    """Plain open/write/fsync: nothing a FUSE-mounted NFS share could choke on."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temporary file beside `path`, fsync it, rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write_durable(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _xml_int(text: str, tag: str, default: int = 0) -> int:
    match = re.search(rf"<{tag}>\s*(-?\d+)\s*</{tag}>", text)
    return int(match.group(1)) if match else default


def _xml_text(text: str, tag: str, default: str = "") -> str:
    match = re.search(rf"<{tag}>([^<]*)</{tag}>", text)
    return html.unescape(match.group(1).strip()) if match else default


class Home:
    """JENKINS_HOME on disk: config.xml, jobs/<name>/{config.xml,nextBuildNumber,builds/<n>/}."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs_dir = root / "jobs"

    def job_dir(self, name: str) -> Path:
        return self.jobs_dir / name

    def ensure_layout(self, version: str, agent_port: int) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "secrets").mkdir(exist_ok=True)
        config = self.root / "config.xml"
        if not config.exists():
            write_atomic(config, self._root_config(version, agent_port).encode())

    @staticmethod
    def _root_config(version: str, agent_port: int) -> str:
        return (
            XML_HEADER
            + f"""<!-- written by {PRODUCT}, a stand-in for Jenkins, NOT Jenkins -->
<hudson>
  <version>{html.escape(version)}</version>
  <numExecutors>2</numExecutors>
  <mode>NORMAL</mode>
  <useSecurity>true</useSecurity>
  <securityRealm class="hudson.security.HudsonPrivateSecurityRealm">
    <disableSignup>true</disableSignup>
    <enableCaptcha>false</enableCaptcha>
  </securityRealm>
  <crumbIssuer class="hudson.security.csrf.DefaultCrumbIssuer">
    <excludeClientIPFromCrumb>false</excludeClientIPFromCrumb>
  </crumbIssuer>
  <slaveAgentPort>{agent_port}</slaveAgentPort>
  <primaryView>all</primaryView>
</hudson>
"""
        )

    def read_or_create_secret(self, name: str, make: Callable[[], str]) -> str:
        """A value shared by every instance on this home (created by the first one)."""
        path = self.root / "secrets" / name
        if not path.exists():
            write_atomic(path, (make() + "\n").encode())
        return path.read_text().strip()

    def load_jobs(self) -> dict[str, Job]:
        jobs: dict[str, Job] = {}
        if not self.jobs_dir.is_dir():
            return jobs
        for name in sorted(os.listdir(self.jobs_dir)):
            job = self.load_job(name)
            if job is not None:
                jobs[name] = job
        return jobs

    def load_job(self, name: str) -> Job | None:
        directory = self.job_dir(name)
        try:
            config = (directory / "config.xml").read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        job = Job(name, config, builds=self._load_builds(directory / "builds"))
        counter = directory / "nextBuildNumber"
        try:
            job.next_build_number = int(counter.read_text().strip())
        except FileNotFoundError:
            job.next_build_number = max(job.builds, default=0) + 1
            self.save_next_build_number(job)
        except ValueError:
            job.next_build_number = max(job.builds, default=0) + 1
        return job

    def _load_builds(self, builds_dir: Path) -> dict[int, Build]:
        builds: dict[int, Build] = {}
        try:
            entries = os.listdir(builds_dir)
        except (FileNotFoundError, NotADirectoryError):
            return builds
        for entry in entries:
            if entry.isdigit():
                build = self._load_build(builds_dir / entry, int(entry))
                if build is not None:
                    builds[build.number] = build
        return builds

    @staticmethod
    def _load_build(directory: Path, number: int) -> Build | None:
        try:
            text = (directory / "build.xml").read_text(errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None  # in progress elsewhere, or broken: Jenkins skips it as well
        return Build(
            number=number,
            result=_xml_text(text, "result", "FAILURE"),
            timestamp=_xml_int(text, "timestamp"),
            duration=_xml_int(text, "duration"),
            queue_id=_xml_int(text, "queueId"),
            user=_xml_text(text, "userId"),
        )

    def save_next_build_number(self, job: Job) -> None:
        write_atomic(self.job_dir(job.name) / "nextBuildNumber", f"{job.next_build_number}\n".encode())

    def write_job_config(self, name: str, config: bytes) -> None:
        directory = self.job_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / "config.xml", config)

    def claim_build_dir(self, job: Job, number: int) -> Path:
        """mkdir builds/<n>; an existing one means another master already built <n>."""
        builds_dir = self.job_dir(job.name) / "builds"
        builds_dir.mkdir(parents=True, exist_ok=True)
        directory = builds_dir / str(number)
        try:
            directory.mkdir()
        except FileExistsError:
            raise BuildCollision(
                f"JENKINS-23152: {directory} already existed; will not overwrite with {job.name} #{number}"
            ) from None
        return directory

    def write_build(self, directory: Path, build: Build, version: str, node: str) -> None:
        write_durable(directory / "build.xml", _build_xml(build, version, node).encode())
        lines = [
            f"Started by user {build.user}",
            f"[{PRODUCT}] simulated build on {node}: no build steps were run (NOT Jenkins)",
            f"Finished: {build.result}",
        ]
        write_durable(directory / "log", ("\n".join(lines) + "\n").encode())

    def delete_job(self, name: str) -> None:
        directory = self.job_dir(name)
        for parent, dirs, files in os.walk(directory, topdown=False):
            for file_name in files:
                os.unlink(os.path.join(parent, file_name))
            for dir_name in dirs:
                os.rmdir(os.path.join(parent, dir_name))
        os.rmdir(directory)


def _build_xml(build: Build, version: str, node: str) -> str:
    user = html.escape(build.user)
    return (
        XML_HEADER
        + f"""<!-- simulated by {PRODUCT} on {html.escape(node)}, NOT Jenkins -->
<build>
  <actions>
    <hudson.model.CauseAction>
      <causeBag class="linked-hash-map">
        <entry>
          <hudson.model.Cause_-UserIdCause>
            <userId>{user}</userId>
          </hudson.model.Cause_-UserIdCause>
          <int>1</int>
        </entry>
      </causeBag>
    </hudson.model.CauseAction>
  </actions>
  <queueId>{build.queue_id}</queueId>
  <timestamp>{build.timestamp}</timestamp>
  <startTime>{build.timestamp}</startTime>
  <result>{build.result}</result>
  <duration>{build.duration}</duration>
  <charset>UTF-8</charset>
  <keepLog>false</keepLog>
  <builtOn></builtOn>
  <hudsonVersion>{html.escape(version)}</hudsonVersion>
  <scm class="hudson.scm.NullChangeLogParser"/>
  <culprits class="java.util.Collections$UnmodifiableSet"/>
</build>
"""
    )


# --------------------------------------------------------------------------- security


class AuthFailure(Exception):
    """Credentials were sent and are wrong: 401."""


@dataclass(frozen=True)
class Auth:
    user: User | None = None
    via_token: bool = False

    @property
    def name(self) -> str:
        return self.user.name if self.user else "anonymous"

    def has(self, permission: Permission) -> bool:
        return self.user is not None and self.user.has(permission)


class Security:
    """Basic auth (password or API token), HTTP sessions and session-bound crumbs."""

    def __init__(self, users: Sequence[User]) -> None:
        self.users = {user.name: user for user in users}
        self.cookie_name = f"JSESSIONID.{secrets.token_hex(4)}"
        self._salt = secrets.token_bytes(32)
        self._sessions: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Auth:
        if not authorization or not authorization.lower().startswith("basic "):
            return Auth()
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise AuthFailure("Malformed basic authentication header") from None
        name, _, secret = decoded.partition(":")
        user = self.users.get(name)
        if user is not None and user.token and _same(secret, user.token):
            return Auth(user, via_token=True)
        if user is not None and _same(secret, user.password):
            return Auth(user, via_token=False)
        raise AuthFailure(f"Invalid password/token for user: {name}")

    def session(self, cookies: Mapping[str, str]) -> str | None:
        """The id of a live session named by the request's cookie, if any."""
        session_id = cookies.get(self.cookie_name)
        with self._lock:
            return session_id if session_id in self._sessions else None

    def new_session(self) -> str:
        session_id = "node0" + secrets.token_hex(12) + ".node0"
        with self._lock:
            self._sessions[session_id] = time.time()
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session_id

    def crumb(self, auth: Auth, session_id: str) -> str:
        message = f"{auth.name}\n{session_id}".encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()

    def crumb_valid(self, auth: Auth, cookies: Mapping[str, str], supplied: str | None) -> bool:
        session_id = self.session(cookies)
        if session_id is None or not supplied:
            return False
        return _same(supplied, self.crumb(auth, session_id))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check_job_name(name: str) -> str | None:
    """None if `name` is a good job name, else why not (after Jenkins.checkGoodName)."""
    if not name.strip():
        return "No name is specified"
    if name.strip() in (".", ".."):
        return f"'{name}' is not an allowed name"
    for char in name:
        if ord(char) < 32 or char in UNSAFE_NAME_CHARS:
            return f"'{char}' is an unsafe character"
    return None


# --------------------------------------------------------------------------- HTTP model


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in (self.header("cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar

    @property
    def form(self) -> dict[str, list[str]]:
        content_type = (self.header("content-type") or "").lower()
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def param(self, name: str) -> str | None:
        for source in (self.query, self.form):
            if name in source:
                return source[name][-1]
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = HTML_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data, separators=(",", ":")).encode(), JSON_TYPE)


def text_response(status: int, text: str) -> Response:
    return Response(status, (text + "\n").encode(), TEXT_TYPE)


def html_page(status: int, title: str, body: str) -> Response:
    page = (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)} [Jenkins]</title></head>"
        f"<body><p><small>{PRODUCT}: a stand-in for Jenkins, NOT Jenkins</small></p>"
        f"{body}</body></html>\n"
    )
    return Response(status, page.encode())


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", TEXT_TYPE, [("Location", location)])


def parse_tree(spec: str) -> dict[str, Any]:
    """`a,b[c,d{0,5}]` -> {"a": {}, "b": {"c": {}, "d": {}}}; raises ValueError."""
    tree, rest = _parse_tree_list(re.sub(r"\{[^}]*\}", "", spec.replace(" ", "")))
    if rest:
        raise ValueError(f"unexpected {rest!r} in tree")
    return tree


def _parse_tree_list(text: str) -> tuple[dict[str, Any], str]:
    tree: dict[str, Any] = {}
    while True:
        match = re.match(r"[\w$]+", text)
        if not match:
            raise ValueError(f"expected a name at {text!r}")
        name, text = match.group(0), text[match.end() :]
        tree[name] = {}
        if text.startswith("["):
            tree[name], text = _parse_tree_list(text[1:])
            if not text.startswith("]"):
                raise ValueError("unbalanced [")
            text = text[1:]
        if not text.startswith(","):
            return tree, text
        text = text[1:]


def apply_tree(value: Any, tree: dict[str, Any]) -> Any:
    """Keep only what `tree` names (and `_class`), like Jenkins's ?tree= filter."""
    if isinstance(value, list):
        return [apply_tree(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {"_class": value["_class"]} if "_class" in value else {}
    for key, sub in tree.items():
        if key in value:
            kept[key] = apply_tree(value[key], sub)
    return kept


# --------------------------------------------------------------------------- the app


@dataclass
class QueueItem:
    id: int
    job: str
    number: int
    since: int
    user: str


Handler = Callable[[Request, Auth], Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    permission: Permission | None  # None: readable by anyone (/login, ...)
    post_only: bool = False


class JenkinsLite:
    """The HTTP behaviour of one Jenkins master; transport-free (Request -> Response)."""

    def __init__(self, config: Config, agent_port: int | None = None) -> None:
        self.config = config
        self.version = config.version
        self.node = config.node_name
        self.agent_port = config.agent_port if agent_port is None else agent_port
        self.session_hash = secrets.token_hex(4)
        self.home = Home(config.home)
        self.home.ensure_layout(config.version, self.agent_port)
        self.security = Security(self._users())
        self.identity = self.home.read_or_create_secret("labgen-lite-instance-identity", _fake_identity)
        self.lock = threading.RLock()
        self.jobs = self.home.load_jobs()
        self.queue: dict[int, QueueItem] = {}
        self.next_queue_id = 1
        self.reloading = threading.Event()
        self._common = [
            ("X-Jenkins", self.version),
            ("X-Hudson", "1.395"),
            ("X-Jenkins-Session", self.session_hash),
            ("X-Labgen-Flavour", FLAVOUR),
            ("X-Labgen-Node", self.node),
            ("X-Content-Type-Options", "nosniff"),
        ]
        self._login_page = html_page(
            200, "Sign in", "<h1>Welcome to Jenkins!</h1><form method='post' action='j_acegi_security_check'></form>"
        ).body

    def _users(self) -> list[User]:
        password = self.config.admin_password
        if not password:
            password = self.home.read_or_create_secret("initialAdminPassword", lambda: secrets.token_hex(16))
            self.log(f"JENKINS_ADMIN_PASSWORD unset: the password is in {self.home.root}/secrets/initialAdminPassword")
        admin = User(self.config.admin_user, password, self.config.admin_token, admin=True)
        return [admin, *self.config.extra_users]

    def log(self, message: str, level: str = "INFO") -> None:
        log(self.node, level, message)

    # ---- request pipeline

    def handle(self, request: Request) -> Response:
        try:
            response = self._dispatch(request)
        except Exception:  # a bug must not kill the server: answer 500 like Jenkins
            self.log(f"{request.method} {request.path}: {traceback.format_exc()}", "SEVERE")
            response = html_page(500, "Oops!", "<h1>Oops!</h1><p>A problem occurred while processing the request.</p>")
        response.headers[:0] = self._common
        return response

    def handle_error(self, status: int, message: str) -> Response:
        """A request too broken to route (bad request line, bad body): still say who answers."""
        response = text_response(status, message)
        response.headers[:0] = self._common
        return response

    def _dispatch(self, request: Request) -> Response:
        if self.reloading.is_set():
            return self._loading_page()
        try:
            auth = self.security.authenticate(request.header("authorization"))
        except AuthFailure as failure:
            return Response(401, f"{failure}\n".encode(), TEXT_TYPE, [("WWW-Authenticate", 'Basic realm="Jenkins"')])
        if request.method == "POST" and not auth.via_token:
            supplied = request.header(CRUMB_FIELD) or request.param(CRUMB_FIELD)
            if not self.security.crumb_valid(auth, request.cookies, supplied):
                return self._forbidden(auth, NO_CRUMB)
        segments = [unquote(part) for part in request.path.split("/") if part]
        route = self._route(segments, request.method)
        if (route is None or route.permission is not None) and not auth.has(Permission.READ):
            return self._denied(auth, Permission.READ)
        if route is None:
            return html_page(404, "Not Found", "<h1>Not Found</h1>")
        if route.post_only and request.method != "POST":
            return html_page(405, "This URL requires POST", "<h1>This URL requires POST</h1>")
        if route.permission is not None and not auth.has(route.permission):
            return self._denied(auth, route.permission)
        return route.handler(request, auth)

    def _loading_page(self) -> Response:
        return html_page(
            503, "Starting Jenkins", "<p>Please wait while Jenkins is getting ready to work (reloading)...</p>"
        )

    def _forbidden(self, auth: Auth, message: str) -> Response:
        response = html_page(403, "Error 403", f"<h2>HTTP ERROR 403</h2><p>{html.escape(message)}</p>")
        response.headers.append(("X-You-Are-Authenticated-As", auth.name))
        return response

    def _denied(self, auth: Auth, permission: Permission) -> Response:
        if auth.user is None:
            message = "Authentication required"
        else:
            message = f"{auth.name} is missing the {permission.title} permission"
        response = self._forbidden(auth, message)
        response.headers.append(("X-Required-Permission", permission.id))
        return response

    def _route(self, segments: list[str], method: str) -> Route | None:
        read = Permission.READ
        match segments:
            case []:
                return Route(self.page_root, read)
            case ["api", "json"]:
                return Route(self.api_root, read)
            case ["login"]:
                return Route(self.page_login, None)
            case ["tcpSlaveAgentListener"]:
                return Route(self.page_agent_listener, None) if self.agent_port > 0 else None
            case ["whoAmI", "api", "json"]:
                return Route(self.api_whoami, None)
            case ["me", "api", "json"]:
                return Route(self.api_me, read)
            case ["crumbIssuer", "api", "json" | "xml" as kind]:
                return Route(lambda r, a: self.api_crumb(r, a, kind), read)
            case ["createItem"]:
                return Route(self.post_create_item, Permission.CREATE, post_only=True)
            case ["reload"]:
                return Route(self.post_reload, Permission.ADMINISTER, post_only=True)
            case ["queue", "api", "json"]:
                return Route(lambda r, a: json_response({"_class": "hudson.model.Queue", "items": []}), read)
            case ["queue", "item", item_id, "api", "json"] if item_id.isdigit():
                return Route(lambda r, a: self.api_queue_item(r, int(item_id)), read)
            case ["job", name, *rest]:
                return self._job_route(name, rest, method)
        return None

    def _job_route(self, name: str, rest: list[str], method: str) -> Route | None:
        read = Permission.READ
        match rest:
            case []:
                return Route(lambda r, a: self.page_job(r, name), read)
            case ["api", "json"]:
                return Route(lambda r, a: self.api_job(r, name), read)
            case ["config.xml"] if method == "POST":
                return Route(lambda r, a: self.update_config(r, name), Permission.CONFIGURE)
            case ["config.xml"]:
                return Route(lambda r, a: self.job_config(name), read)
            case ["build" | "buildWithParameters"]:
                return Route(lambda r, a: self.post_build(r, a, name), Permission.BUILD, post_only=True)
            case ["doDelete"]:
                return Route(lambda r, a: self.post_delete(r, name), Permission.DELETE, post_only=True)
            case [ref, "api", "json"]:
                return Route(lambda r, a: self.api_build(r, name, ref), read)
            case [ref, "consoleText"]:
                return Route(lambda r, a: self.console_text(name, ref), read)
        return None

    # ---- helpers

    def root_url(self, request: Request) -> str:
        if self.config.root_url:
            return self.config.root_url
        scheme = request.header("x-forwarded-proto") or "http"
        host = request.header("x-forwarded-host") or request.header("host")
        return f"{scheme}://{host or f'{self.config.http_host}:{self.config.http_port}'}/"

    @staticmethod
    def job_path(name: str) -> str:
        return f"job/{quote(name, safe='')}/"

    def _reply(self, request: Request, data: dict[str, Any]) -> Response:
        tree = request.param("tree")
        if tree:
            with contextlib.suppress(ValueError):  # tolerate a tree we cannot parse: answer everything
                data = apply_tree(data, parse_tree(tree))
        return json_response(data)

    def _job_summary(self, job: Job, root: str) -> dict[str, Any]:
        return {"_class": job.item_class, "name": job.name, "url": root + self.job_path(job.name), "color": job.color}

    def _build_ref(self, job: Job, build: Build | None, root: str) -> dict[str, Any] | None:
        if build is None:
            return None
        return {
            "_class": job.build_class,
            "number": build.number,
            "url": f"{root}{self.job_path(job.name)}{build.number}/",
        }

    def _find_build(self, job: Job, ref: str) -> Build | None:
        if ref.isdigit():
            return job.builds.get(int(ref))
        permalinks: dict[str, Callable[[Build], bool]] = {
            "lastBuild": lambda b: True,
            "lastCompletedBuild": lambda b: True,
            "lastSuccessfulBuild": lambda b: b.result in ("SUCCESS", "UNSTABLE"),
            "lastStableBuild": lambda b: b.result == "SUCCESS",
            "lastFailedBuild": lambda b: b.result == "FAILURE",
            "lastUnstableBuild": lambda b: b.result == "UNSTABLE",
            "lastUnsuccessfulBuild": lambda b: b.result != "SUCCESS",
        }
        if ref == "firstBuild":
            return job.builds[min(job.builds)] if job.builds else None
        keep = permalinks.get(ref)
        return job.last(keep) if keep else None

    def _causes(self, user: str) -> list[dict[str, Any]]:
        cause = {
            "_class": "hudson.model.Cause$UserIdCause",
            "shortDescription": f"Started by user {user}",
            "userId": user,
            "userName": user,
        }
        return [{"_class": "hudson.model.CauseAction", "causes": [cause]}]

    # ---- pages and API

    def page_login(self, request: Request, auth: Auth) -> Response:
        return Response(200, self._login_page)

    def page_agent_listener(self, request: Request, auth: Auth) -> Response:
        response = Response(200, b"Jenkins\n", TEXT_TYPE)
        response.headers += [
            ("X-Jenkins-JNLP-Port", str(self.agent_port)),
            ("X-Jenkins-Agent-Protocols", AGENT_PROTOCOLS),
            ("X-Remoting-Minimum-Version", REMOTING_MINIMUM_VERSION),
            ("X-Instance-Identity", self.identity),
        ]
        return response

    def page_root(self, request: Request, auth: Auth) -> Response:
        with self.lock:
            rows = "".join(
                f"<li><a href='{self.job_path(j.name)}'>{html.escape(j.name)}</a> ({j.color})</li>"
                for j in self._sorted_jobs()
            )
        return html_page(200, "Dashboard", f"<h1>Jenkins on {html.escape(self.node)}</h1><ul>{rows}</ul>")

    def _sorted_jobs(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda job: job.name.lower())

    def api_root(self, request: Request, auth: Auth) -> Response:
        root = self.root_url(request)
        with self.lock:
            jobs = [self._job_summary(job, root) for job in self._sorted_jobs()]
        view = {"_class": "hudson.model.AllView", "name": "all", "url": root}
        return self._reply(
            request,
            {
                "_class": "hudson.model.Hudson",
                "assignedLabels": [{"name": "master"}],
                "mode": "NORMAL",
                "nodeDescription": f"the master Jenkins node ({PRODUCT} on {self.node}, NOT Jenkins)",
                "nodeName": "",
                "numExecutors": 2,
                "description": None,
                "jobs": jobs,
                "overallLoad": {},
                "primaryView": view,
                "quietingDown": False,
                "slaveAgentPort": self.agent_port,
                "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
                "useCrumbs": True,
                "useSecurity": True,
                "views": [view],
            },
        )

    def api_whoami(self, request: Request, auth: Auth) -> Response:
        authorities = ["authenticated"] if auth.user else []
        return json_response(
            {
                "_class": "hudson.security.WhoAmI",
                "anonymous": auth.user is None,
                "authenticated": auth.user is not None,
                "authorities": authorities,
                "details": None,
                "name": auth.name,
                "toString": f"{PRODUCT} principal {auth.name}",
            }
        )

    def api_me(self, request: Request, auth: Auth) -> Response:
        return json_response(
            {
                "_class": "hudson.model.User",
                "absoluteUrl": f"{self.root_url(request)}user/{quote(auth.name)}",
                "description": None,
                "fullName": auth.name,
                "id": auth.name,
                "property": [],
            }
        )

    def api_crumb(self, request: Request, auth: Auth, kind: str) -> Response:
        session_id = self.security.session(request.cookies)
        headers = []
        if session_id is None:
            session_id = self.security.new_session()
            headers.append(("Set-Cookie", f"{self.security.cookie_name}={session_id}; Path=/; HttpOnly"))
        crumb = self.security.crumb(auth, session_id)
        issuer = "hudson.security.csrf.DefaultCrumbIssuer"
        if kind == "json":
            response = json_response({"_class": issuer, "crumb": crumb, "crumbRequestField": CRUMB_FIELD})
        elif "concat" in (request.param("xpath") or ""):
            response = Response(200, f"{CRUMB_FIELD}:{crumb}".encode(), TEXT_TYPE)
        else:
            body = (
                f'<defaultCrumbIssuer _class="{issuer}"><crumb>{crumb}</crumb>'
                f"<crumbRequestField>{CRUMB_FIELD}</crumbRequestField></defaultCrumbIssuer>"
            )
            response = Response(200, body.encode(), XML_TYPE)
        response.headers += headers
        return response

    def api_queue_item(self, request: Request, item_id: int) -> Response:
        root = self.root_url(request)
        with self.lock:
            item = self.queue.get(item_id)
            job = self.jobs.get(item.job) if item else None
            if item is None or job is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            executable = self._build_ref(job, job.builds.get(item.number), root)
            task = self._job_summary(job, root)
        return self._reply(
            request,
            {
                "_class": "hudson.model.Queue$LeftItem",
                "actions": self._causes(item.user),
                "blocked": False,
                "buildable": False,
                "id": item.id,
                "inQueueSince": item.since,
                "params": "",
                "stuck": False,
                "task": task,
                "url": f"queue/item/{item.id}/",
                "why": None,
                "cancelled": False,
                "executable": executable,
            },
        )

    def page_job(self, request: Request, name: str) -> Response:
        with self.lock:
            job = self.jobs.get(name)
            if job is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            rows = "".join(f"<li>#{n} {b.result}</li>" for n, b in sorted(job.builds.items(), reverse=True))
        return html_page(200, name, f"<h1>Project {html.escape(name)}</h1><ul>{rows}</ul>")

    def api_job(self, request: Request, name: str) -> Response:
        root = self.root_url(request)
        with self.lock:
            job = self.jobs.get(name)
            if job is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            data = self._job_data(job, root)
        return self._reply(request, data)

    def _job_data(self, job: Job, root: str) -> dict[str, Any]:
        def ref(ref_name: str) -> dict[str, Any] | None:
            return self._build_ref(job, self._find_build(job, ref_name), root)

        newest = sorted(job.builds, reverse=True)[:API_BUILDS_LIMIT]
        return {
            **self._job_summary(job, root),
            "actions": [],
            "description": job.description,
            "displayName": job.name,
            "displayNameOrNull": None,
            "fullDisplayName": job.name,
            "fullName": job.name,
            "buildable": not job.disabled,
            "builds": [self._build_ref(job, job.builds[n], root) for n in newest],
            "firstBuild": ref("firstBuild"),
            "healthReport": [],
            "inQueue": False,
            "keepDependencies": False,
            "lastBuild": ref("lastBuild"),
            "lastCompletedBuild": ref("lastCompletedBuild"),
            "lastFailedBuild": ref("lastFailedBuild"),
            "lastStableBuild": ref("lastStableBuild"),
            "lastSuccessfulBuild": ref("lastSuccessfulBuild"),
            "lastUnstableBuild": ref("lastUnstableBuild"),
            "lastUnsuccessfulBuild": ref("lastUnsuccessfulBuild"),
            "nextBuildNumber": job.next_build_number,
            "property": [],
            "queueItem": None,
            "concurrentBuild": False,
            "disabled": job.disabled,
            "downstreamProjects": [],
            "labelExpression": None,
            "scm": {"_class": "hudson.scm.NullSCM"},
            "upstreamProjects": [],
        }

    def api_build(self, request: Request, name: str, ref: str) -> Response:
        root = self.root_url(request)
        with self.lock:
            job = self.jobs.get(name)
            build = self._find_build(job, ref) if job else None
            if job is None or build is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            data = {
                **(self._build_ref(job, build, root) or {}),
                "actions": self._causes(build.user),
                "artifacts": [],
                "building": False,
                "description": None,
                "displayName": f"#{build.number}",
                "duration": build.duration,
                "estimatedDuration": build.duration,
                "executor": None,
                "fullDisplayName": f"{job.name} #{build.number}",
                "id": str(build.number),
                "keepLog": False,
                "queueId": build.queue_id,
                "result": build.result,
                "timestamp": build.timestamp,
                "builtOn": "",
                "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
                "culprits": [],
            }
        return self._reply(request, data)

    def console_text(self, name: str, ref: str) -> Response:
        with self.lock:
            job = self.jobs.get(name)
            build = self._find_build(job, ref) if job else None
        if build is None:
            return html_page(404, "Not Found", "<h1>Not Found</h1>")
        try:
            text = (self.home.job_dir(name) / "builds" / str(build.number) / "log").read_bytes()
        except OSError:
            text = b""
        return Response(200, text, TEXT_TYPE)

    # ---- writes

    def job_config(self, name: str) -> Response:
        with self.lock:
            job = self.jobs.get(name)
            config = job.config if job else None
        if config is None:
            return html_page(404, "Not Found", "<h1>Not Found</h1>")
        return Response(200, config, XML_TYPE)

    def update_config(self, request: Request, name: str) -> Response:
        problem = _xml_problem(request.body)
        if problem:
            return text_response(400, problem)
        with self.lock:
            job = self.jobs.get(name)
            if job is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            self.home.write_job_config(name, request.body)
            job.config = request.body
        self.log(f"{name}: configuration updated")
        return Response(200)

    def post_create_item(self, request: Request, auth: Auth) -> Response:
        name = (request.param("name") or "").strip()
        mode = request.param("mode")
        content_type = (request.header("content-type") or "").lower()
        is_xml = content_type.startswith(("application/xml", "text/xml"))
        if request.param("name") is None:
            return self._create_error("Query parameter 'name' is required")
        problem = check_job_name(name)
        if problem:
            return self._create_error(problem)
        with self.lock:
            if name in self.jobs:
                return self._create_error(f"A job already exists with the name '{name}'")
            if mode == "copy":
                source = self.jobs.get(request.param("from") or "")
                if source is None:
                    return self._create_error(f"No such job: {request.param('from')}")
                config = source.config
            elif is_xml:
                problem = _xml_problem(request.body)
                if problem:
                    return self._create_error(problem)
                config = request.body
            elif mode:
                config = FREESTYLE_CONFIG.encode()
            else:
                return self._create_error("No mode given" if content_type else "No Content-Type header set")
            self.home.write_job_config(name, config)
            job = self.home.load_job(name)
            if job is None:
                raise OSError(f"{name}: config.xml vanished right after it was written")
            self.jobs[name] = job
        self.log(f"{name}: created by {auth.name}")
        if is_xml:
            return Response(200)
        return redirect(self.root_url(request) + self.job_path(name))

    def _create_error(self, message: str) -> Response:
        response = html_page(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>")
        response.headers.append(("X-Error", message))
        return response

    def post_build(self, request: Request, auth: Auth, name: str) -> Response:
        with self.lock:
            job = self.jobs.get(name)
            if job is None:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            if job.disabled:
                return text_response(409, f"java.io.IOException: {name} is not buildable")
            try:
                item = self._run_build(job, auth.name)
            except BuildCollision as collision:
                message = f"java.lang.IllegalStateException: {collision}"
                self.log(f"Executor #0 for master: {name}: {message}", "SEVERE")
                return text_response(500, message)
        self.log(f"{name} #{item.number} SUCCESS (queue item {item.id}, started by {auth.name})")
        return Response(201, b"", TEXT_TYPE, [("Location", f"{self.root_url(request)}queue/item/{item.id}/")])

    def _run_build(self, job: Job, user: str) -> QueueItem:
        """Take this instance's next number (in memory), persist it, claim builds/<n>, finish."""
        number = job.next_build_number
        job.next_build_number += 1
        self.home.save_next_build_number(job)
        directory = self.home.claim_build_dir(job, number)
        queue_id, self.next_queue_id = self.next_queue_id, self.next_queue_id + 1
        started = int(time.time() * 1000)
        build = Build(number, "SUCCESS", started, 1, queue_id, user)
        self.home.write_build(directory, build, self.version, self.node)
        job.builds[number] = build
        item = QueueItem(queue_id, job.name, number, started, user)
        self.queue[queue_id] = item
        return item

    def post_delete(self, request: Request, name: str) -> Response:
        with self.lock:
            if name not in self.jobs:
                return html_page(404, "Not Found", "<h1>Not Found</h1>")
            del self.jobs[name]
            self.home.delete_job(name)
        self.log(f"{name}: deleted")
        return redirect(self.root_url(request))

    def post_reload(self, request: Request, auth: Auth) -> Response:
        self.start_reload(f"requested by {auth.name}")
        return redirect(self.root_url(request))

    def start_reload(self, why: str) -> None:
        """Every URL answers 503 for reload_seconds; then jobs are re-read from disk."""
        self.reloading.set()
        self.log(f"Reloading configuration from disk ({why}); answering 503 meanwhile")
        threading.Thread(target=self._reload, name="config reload", daemon=True).start()

    def _reload(self) -> None:
        try:
            time.sleep(self.config.reload_seconds)
            jobs = self.home.load_jobs()
            with self.lock:
                self.jobs = jobs
            self.log(f"Reload complete: {len(jobs)} job(s) read from {self.home.jobs_dir}")
        except Exception:  # keep serving whatever was loaded before
            self.log(f"Reload failed: {traceback.format_exc()}", "SEVERE")
        finally:
            self.reloading.clear()


def _xml_problem(body: bytes) -> str | None:
    """None if `body` is well-formed XML, else a Jenkins-like complaint."""
    if not body.strip():
        return "Failed to parse XML: empty request body"
    try:
        ET.fromstring(body)
    except ET.ParseError as error:
        return f"Failed to parse XML: {error}"
    return None


def _fake_identity() -> str:
    """Base64 that looks like an RSA SubjectPublicKeyInfo; it is random, not a key."""
    prefix = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00")
    return base64.b64encode(prefix + secrets.token_bytes(270)).decode()


# --------------------------------------------------------------------------- HTTP transport


class LiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: JenkinsLite) -> None:
        self.app = app
        super().__init__(address, LiteRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away: nothing to report
        self.app.log(f"error serving {client_address[0]}: {traceback.format_exc()}", "WARNING")


class LiteRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "labgen-jenkins-lite"
    timeout = 120
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def version_string(self) -> str:
        return f"{self.server_version}/{self.app.version}"

    @property
    def app(self) -> JenkinsLite:
        return cast(LiteHTTPServer, self.server).app

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as error:
            self.close_connection = True
            self._send(self.app.handle_error(400, str(error)))
            return
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path or "/",
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client=self.client_address[0],
        )
        self._send(self.app.handle(request))

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError(f"bad Content-Length {length}")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ValueError("request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value.encode("latin-1", "replace").decode("latin-1"))
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        path = urlsplit(self.path).path
        self.app.log(f'{self.client_address[0]} "{self.command} {path}" {response.status}', "HTTP")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods still get this instance's headers."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # the stdlib would drop the status line and headers
        self.command = getattr(self, "command", None) or "-"  # unset when the request line is bad
        self.path = getattr(self, "path", None) or "-"
        self._send(self.app.handle_error(code, message or "error"))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _send


# --------------------------------------------------------------------------- TCP agent listener


class AgentListener(socketserver.ThreadingTCPServer):
    """hudson.TcpSlaveAgentListener: hello on `GET /`, the Ping protocol, nothing else."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app_info: AgentInfo) -> None:
        self.info = app_info
        super().__init__(address, AgentConnection)


@dataclass
class AgentInfo:
    version: str
    session_hash: str
    node: str


def recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class AgentConnection(socketserver.BaseRequestHandler):
    IDLE_SECONDS = 30.0

    @property
    def info(self) -> AgentInfo:
        return cast(AgentListener, self.server).info

    def handle(self) -> None:
        sock = cast(socket.socket, self.request)
        sock.settimeout(self.IDLE_SECONDS)
        try:
            head = recv_exact(sock, 10)
            if head is None:
                return
            if head.startswith(b"GET "):
                self._hello(sock, head)
            else:
                self._protocol(sock, head)
        except OSError:
            pass

    def _hello(self, sock: socket.socket, head: bytes) -> None:
        if head.startswith(b"GET / "):
            lines = [
                f"Jenkins-Agent-Protocols: {AGENT_PROTOCOLS}",
                f"Jenkins-Version: {self.info.version}",
                f"Jenkins-Session: {self.info.session_hash}",
                f"Client: {sock.getpeername()[0]}",
                f"Server: {sock.getsockname()[0]}",
                f"Remoting-Minimum-Version: {REMOTING_MINIMUM_VERSION}",
            ]
            body = "".join(line + "\r\n" for line in lines)
            response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n" + body
        else:
            response = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nNot Found\r\n"
        sock.sendall(response.encode())
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass  # like Jenkins: drain until the client closes

    def _protocol(self, sock: socket.socket, head: bytes) -> None:
        """Java DataInput.readUTF: 2-byte big-endian length, then the bytes."""
        length = int.from_bytes(head[:2], "big")
        rest = recv_exact(sock, max(0, length + 2 - len(head)))
        if rest is None:
            return
        text = (head + rest)[2 : 2 + length].decode("utf-8", "replace")
        if not text.startswith("Protocol:"):
            self._error(sock, f"Unrecognized protocol: {text}")
        elif text == "Protocol:Ping":
            sock.sendall(b"Ping\n")
        elif text[9:] in ("JNLP4-connect",):
            log(self.info.node, "WARNING", f"{self.client_address[0]}: JNLP4-connect is not implemented by {PRODUCT}")
        else:
            self._error(sock, "Unknown protocol:")

    def _error(self, sock: socket.socket, message: str) -> None:
        sock.sendall((message + "\n").encode())
        log(self.info.node, "WARNING", f"agent connection from {self.client_address[0]} aborted: {message}")


# --------------------------------------------------------------------------- process


class LiteServer:
    """One instance: the HTTP port and the agent port, each served by a thread."""

    def __init__(self, config: Config, poll_interval: float = 0.5) -> None:
        self.poll_interval = poll_interval  # how fast stop() is noticed
        self.agent: AgentListener | None = None
        agent_port = config.agent_port
        if agent_port >= 0:
            info = AgentInfo(config.version, "", config.node_name)
            self.agent = AgentListener((config.http_host, agent_port), info)
            agent_port = self.agent.server_address[1]
        self.app = JenkinsLite(config, agent_port=agent_port)
        if self.agent is not None:
            self.agent.info.session_hash = self.app.session_hash
        self.http = LiteHTTPServer((config.http_host, config.http_port), self.app)
        self._threads: list[threading.Thread] = []

    @property
    def http_port(self) -> int:
        return int(self.http.server_address[1])

    @property
    def agent_port(self) -> int:
        return self.app.agent_port

    def _servers(self) -> list[socketserver.BaseServer]:
        return [self.http] if self.agent is None else [self.http, self.agent]

    def start(self) -> None:
        for server in self._servers():
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": self.poll_interval}, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both listeners at once (each shutdown() waits up to one poll interval)."""
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers():
            server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    config = Config.from_env(os.environ, sys.argv[1:] if argv is None else argv)
    log(config.node_name, "INFO", f"{PRODUCT} {config.version}: a stand-in for Jenkins, NOT Jenkins")
    server = LiteServer(config)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log(config.node_name, "INFO", f"{signal.Signals(signum).name} received: shutting down")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    app = server.app
    app.log(
        f"JENKINS_HOME={config.home} http={config.http_host}:{server.http_port} "
        f"agent port={server.agent_port} session={app.session_hash} jobs={len(app.jobs)}"
    )
    app.log(f"Jenkins is fully up and running ({PRODUCT} on {config.node_name}, NOT Jenkins)")
    while not stop.wait(1.0):
        pass
    server.stop()
    app.log("shut down cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
