"""The lab's credentials (`secrets.env`, mode 600): generated once per lab, kept across runs."""

from __future__ import annotations

import secrets
from pathlib import Path

from labgen.errors import LabDamaged, os_problem
from labgen.model import names
from labgen.model.names import SECRETS_FILE
from labgen.model.spec import LabSpec

# The variables of secrets.env, declared in the model (HAProxy and the masters read them too)
STATS_USER = names.STATS_USER_ENV
STATS_PASSWORD = names.STATS_PASSWORD_ENV
ADMIN_USER = names.ADMIN_USER_ENV
ADMIN_PASSWORD = names.ADMIN_PASSWORD_ENV
ADMIN_TOKEN = names.ADMIN_TOKEN_ENV


def parse_secrets(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    return values


class Secrets(dict[str, str]):
    """A lab's secrets; a missing one is a LabgenError naming the file, not a KeyError."""

    def __init__(self, values: dict[str, str], path: Path) -> None:
        super().__init__(values)
        self.path = path

    def __missing__(self, key: str) -> str:
        raise LabDamaged(
            f"{self.path} has no {key}" if self.path.exists() else f"{self.path} is missing",
            hint="`labgen up` (or `labgen generate`) writes it again, keeping the credentials it still has",
        )


def read_secrets(folder: Path) -> Secrets:
    """The lab folder's secrets; empty when there are none yet."""
    path = folder / SECRETS_FILE
    if not path.exists():
        return Secrets({}, path)
    try:
        return Secrets(parse_secrets(path.read_text(encoding="utf-8")), path)
    except OSError as exc:
        raise os_problem(exc, "read the lab's credentials", path) from None
    except UnicodeDecodeError:
        raise LabDamaged(
            f"{path} is not UTF-8 text: it was not written by labgen", hint="move it away; labgen writes a new one"
        ) from None


def lab_secrets(lab: LabSpec, existing: dict[str, str]) -> dict[str, str]:
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
