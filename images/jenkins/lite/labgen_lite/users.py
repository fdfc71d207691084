"""Users' API tokens as Jenkins 2.190.2 keeps them (jenkins.security.ApiTokenProperty, ApiTokenStore):
a generated token is `11` followed by 32 hex digits, shown once; only its SHA-256 is kept, with a uuid and a
name, in the user's config.xml (lite: JENKINS_HOME/users/<id>/config.xml). Tokens are in memory, read from
the home at start and on reload, so the other master accepts a new token once it has reloaded."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from labgen_lite.home import write_atomic
from labgen_lite.jobs import XML_HEADER

HASH_VERSION = "11"  # ApiTokenStore.HashValue's version of hashed tokens
HASHED_TOKEN = "jenkins.security.apitoken.ApiTokenStore_-HashedToken"


@dataclass(frozen=True)
class HashedToken:
    uuid: str
    name: str
    created: str
    digest: str  # sha256 hex of the secret after the version prefix


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class TokenStore:
    """Every user's generated tokens; thread-safe."""

    def __init__(self, home: Path) -> None:
        self.users_dir = home / "users"
        self._tokens: dict[str, list[HashedToken]] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        tokens: dict[str, list[HashedToken]] = {}
        try:
            entries = sorted(p for p in self.users_dir.iterdir() if p.is_dir())
        except OSError:
            entries = []
        for directory in entries:
            try:
                root = ET.fromstring((directory / "config.xml").read_bytes())
            except (OSError, ET.ParseError):
                continue
            user = root.findtext("id") or directory.name
            tokens[user] = [
                HashedToken(
                    t.findtext("uuid") or "",
                    t.findtext("name") or "",
                    t.findtext("creationDate") or "",
                    t.findtext("value/hash") or "",
                )
                for t in root.iter(HASHED_TOKEN)
            ]
        with self._lock:
            self._tokens = tokens

    def tokens(self, user: str) -> list[HashedToken]:
        with self._lock:
            return list(self._tokens.get(user, []))

    def matches(self, user: str, secret: str) -> bool:
        if len(secret) != 34 or not secret.startswith(HASH_VERSION):
            return False
        digest = _digest(secret[len(HASH_VERSION) :])
        return any(hmac.compare_digest(digest, token.digest) for token in self.tokens(user))

    def generate(self, user: str, name: str) -> tuple[HashedToken, str]:
        """ApiTokenStore.generateNewToken: the stored token and its plain value (shown once)."""
        secret = secrets.token_hex(16)
        created = time.strftime("%Y-%m-%d %H:%M:%S.0 UTC", time.gmtime())
        token = HashedToken(str(uuid.uuid4()), name, created, _digest(secret))
        with self._lock:
            self._tokens.setdefault(user, []).append(token)
            self._save(user)
        return token, HASH_VERSION + secret

    def revoke(self, user: str, token_uuid: str) -> bool:
        with self._lock:
            kept = [t for t in self._tokens.get(user, []) if t.uuid != token_uuid]
            revoked = len(kept) != len(self._tokens.get(user, []))
            if revoked:
                self._tokens[user] = kept
                self._save(user)
        return revoked

    def _save(self, user: str) -> None:
        """User.save: the user's config.xml with its ApiTokenProperty. Call with the lock held."""
        directory = self.users_dir / user
        directory.mkdir(parents=True, exist_ok=True)
        entries = "".join(
            f"          <{HASHED_TOKEN}>\n"
            f"            <uuid>{html.escape(t.uuid)}</uuid>\n"
            f"            <name>{html.escape(t.name)}</name>\n"
            f"            <creationDate>{html.escape(t.created)}</creationDate>\n"
            f"            <value>\n              <version>{HASH_VERSION}</version>\n"
            f"              <hash>{t.digest}</hash>\n            </value>\n"
            f"          </{HASHED_TOKEN}>\n"
            for t in self._tokens.get(user, [])
        )
        text = (
            XML_HEADER + "<user>\n  <version>10</version>\n"
            f"  <id>{html.escape(user)}</id>\n  <fullName>{html.escape(user)}</fullName>\n"
            "  <properties>\n    <jenkins.security.ApiTokenProperty>\n      <tokenStore>\n"
            f"        <tokenList>\n{entries}        </tokenList>\n"
            "      </tokenStore>\n    </jenkins.security.ApiTokenProperty>\n  </properties>\n</user>\n"
        )
        write_atomic(directory / "config.xml", text.encode("utf-8"))
