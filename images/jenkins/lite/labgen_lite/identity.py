"""What lite says it is: its name, its flavour and what its agent port claims to speak."""

from __future__ import annotations

import base64
import secrets

PRODUCT = "labgen jenkins-lite"
FLAVOUR = "lite"
AGENT_PROTOCOLS = "JNLP4-connect, Ping"
REMOTING_MINIMUM_VERSION = "3.4"


def fake_instance_identity() -> str:
    """Base64 that looks like an RSA SubjectPublicKeyInfo; it is random, not a key."""
    prefix = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00")
    return base64.b64encode(prefix + secrets.token_bytes(270)).decode()
