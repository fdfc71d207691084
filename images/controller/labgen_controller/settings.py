"""The controller's settings, from the environment (see the package docstring)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class UsageError(Exception):
    """Bad configuration or command line."""


@dataclass(frozen=True)
class Settings:
    masters: tuple[str, ...]
    haproxy: str | tuple[str, int]  # unix socket path, or (host, port)
    backend: str
    urls: Mapping[str, str]
    admin_user: str
    admin_token: str
    poll_s: float
    state_file: Path
    server_state_file: Path | None
    reload_timeout_s: float
    reload_quiet_s: float
    probe_timeout_s: float
    up_timeout_s: float
    elect_grace_s: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        masters = tuple(name.strip() for name in env.get("LABGEN_MASTERS", "").split(",") if name.strip())
        if len(masters) < 2 or len(set(masters)) != len(masters):
            raise UsageError("LABGEN_MASTERS: expected two or more distinct server names, comma separated")
        return cls(
            masters=masters,
            haproxy=_haproxy_address(env),
            backend=env.get("LABGEN_HTTP_BACKEND") or "jenkins",
            urls=_master_urls(env, masters),
            admin_user=env.get("JENKINS_ADMIN_USER") or "admin",
            admin_token=env.get("JENKINS_ADMIN_TOKEN") or "",
            poll_s=_number(env, "LABGEN_POLL_MS", 200) / 1000.0,
            state_file=Path(env.get("LABGEN_STATE_FILE") or "/var/run/haproxy/controller-state.json"),
            server_state_file=_optional_path(env.get("LABGEN_SERVER_STATE_FILE", "/var/run/haproxy/server-state")),
            reload_timeout_s=_number(env, "LABGEN_RELOAD_TIMEOUT_S", 120),
            reload_quiet_s=_number(env, "LABGEN_RELOAD_QUIET_S", 2),
            probe_timeout_s=_number(env, "LABGEN_PROBE_TIMEOUT_S", 1),
            up_timeout_s=_number(env, "LABGEN_UP_TIMEOUT_S", 10),
            elect_grace_s=_number(env, "LABGEN_ELECT_GRACE_S", 120, allow_zero=True),
        )

    def describe_haproxy(self) -> str:
        return self.haproxy if isinstance(self.haproxy, str) else f"{self.haproxy[0]}:{self.haproxy[1]}"


def _number(env: Mapping[str, str], name: str, default: float, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else float(default)
    except ValueError:
        raise UsageError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{name}: expected a positive number, got {raw!r}")
    return value


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw.strip() else None


def _haproxy_address(env: Mapping[str, str]) -> str | tuple[str, int]:
    addr = env.get("LABGEN_HAPROXY_ADDR", "").strip()
    if not addr:
        return env.get("LABGEN_HAPROXY_SOCKET") or "/var/run/haproxy/admin.sock"
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"LABGEN_HAPROXY_ADDR: expected host:port, got {addr!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _master_urls(env: Mapping[str, str], masters: Sequence[str]) -> dict[str, str]:
    template = env.get("LABGEN_MASTER_URL_TEMPLATE") or "http://{name}:8080"
    urls = {name: template.format(name=name) for name in masters}
    raw = env.get("LABGEN_MASTER_URLS", "").strip()
    if raw:
        try:
            overrides = json.loads(raw)
        except json.JSONDecodeError as error:
            raise UsageError(f"LABGEN_MASTER_URLS: not JSON: {error}") from None
        if not isinstance(overrides, dict):
            raise UsageError("LABGEN_MASTER_URLS: expected a JSON object name -> URL")
        urls.update({str(name): str(url) for name, url in overrides.items() if name in urls})
    return {name: url.rstrip("/") for name, url in urls.items()}
