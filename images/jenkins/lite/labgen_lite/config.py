"""Settings from the environment (JENKINS_*) and the Java/winstone style options that override them."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from labgen.model import names
from labgen_lite.security import User

STATS_URL_ENV = names.LITE_STATS_URL_ENV  # HAProxy's stats page, for the pages' link


@dataclass(frozen=True)
class Config:
    home: Path
    http_port: int = 8080
    http_host: str = "0.0.0.0"
    agent_port: int = 8181
    version: str = names.JENKINS_VERSION
    root_url: str | None = None
    node_name: str = "jenkins"
    reload_seconds: float = 1.0
    admin_user: str = "admin"
    admin_password: str | None = None
    admin_token: str | None = None
    extra_users: tuple[User, ...] = ()
    queue_save_seconds: float = 60.0  # hudson.model.Queue.Saver.DELAY_SECONDS; negative: never
    owner_check_seconds: float = 3600.0  # DoubleLaunchChecker: every 1 to 1.5 times this, random
    quiet_period: int | None = None  # None: <quietPeriod> of config.xml (Jenkins' default 5)
    shell: str = "/bin/sh"  # hudson.tasks.Shell's default shell on Unix
    load_concurrency: int | None = None  # InitReactorRunner's threads; None: twice the CPUs (TWICE_CPU_NUM)
    stats_url: str | None = None  # HAProxy's stats page as a browser reaches it (lite's pages link it)

    @classmethod
    def from_env(cls, env: Mapping[str, str], argv: Sequence[str] = ()) -> Config:
        """Read the JENKINS_* variables; Java/winstone style options override them."""
        java_opts = shlex.split(env.get("JAVA_OPTS", "")) + shlex.split(env.get("JENKINS_OPTS", ""))
        win_opts = shlex.split(env.get("JENKINS_OPTS", "")) + list(argv)
        agent = _last_option(java_opts, "-Djenkins.model.Jenkins.slaveAgentPort=")
        saver = _last_option(java_opts, "-Dhudson.model.Queue.Saver.DELAY_SECONDS=")
        quiet = env.get("JENKINS_QUIET_PERIOD")
        concurrency = _last_option(java_opts, "-Djenkins.InitReactorRunner.concurrency=")
        if (_last_option(java_opts, "-Djenkins.model.Jenkins.parallelLoad=") or "").lower() == "false":
            concurrency = "1"  # Jenkins.PARALLEL_LOAD off: a single-thread executor
        http = _last_option(win_opts, "--httpPort=")
        return cls(
            home=Path(env.get("JENKINS_HOME") or "/var/jenkins_home"),
            http_port=int(http or env.get("JENKINS_HTTP_PORT") or 8080),
            http_host=_last_option(win_opts, "--httpListenAddress=") or "0.0.0.0",
            agent_port=int(agent or env.get("JENKINS_SLAVE_AGENT_PORT") or 8181),
            version=env.get("JENKINS_VERSION") or names.JENKINS_VERSION,
            root_url=_with_slash(env.get("JENKINS_URL") or None),
            node_name=env.get("JENKINS_NODE_NAME") or socket.gethostname(),
            reload_seconds=float(env.get("JENKINS_RELOAD_SECONDS") or 1.0),
            admin_user=env.get(names.ADMIN_USER_ENV) or "admin",
            admin_password=env.get(names.ADMIN_PASSWORD_ENV) or None,
            admin_token=env.get(names.ADMIN_TOKEN_ENV) or None,
            extra_users=parse_users(env.get("JENKINS_EXTRA_USERS", "")),
            queue_save_seconds=float(saver or env.get("JENKINS_QUEUE_SAVE_SECONDS") or 60),
            owner_check_seconds=float(env.get("JENKINS_OWNER_CHECK_SECONDS") or 3600),
            quiet_period=int(quiet) if quiet else None,
            shell=env.get("JENKINS_SHELL") or "/bin/sh",
            load_concurrency=int(concurrency) if concurrency else None,
            stats_url=env.get(STATS_URL_ENV) or None,
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
