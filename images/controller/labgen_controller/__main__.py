"""The command line: ``python3 -m labgen_controller [run]`` or ``python3 -m labgen_controller promote NAME``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence

from .controller import Controller
from .events import emit
from .settings import Settings, UsageError


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="labgen_controller", description="Keep one fresh Jenkins master in HAProxy's rotation."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="the daemon (default)")
    promote = commands.add_parser("promote", help="reload NAME and switch the traffic to it, once")
    promote.add_argument("name")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command or "run"
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        if command == "promote" and args.name not in settings.masters:
            raise UsageError(f"unknown master {args.name!r}; expected one of {', '.join(settings.masters)}")
    except UsageError as error:
        emit("error", what="usage", detail=str(error))
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emit(
        "controller.start",
        masters=list(settings.masters),
        backend=settings.backend,
        haproxy=settings.describe_haproxy(),
        state_file=str(settings.state_file),
        poll_ms=round(settings.poll_s * 1000),
        command=command,
    )
    controller = Controller(settings, stop)
    if command == "promote":
        return 0 if controller.promote(args.name) else 1
    controller.run()
    emit("controller.stop", reason="signal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
