"""`python3 -m labgen_lite [--httpPort=N] [--httpListenAddress=A]`: serve until SIGTERM or SIGINT, exit 0."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from labgen_lite.config import Config
from labgen_lite.identity import PRODUCT
from labgen_lite.logs import log
from labgen_lite.server import LiteServer


def main(argv: Sequence[str] | None = None) -> int:
    config = Config.from_env(os.environ, sys.argv[1:] if argv is None else argv)
    log(config.node_name, "INFO", f"{PRODUCT} {config.version}: a stand-in for Jenkins, NOT Jenkins")
    server = LiteServer(config)
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        # no logging here: a second signal arriving while the first handler prints would re-enter
        # the log lock and deadlock (seen with `timeout` forwarding a SIGTERM that was also sent directly)
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    app = server.app
    app.log(
        f"JENKINS_HOME={config.home} http={config.http_host}:{server.http_port} "
        f"agent port={server.agent_port} session={app.session_hash} jobs={len(app.jobs)}"
    )
    app.log(f"Jenkins is fully up and running ({PRODUCT} on {config.node_name}, NOT Jenkins)")
    while not stop.wait(1.0):
        pass
    log(config.node_name, "INFO", f"{signal.Signals(received[0]).name} received: shutting down")
    server.stop()
    app.log("shut down cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
