"""Small socket helpers."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()


def listen_port(host: str = "127.0.0.1", lowest: int = 10000) -> int:
    """A TCP port nobody listens on, below the kernel's ephemeral range, never the same twice in this
    process. free_port's ports are ephemeral ones: a port picked now and bound seconds later (a test
    that starts several programs) can be taken meanwhile as the source port of a connection."""
    try:
        first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    candidates = list(range(lowest, max(lowest + 1, first_ephemeral)))
    random.shuffle(candidates)
    for port in candidates:
        if port not in _handed_out and port_free(host, port):
            _handed_out.add(port)
            return port
    return free_port(host)


def port_free(bind: str, port: int) -> bool:
    """True when `port` on `bind` can be listened on now."""
    with socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True
