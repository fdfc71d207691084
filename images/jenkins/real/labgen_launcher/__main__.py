"""python3 -m labgen_launcher [--check]: check the war, then exec Java on it (``--check``: only check)."""

from __future__ import annotations

import os
import sys

from labgen.model.names import JENKINS_WAR_PATH
from labgen_launcher import EXIT_REFUSED, PROG, Refused, check_war, java_command


def main(argv: list[str]) -> int:
    expected = os.environ.get("JENKINS_VERSION", "")
    try:
        version = check_war(JENKINS_WAR_PATH, expected)
    except Refused as exc:
        print(f"{PROG}: refusing to start: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if "--check" in argv:
        print(f"{PROG}: {JENKINS_WAR_PATH} is Jenkins {version}")
        return 0
    command = java_command(os.environ)
    print(f"{PROG}: starting Jenkins {version}: {' '.join(command)}", file=sys.stderr, flush=True)
    os.execvp(command[0], command)
    return 1  # not reached: exec replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
