"""One running instance: the HTTP listener and the agent listener, each served by a thread."""

from __future__ import annotations

import socketserver
import threading

from labgen_lite.agent import AgentInfo, AgentListener
from labgen_lite.app import JenkinsLite
from labgen_lite.config import Config
from labgen_lite.httpd import LiteHTTPServer


class LiteServer:
    """One instance: the HTTP port and the agent port, each served by a thread."""

    def __init__(self, config: Config, poll_interval: float = 0.5) -> None:
        self.poll_interval = poll_interval  # how fast stop() is noticed
        self.agent: AgentListener | None = None
        agent_port = config.agent_port
        if agent_port >= 0:
            # bound before the app exists: with port 0 the app must report the port it got
            info = AgentInfo(config.version, "", config.node_name)
            self.agent = AgentListener((config.http_host, agent_port), info)
            agent_port = self.agent.server_address[1]
        self.app = JenkinsLite(config, agent_port=agent_port)
        if self.agent is not None:
            self.agent.info.session_hash = self.app.session_hash
        self.http = LiteHTTPServer((config.http_host, config.http_port), self.app)
        self._threads: list[threading.Thread] = []

    @property
    def http_port(self) -> int:
        return int(self.http.server_address[1])

    @property
    def agent_port(self) -> int:
        return self.app.agent_port

    def _servers(self) -> list[socketserver.BaseServer]:
        return [self.http] if self.agent is None else [self.http, self.agent]

    def start(self) -> None:
        self.app.start()
        for server in self._servers():
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": self.poll_interval}, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both listeners at once (each shutdown() waits up to one poll interval)."""
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers()]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers():
            server.server_close()
        self.app.stop()
