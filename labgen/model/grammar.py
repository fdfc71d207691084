"""The grammar of the spec's single values: what a name, a version, a user, a password or the NFS
mount options may be, and the message that says so when one is not.

Every value that reaches a generated file has a grammar of ASCII characters that no file's syntax
treats specially (YAML, HAProxy, ganesha, Compose's `$`, an env file). The checks raise ValueError
(pydantic reports it as the field's error) and return the value as the spec keeps it.
"""

from __future__ import annotations

import re

from labgen.errors import BadSpecField
from labgen.model import names
from labgen.wire.nfs_options import parse_mount_options

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
NAME_RULE = "2 to 32 lowercase letters, digits and dashes, starting with a letter and not ending with a dash"
HAPROXY_SERIES = ("2.0", "2.6")
ARTICLE_HAPROXY_VERSION = "2.0.8"
DEBIAN_HAPROXY_VERSION = "2.6.12"
JENKINS_VERSIONS = (names.JENKINS_VERSION,)
VERSION_PATTERN = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")  # [0-9], not \d: no Unicode digits
USER_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,32}")
PASSWORD_CHARS = "A-Za-z0-9!#%&()*+,./;<=>?@^_{|}~[\\]-"
PASSWORD_PATTERN = re.compile(f"[{PASSWORD_CHARS}]+")
MAX_PASSWORD_CHARS = 128
PASSWORD_RULE = (
    f"1 to {MAX_PASSWORD_CHARS} ASCII letters, digits and punctuation other than spaces, ':', quotes, '`', '$' "
    "and backslashes"
)


def excerpt(value: object, limit: int = 40) -> str:
    """A value as an error message quotes it: repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


def check_lab_name(name: str, option: str = "--lab") -> str:
    """A lab name as given on the command line: valid, or SpecError saying what is allowed."""
    if not NAME_PATTERN.fullmatch(name):
        what = "an empty lab name" if not name else f"{excerpt(name)} is not a valid lab name"
        raise BadSpecField(f"{option}: {what}; allowed: {NAME_RULE}")
    return name


def check_name(value: str) -> str:
    """The spec's `name`."""
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(f"{excerpt(value)} is not a valid lab name; allowed: {NAME_RULE}")
    return value


def check_haproxy_version(value: str) -> str:
    """A HAProxy version of a supported series, as MAJOR.MINOR.PATCH."""
    if not VERSION_PATTERN.fullmatch(value) or value.rsplit(".", 1)[0] not in HAPROXY_SERIES:
        raise ValueError(
            f"HAProxy {excerpt(value)} is not supported; allowed: 2.0.x (the article's "
            f"{ARTICLE_HAPROXY_VERSION}) or 2.6.x (Debian 12's {DEBIAN_HAPROXY_VERSION})"
        )
    return value


def check_jenkins_version(value: str) -> str:
    if value not in JENKINS_VERSIONS:
        raise ValueError(f"Jenkins {excerpt(value)} is not supported; allowed: {', '.join(JENKINS_VERSIONS)}")
    return value


def check_user(value: str) -> str:
    """The stats page's user name."""
    if not USER_PATTERN.fullmatch(value):
        raise ValueError(f"{excerpt(value)} is not allowed; allowed: 1 to 32 ASCII letters, digits, '_', '.', '-'")
    return value


def check_password(value: str | None) -> str | None:
    """The stats page's password, None for a generated one; a refused one is never quoted."""
    if value is not None and not (len(value) <= MAX_PASSWORD_CHARS and PASSWORD_PATTERN.fullmatch(value)):
        raise ValueError(f"not allowed (the value is not shown); allowed: {PASSWORD_RULE}")
    return value


def check_mount_options(value: str) -> str:
    """NFS mount options the masters' mounts take (labgen.wire.nfs_options), comma separated."""
    try:
        parse_mount_options(value)
    except ValueError as e:
        raise ValueError(str(e)) from None
    if any(c.isspace() for c in value):
        raise ValueError(f"{excerpt(value)}: separate NFS mount options with commas, no spaces")
    return value
