"""The lab's credentials (`secrets.env`, mode 600): generated once per lab, kept across runs."""

from __future__ import annotations

import secrets
from pathlib import Path

from labgen.errors import EnvironmentProblem, LabDamaged
from labgen.model import names
from labgen.model.names import SECRETS_FILE
from labgen.model.spec import LabSpec
from labgen.paths import read_regular_file

MAX_SECRETS_BYTES = 64 * 1024  # five short lines

# The variables of secrets.env, declared in the model (HAProxy and the masters read them too)
STATS_USER = names.STATS_USER_ENV
STATS_PASSWORD = names.STATS_PASSWORD_ENV
ADMIN_USER = names.ADMIN_USER_ENV
ADMIN_PASSWORD = names.ADMIN_PASSWORD_ENV
ADMIN_TOKEN = names.ADMIN_TOKEN_ENV


def parse_secrets(text: str) -> dict[str, str]:
    """KEY=VALUE lines; a value in single or double quotes is the text between them (as Compose reads it)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
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
    if not path.exists() and not path.is_symlink():
        return Secrets({}, path)
    raw = read_regular_file(path, MAX_SECRETS_BYTES, "the lab's credentials", EnvironmentProblem)
    try:
        return Secrets(parse_secrets(raw.decode("utf-8")), path)
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


# Each service's secrets, a file of its own in the lab folder's secrets/ (mode 700), mounted
# read-only as a Compose secret (/run/secrets/labgen.env) and exported by the image's
# entrypoint: nothing secret in the container's configuration (docker inspect), and each
# service holds only what it uses.
SERVICE_SECRETS_DIR = "secrets"
SECRET_TARGET = "labgen.env"
SERVICE_SECRETS = {
    "jenkins": (ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOKEN),  # every master: its administrator
    # HAProxy: the stats login, and the admin's API token for the promoter's POST /reload
    "haproxy": (STATS_USER, STATS_PASSWORD, ADMIN_USER, ADMIN_TOKEN),
}


def service_secret_files(values: dict[str, str]) -> dict[str, str]:
    """{path in the lab folder: content} of each service's secrets file."""
    return {
        f"{SERVICE_SECRETS_DIR}/{service}.env": "".join(env_line(k, values[k]) for k in keys)
        for service, keys in SERVICE_SECRETS.items()
    }


def env_line(key: str, value: str) -> str:
    """One line of an env file, single-quoted: Compose takes the text as it is (no `$` interpolation)."""
    if "'" in value or not value.isprintable() or not value.isascii():
        raise EnvironmentProblem(
            f"{key}: a value with a single quote, a control or a non-ASCII character cannot be kept in {SECRETS_FILE}",
            hint=f"edit {SECRETS_FILE}: remove the line (labgen generates a new value) or choose a plainer one",
        )
    return f"{key}='{value}'\n"


def secrets_text(values: dict[str, str]) -> str:
    return "".join(env_line(k, v) for k, v in values.items())
