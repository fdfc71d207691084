"""The `labgen` command's entry point: a Ctrl-C while the CLI's modules are still being imported
(the first few hundred milliseconds) exits 130 with one word, not a traceback."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED = 130


def _interrupted_while_importing(signum: int, frame: FrameType | None) -> None:
    # Nothing has been done yet that needs undoing, and a KeyboardInterrupt raised inside some
    # module's import can surface as "Exception ignored in ..." with a traceback: leave at once.
    os.write(2, b"interrupted\n")
    os._exit(INTERRUPTED)


def main() -> None:
    previous = signal.signal(signal.SIGINT, _interrupted_while_importing)
    import labgen.cli  # noqa: F401  (registers every command on the app)
    from labgen.cli.app import run

    signal.signal(signal.SIGINT, previous)
    try:
        code = run()
    except KeyboardInterrupt:  # between two of run()'s own handlers
        sys.stderr.write("interrupted\n")
        code = INTERRUPTED
    sys.exit(code)
