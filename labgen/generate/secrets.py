"""The lab's credentials (`secrets.env`, mode 600): generated once per lab, kept across runs."""

from __future__ import annotations

import secrets
from pathlib import Path

from labgen.model.names import SECRETS_FILE
from labgen.model.spec import Lab

STATS_USER = "LABGEN_STATS_USER"
STATS_PASSWORD = "LABGEN_STATS_PASSWORD"
ADMIN_USER = "JENKINS_ADMIN_USER"
ADMIN_PASSWORD = "JENKINS_ADMIN_PASSWORD"
ADMIN_TOKEN = "JENKINS_ADMIN_TOKEN"


def parse_secrets(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def read_secrets(folder: Path) -> dict[str, str]:
    """The lab folder's secrets; empty when there are none yet."""
    path = folder / SECRETS_FILE
    if not path.exists():
        return {}
    return parse_secrets(path.read_text(encoding="utf-8"))


def lab_secrets(lab: Lab, existing: dict[str, str]) -> dict[str, str]:
    """Credentials for the lab: what the spec asks for, else what was generated before, else new."""

    def keep_or_new(key: str, nbytes: int = 12) -> str:
        return existing.get(key) or secrets.token_urlsafe(nbytes)

    return {
        STATS_USER: lab.stats.user,
        STATS_PASSWORD: lab.stats.password or keep_or_new(STATS_PASSWORD),
        ADMIN_USER: existing.get(ADMIN_USER, "admin"),
        ADMIN_PASSWORD: keep_or_new(ADMIN_PASSWORD),
        # Jenkins' fixed API tokens are "11" and 32 hex digits (ApiTokenStore.addFixedNewToken).
        ADMIN_TOKEN: existing.get(ADMIN_TOKEN) or "11" + secrets.token_hex(16),
    }


def secrets_text(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())
