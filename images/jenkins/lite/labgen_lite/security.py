"""Who may do what: users, permissions, basic auth (password or API token), sessions and crumbs."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CRUMB_FIELD = "Jenkins-Crumb"
NO_CRUMB = "No valid crumb was included in the request"
MAX_SESSIONS = 10_000


class Permission(enum.Enum):
    """The permissions this stand-in checks: (Jenkins permission id, display name)."""

    READ = ("hudson.model.Hudson.Read", "Overall/Read")
    CREATE = ("hudson.model.Item.Create", "Job/Create")
    BUILD = ("hudson.model.Item.Build", "Job/Build")
    CONFIGURE = ("hudson.model.Item.Configure", "Job/Configure")
    DELETE = ("hudson.model.Item.Delete", "Job/Delete")
    CANCEL = ("hudson.model.Item.Cancel", "Job/Cancel")
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
        self.generated_token = _no_token  # (user, secret) -> whether it is one of the user's generated tokens
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
        if user is not None and self.generated_token(name, secret):
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


def _no_token(user: str, secret: str) -> bool:
    return False


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
