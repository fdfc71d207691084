"""The `labgen` command's entry point: a Ctrl-C while the CLI's modules are still being imported
(the first few hundred milliseconds) exits 130 with one word, not a traceback."""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main() -> None:
    try:
        import labgen.cli  # noqa: F401  (registers every command on the app)
        from labgen.cli.app import run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
    try:
        code = run()
    except KeyboardInterrupt:  # between two of run()'s own handlers
        sys.stderr.write("interrupted\n")
        code = INTERRUPTED
    sys.exit(code)
