"""Command line: python3 -m labgen_homecheck serve | ask [--port N] [--home DIR].

serve: probe JENKINS_HOME and answer HAProxy's agent-check on the port (runs until killed).
ask: print the agent's answer; exit 0 when it is `up`, 1 otherwise (the Docker health check)."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from labgen.model.names import (
    HOMECHECK_LEASE_PORT,
    HOMECHECK_PORT,
    HOMECHECK_TIMEOUT_ENV,
    HOMECHECK_TIMEOUT_S,
    JENKINS_HOME_DIR,
)
from labgen_homecheck import PROG
from labgen_homecheck.agent import AgentServer, HomeProbe, ask
from labgen_homecheck.lease import Lease, LeaseServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("command", choices=("serve", "ask"))
    parser.add_argument("--port", type=int, default=HOMECHECK_PORT)
    parser.add_argument("--lease-port", type=int, default=HOMECHECK_LEASE_PORT, help="the decision's arbiter (0: off)")
    parser.add_argument("--bind", default="0.0.0.0", help="the address to listen on (default: every one)")
    parser.add_argument("--home", default=os.environ.get("JENKINS_HOME", JENKINS_HOME_DIR))
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between probes (default 1)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get(HOMECHECK_TIMEOUT_ENV) or HOMECHECK_TIMEOUT_S),
        help=f"a probe slower than this is down (default: ${HOMECHECK_TIMEOUT_ENV}, else {HOMECHECK_TIMEOUT_S})",
    )
    args = parser.parse_args(argv)
    if args.command == "ask":
        answer = ask("127.0.0.1", args.port)
        print(answer)
        return 0 if answer == "up" else 1
    probe = HomeProbe(args.home, interval=args.interval, timeout=args.timeout)
    probe.start()
    if args.lease_port:
        lease_server = LeaseServer((args.bind, args.lease_port), Lease(args.home))
        threading.Thread(target=lease_server.serve_forever, name="lease", daemon=True).start()
    with AgentServer((args.bind, args.port), probe) as server:
        print(
            f"{PROG}: probing {args.home} every {args.interval} s, agent on port {args.port}, "
            f"decisions on port {args.lease_port or 'off'}",
            file=sys.stderr,
        )
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
