"""`labgen lint`: explain, line by line, what is wrong with an HAProxy config for Jenkins HA.

The rules encode what HAProxy itself warns about the article's config (facts.md section 2)
and the HA mistakes it makes; each finding says what the `ha` profile does instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

Severity = Literal["error", "warning", "advice"]
PROXY_KINDS = ("listen", "frontend", "backend")
SECTION_KINDS = ("global", "defaults", *PROXY_KINDS, "resolvers", "peers", "userlist", "cache", "program")
WEAK_PASSWORDS = {"123456", "admin", "password", "haproxy", "12345678", "changeme"}


@dataclass(frozen=True)
class Line:
    number: int
    text: str

    @property
    def words(self) -> list[str]:
        return self.text.split()


@dataclass
class Section:
    kind: str
    name: str
    line: Line
    body: list[Line] = field(default_factory=list)

    def find(self, *prefix: str) -> list[Line]:
        return [ln for ln in self.body if ln.words[: len(prefix)] == list(prefix)]

    def has(self, *prefix: str) -> bool:
        return bool(self.find(*prefix))


@dataclass(frozen=True)
class Finding:
    line: int
    text: str
    severity: Severity
    problem: str
    ha_fix: str


def parse(text: str) -> list[Section]:
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
        if not stripped:
            continue
        words = stripped.split()
        if words[0] in SECTION_KINDS:
            name = words[1] if len(words) > 1 else ""
            sections.append(Section(words[0], name, Line(number, stripped)))
        elif sections:
            sections[-1].body.append(Line(number, stripped))
    return sections


class Config:
    def __init__(self, text: str):
        self.sections = parse(text)
        self.global_ = next((s for s in self.sections if s.kind == "global"), Section("global", "", Line(0, "")))
        self.defaults = [s for s in self.sections if s.kind == "defaults"]

    @property
    def proxies(self) -> list[Section]:
        return [s for s in self.sections if s.kind in PROXY_KINDS]

    def default_has(self, *prefix: str) -> bool:
        return any(d.has(*prefix) for d in self.defaults)

    def mode(self, proxy: Section) -> str:
        for source in (proxy, *reversed(self.defaults)):
            modes = source.find("mode")
            if modes:
                return modes[-1].words[1] if len(modes[-1].words) > 1 else "tcp"
        return "tcp"

    def has_timeout(self, proxy: Section, which: str) -> bool:
        return proxy.has("timeout", which) or self.default_has("timeout", which)


def _count(line: Line) -> int | None:
    """A directive's number (`maxconn 4096`): ASCII digits only, else None (HAProxy refuses the line)."""
    words = line.words
    if len(words) < 2 or not (words[1].isascii() and words[1].isdigit()) or len(words[1]) > 12:
        return None
    return int(words[1])


Rule = Callable[[Config], Iterator[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _finding(line: Line, severity: Severity, problem: str, ha_fix: str) -> Finding:
    return Finding(line.number, line.text, severity, problem, ha_fix)


@rule
def tcp_mode_by_omission(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        if cfg.mode(proxy) == "tcp" and not proxy.has("mode"):
            yield _finding(
                proxy.line,
                "error",
                f"'{proxy.kind} {proxy.name}' runs in TCP mode: no 'mode http' here and no 'defaults' "
                "section, so every HTTP directive in it is ignored",
                "a 'defaults' section with 'mode http' for the Jenkins web traffic",
            )


@rule
def http_directives_in_tcp_mode(cfg: Config) -> Iterator[Finding]:
    http_only = {
        ("option", "forwardfor"): "X-Forwarded-For never reaches Jenkins",
        ("option", "http-server-close"): "no HTTP connection handling happens",
        ("option", "httplog"): "requests are not logged as HTTP",
        ("http-request",): "the header rule never runs",
        ("reqadd",): "the header is never added",
    }
    for proxy in cfg.proxies:
        if cfg.mode(proxy) != "tcp":
            continue
        for prefix, effect in http_only.items():
            for line in proxy.find(*prefix):
                yield _finding(
                    line,
                    "error",
                    f"ignored in TCP mode ({' '.join(prefix)} needs HTTP mode): {effect}",
                    "HTTP mode, 'option forwardfor' and 'http-request set-header X-Forwarded-Proto http'",
                )


@rule
def redispatch_in_frontend(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        if proxy.kind == "frontend":
            for line in proxy.find("option", "redispatch"):
                yield _finding(
                    line,
                    "error",
                    f"ignored: frontend '{proxy.name}' has no backend capability, so a request to a dead "
                    "master is never re-sent to the other one",
                    "'option redispatch 1', 'retries 3' and 'retry-on conn-failure ...' in the backend",
                )


@rule
def reqadd_removed(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        for line in proxy.find("reqadd"):
            yield _finding(
                line,
                "warning",
                "'reqadd' is deprecated in 2.0 and removed in 2.1 (fatal error there); "
                r"its value also needs the space escaped ('X-Forwarded-Proto:\ http')",
                "'http-request set-header X-Forwarded-Proto http'",
            )


@rule
def missing_timeouts(cfg: Config) -> Iterator[Finding]:
    needs = {"listen": ("client", "connect", "server"), "frontend": ("client",), "backend": ("connect", "server")}
    for proxy in cfg.proxies:
        missing = [t for t in needs[proxy.kind] if not cfg.has_timeout(proxy, t)]
        if missing:
            yield _finding(
                proxy.line,
                "warning",
                f"missing timeouts ({', '.join(missing)}): a hung master or client holds connections "
                "forever, and a dead master's address is only given up at the OS connect timeout",
                "'timeout connect 1s' (bounds detection), 'timeout client/server 60s' in 'defaults'",
            )


@rule
def nbproc(cfg: Config) -> Iterator[Finding]:
    for line in cfg.global_.find("nbproc"):
        if len(line.words) > 1 and line.words[1] != "1":
            yield _finding(
                line,
                "error",
                "several processes: each has its own health-check view and statistics, the stats page "
                "shows one process at random and 'stats admin' acts on that one only; nbproc is a fatal "
                "error from HAProxy 2.5",
                "one process (threads if needed)",
            )


@rule
def daemon(cfg: Config) -> Iterator[Finding]:
    for line in cfg.global_.find("daemon"):
        yield _finding(
            line,
            "warning",
            "'daemon' forks into the background: under systemd or in a container the main process exits",
            "foreground master-worker mode ('haproxy -W -db')",
        )


@rule
def ulimit_below_maxconn(cfg: Config) -> Iterator[Finding]:
    maxconn = [n for n in (_count(line) for line in cfg.global_.find("maxconn")) if n is not None]
    for line in cfg.global_.find("ulimit-n"):
        limit = _count(line)
        if maxconn and limit is not None and limit < 2 * maxconn[-1]:
            yield _finding(
                line,
                "error",
                f"ulimit-n {limit} is below the ~{2 * maxconn[-1]} file descriptors "
                f"'maxconn {maxconn[-1]}' needs (two per proxied connection); HAProxy >= 2.3 "
                "refuses to start (strict-limits)",
                "no ulimit-n: HAProxy computes it from a realistic 'maxconn 4096'",
            )


@rule
def log_to_localhost(cfg: Config) -> Iterator[Finding]:
    for line in cfg.global_.find("log"):
        if len(line.words) > 1 and line.words[1].startswith("127.0.0.1"):
            yield _finding(
                line,
                "warning",
                "logs go to a syslog daemon on 127.0.0.1: in a container (and on many hosts) none listens, "
                "so every log line is lost",
                "'log stdout format raw local0': logs reach `labgen logs haproxy`",
            )
    for proxy in cfg.proxies:
        if proxy.has("option", "httplog") and not proxy.has("log") and not cfg.default_has("log"):
            yield _finding(
                proxy.find("option", "httplog")[0],
                "warning",
                f"log format ignored for proxy '{proxy.name}': it has no log address ('log global' missing)",
                "'log global' in 'defaults'",
            )


@rule
def stats_realm_space(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        for line in proxy.find("stats", "realm"):
            realm_words = re.split(r"(?<!\\)\s+", line.text)[2:]
            if len(realm_words) > 1:
                yield _finding(
                    line,
                    "warning",
                    f"only '{realm_words[0]}' is used as the realm: the space after it must be escaped",
                    r"'stats realm labgen\ HAProxy\ statistics'",
                )


@rule
def weak_stats_auth(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        for line in proxy.find("stats", "auth"):
            credentials = line.words[2] if len(line.words) > 2 else ""
            password = credentials.partition(":")[2]
            if password in WEAK_PASSWORDS or (password and "${" not in password and len(password) < 12):
                yield _finding(
                    line,
                    "error",
                    "weak, published credentials guard a page that can ('stats admin if TRUE') take masters "
                    "out of service",
                    "credentials generated per lab, kept in the lab's secrets.env (mode 600)",
                )


def _servers(proxy: Section) -> list[Line]:
    return proxy.find("server")


@rule
def active_active(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        servers = _servers(proxy)
        if proxy.kind == "frontend" or len(servers) < 2:
            continue
        if not any("backup" in s.words for s in servers):
            balance = proxy.find("balance")
            yield _finding(
                balance[0] if balance else proxy.line,
                "error",
                f"every server of '{proxy.name}' is active: traffic alternates between the masters, which "
                "is not active/passive; two live masters on one JENKINS_HOME overwrite each other's "
                "builds (JENKINS-23152) and the standby serves stale jobs",
                "standbys as 'backup' servers, 'balance first', and 'stick-table type ip size 1 nopurge' + "
                "'stick on dst' so traffic does not flap back",
            )


@rule
def agents_not_cut(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        if not proxy.has("mode", "tcp") or not _servers(proxy) or proxy.has("default-server"):
            continue
        for line in _servers(proxy):
            if "track" not in line.words and "on-marked-down" not in line.words:
                yield _finding(
                    line,
                    "warning",
                    "agents keep their session to a master that went down (or to one the web side no longer "
                    "uses): they are not sent to the new active master",
                    "agent servers 'track' the HTTP servers and use 'on-marked-down shutdown-sessions'",
                )


@rule
def httpchk_without_expect(cfg: Config) -> Iterator[Finding]:
    for proxy in cfg.proxies:
        for line in proxy.find("option", "httpchk"):
            if not proxy.has("http-check", "expect"):
                yield _finding(
                    line,
                    "advice",
                    "any 2xx or 3xx counts as healthy, so a master still booting or redirecting looks up",
                    "'http-check expect status 200' on GET /login",
                )


def lint_text(text: str) -> list[Finding]:
    config = Config(text)
    findings = [finding for check in RULES for finding in check(config)]
    return sorted(findings, key=lambda f: (f.line, f.severity))


def article_config() -> str:
    """The article's haproxy.cfg as published (its garbled uid/gid line read as two lines)."""
    return (
        resources.files("labgen.generate")
        .joinpath("templates/haproxy/article-original.cfg")
        .read_text(encoding="utf-8")
    )
