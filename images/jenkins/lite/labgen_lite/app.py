"""One Jenkins master as lite keeps it: settings, JENKINS_HOME, users, and the jobs and queue in memory."""

from __future__ import annotations

import secrets
import threading

from labgen_lite.config import Config
from labgen_lite.executors import Executors
from labgen_lite.home import Home, RootSettings
from labgen_lite.identity import FLAVOUR, fake_instance_identity
from labgen_lite.jobs import Job
from labgen_lite.logs import log
from labgen_lite.owner import DoubleLaunchChecker
from labgen_lite.queue import Queue
from labgen_lite.queuexml import QueueFile, dump
from labgen_lite.security import Security, User
from labgen_lite.users import TokenStore
from labgen_lite.views import load_views
from labgen_lite.web import Request, Response


class JenkinsLite:
    """The state the HTTP handlers share; `lock` guards `jobs`, `queue`, the executors and `quieting_down`."""

    def __init__(self, config: Config, agent_port: int | None = None) -> None:
        self.config = config
        self.version = config.version
        self.node = config.node_name
        self.agent_port = config.agent_port if agent_port is None else agent_port
        self.session_hash = secrets.token_hex(4)
        self.home = Home(config.home)
        self.home.ensure_layout(config.version, self.agent_port)
        remember_key = self.home.read_or_create_secret("labgen-lite-remember-me-key", lambda: secrets.token_hex(32))
        self.security = Security(self._users(), remember_key.encode())
        self.tokens = TokenStore(config.home)  # users' generated API tokens, read again on reload
        self.tokens.load()
        self.security.generated_token = self.tokens.matches
        self.identity = self.home.read_or_create_secret("labgen-lite-instance-identity", fake_instance_identity)
        self.lock = threading.RLock()
        self.settings: RootSettings = self.home.root_settings()
        self.jobs = self.home.load_jobs(config.load_concurrency)
        self.names_answer: tuple[tuple[object, ...], Response] | None = None  # api_root's, for one job set
        self.views = load_views(self.home.root)  # read again on reload, like the jobs
        self.queue = Queue()
        self.queue_file = QueueFile(config.home, config.queue_save_seconds, self.queue_xml, self.log)
        self.queue.replace(*self.queue_file.load())
        self.quieting_down = False  # Jenkins.isQuietingDown: in memory only
        self.offline_cause: str | None = None  # the built-in node temporarily offline (in memory): why
        self.reloading = threading.Event()
        self.executors = Executors(self)
        self.owner = DoubleLaunchChecker(config.home, config.owner_check_seconds, self.log)
        # on every response, errors included: who answered
        self.identity_headers = [
            ("X-Jenkins", self.version),
            ("X-Hudson", "1.395"),
            ("X-Jenkins-Session", self.session_hash),
            ("X-Labgen-Flavour", FLAVOUR),
            ("X-Labgen-Node", self.node),
            ("X-Content-Type-Options", "nosniff"),
        ]

    def _users(self) -> list[User]:
        password = self.config.admin_password
        if not password:
            password = self.home.read_or_create_secret("initialAdminPassword", lambda: secrets.token_hex(16))
            self.log(f"JENKINS_ADMIN_PASSWORD unset: the password is in {self.home.root}/secrets/initialAdminPassword")
        admin = User(self.config.admin_user, password, self.config.admin_token, admin=True)
        return [admin, *self.config.extra_users]

    def start(self) -> None:
        """The threads of a running master: Queue.maintain with the executors, DoubleLaunchChecker."""
        self.executors.start()
        self.owner.start()

    def stop(self) -> None:
        """Jenkins.cleanUp, roughly: running builds are aborted, the queue is saved."""
        self.owner.stop()
        self.executors.stop()
        self.queue_file.cancel()
        self.queue_file.save()

    def queue_xml(self) -> bytes:
        with self.lock:
            return dump(self.queue.counter, self.queue.ordered())

    def quiet_period(self) -> int:
        """Seconds a new queue item waits (global quietPeriod; JENKINS_QUIET_PERIOD overrides it)."""
        configured = self.config.quiet_period
        return self.settings.quiet_period if configured is None else configured

    def log(self, message: str, level: str = "INFO") -> None:
        log(self.node, level, message)

    def root_url(self, request: Request) -> str:
        if self.config.root_url:
            return self.config.root_url
        scheme = request.header("x-forwarded-proto") or "http"
        host = request.header("x-forwarded-host") or request.header("host")
        return f"{scheme}://{host or f'{self.config.http_host}:{self.config.http_port}'}/"

    def sorted_jobs(self) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda job: job.name.lower())
