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
# TokenBasedRememberMeServices2 (Acegi's cookie name, the login form's field, Acegi's 14 days)
REMEMBER_ME_COOKIE = "ACEGI_SECURITY_HASHED_REMEMBER_ME_COOKIE"
REMEMBER_ME_FIELD = "remember_me"
REMEMBER_ME_SECONDS = 14 * 24 * 3600


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


@dataclass
class Session:
    """What lite keeps in an HTTP session: who logged in (None: anonymous) and the login form's `from`."""

    user: str | None = None
    login_from: str | None = None


class AuthFailure(Exception):
    """Credentials were sent and are wrong: 401."""


@dataclass(frozen=True)
class Auth:
    user: User | None = None
    via_token: bool = False
    remembered: bool = False  # by the remember-me cookie, not by a session or a header

    @property
    def name(self) -> str:
        return self.user.name if self.user else "anonymous"

    def has(self, permission: Permission) -> bool:
        return self.user is not None and self.user.has(permission)


class Security:
    """Basic auth (password or API token), HTTP sessions and session-bound crumbs."""

    def __init__(self, users: Sequence[User], remember_me_key: bytes | None = None) -> None:
        self.users = {user.name: user for user in users}
        self.generated_token = _no_token  # (user, secret) -> whether it is one of the user's generated tokens
        # from JENKINS_HOME, as Jenkins' secret key: a remember-me cookie is good on every master of the home
        self._remember_key = remember_me_key or secrets.token_bytes(32)
        self.cookie_name = f"JSESSIONID.{secrets.token_hex(4)}"
        self._salt = secrets.token_bytes(32)
        self._sessions: OrderedDict[str, Session] = OrderedDict()
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

    def identify(self, authorization: str | None, cookies: Mapping[str, str]) -> Auth:
        """Who sends the request: basic auth first (it wins over a session), then the HTTP session a form login
        made, then a remember-me cookie. Raises AuthFailure for wrong basic credentials."""
        auth = self.authenticate(authorization)
        if auth.user is None:
            auth = self.session_auth(cookies)
        if auth.user is None:
            auth = self.remembered(cookies)
        return auth

    def session(self, cookies: Mapping[str, str]) -> str | None:
        """The id of a live session named by the request's cookie, if any."""
        session_id = cookies.get(self.cookie_name)
        with self._lock:
            if session_id is None or session_id not in self._sessions:
                return None
            self._sessions.move_to_end(session_id)  # the least recently used goes first
            return session_id

    def new_session(self, user: str | None = None) -> str:
        session_id = "node0" + secrets.token_hex(12) + ".node0"
        with self._lock:
            self._sessions[session_id] = Session(user)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session_id

    def session_data(self, session_id: str | None) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id or "")

    def session_auth(self, cookies: Mapping[str, str]) -> Auth:
        """Who the request's session logged in as (HttpSessionContextIntegrationFilter2), else anonymous."""
        data = self.session_data(self.session(cookies))
        user = self.users.get(data.user) if data and data.user else None
        return Auth(user) if user else Auth()

    def check_password(self, name: str, password: str) -> User | None:
        """The form login: a password only (an API token is no password), as HudsonPrivateSecurityRealm."""
        user = self.users.get(name)
        return user if user is not None and password and _same(password, user.password) else None

    def log_in(self, old_session: str | None, user: User) -> str:
        """AuthenticationProcessingFilter2.onSuccessfulAuthentication: the old session is invalidated and a
        new one holds the user (no session fixation)."""
        self.invalidate(old_session)
        return self.new_session(user.name)

    def invalidate(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def remember_me_cookie(self, user: User, now: float | None = None) -> str:
        """TokenBasedRememberMeServices2.loginSuccess: base64(user:expiry-ms:signature)."""
        expiry = int(((now or time.time()) + REMEMBER_ME_SECONDS) * 1000)
        token = f"{user.name}:{expiry}:{self._remember_signature(user.name, expiry)}"
        return base64.b64encode(token.encode()).decode()

    def remembered(self, cookies: Mapping[str, str], now: float | None = None) -> Auth:
        """RememberMeProcessingFilter: the user of a good, unexpired remember-me cookie, else anonymous."""
        value = cookies.get(REMEMBER_ME_COOKIE)
        if not value:
            return Auth()
        try:
            name, expiry_text, signature = base64.b64decode(value.strip('"'), validate=True).decode().split(":")
            expiry = int(expiry_text)
        except (ValueError, UnicodeDecodeError):
            return Auth()
        now_ms = (now or time.time()) * 1000
        user = self.users.get(name)
        if user is None or not now_ms < expiry <= now_ms + REMEMBER_ME_SECONDS * 1000:
            return Auth()
        return Auth(user, remembered=True) if _same(signature, self._remember_signature(name, expiry)) else Auth()

    def _remember_signature(self, name: str, expiry: int) -> str:
        return hmac.new(self._remember_key, f"{name}:{expiry}".encode(), hashlib.sha256).hexdigest()

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
