"""A small Jenkins HTTP client (API token auth, so no crumb) used by verify and the benchmarks."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

from labgen.model.names import HELD_HEADER, NODE_HEADER, SERVED_BY_HEADER
from labgen.wire import http

JOB_XML = (
    "<?xml version='1.1' encoding='UTF-8'?><project><description>{description}</description>"
    "<keepDependencies>false</keepDependencies><properties/><scm class='hudson.scm.NullSCM'/>"
    "<canRoam>true</canRoam><disabled>false</disabled><triggers/><concurrentBuild>false</concurrentBuild>"
    "<builders/><publishers/><buildWrappers/></project>"
)


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when no HTTP answer came back
    headers: dict[str, str]
    body: bytes
    error: str | None = None
    seconds: float = 0.0

    @property
    def served_by(self) -> str | None:
        return self.headers.get(SERVED_BY_HEADER.lower()) or self.headers.get(NODE_HEADER.lower())

    @property
    def held_ms(self) -> int | None:
        """How long HAProxy held the request while no master could serve (ha profile); None without
        the header (the article's profile, a master asked directly, no answer)."""
        value = self.headers.get(HELD_HEADER.lower())
        return int(value) if value and value.isdigit() else None

    @property
    def session(self) -> str | None:
        return self.headers.get("x-jenkins-session")


class JenkinsClient:
    def __init__(self, host: str, port: int, user: str, token: str, timeout: float = 3.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.credentials = (user, token)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Reply:
        headers = {"Content-Type": content_type} if content_type else None
        answer = http.request(
            self.host, self.port, method, path, auth=self.credentials, body=body, headers=headers, timeout=self.timeout
        )
        return Reply(answer.status, answer.headers, answer.body, answer.error, answer.seconds)

    def list_jobs(self) -> tuple[Reply, frozenset[str] | None]:
        reply = self.request("GET", "/api/json?tree=jobs[name]")
        if reply.status != 200:
            return reply, None
        try:
            return reply, frozenset(job["name"] for job in json.loads(reply.body)["jobs"])
        except (ValueError, KeyError, TypeError):
            return reply, None

    def create_job(self, name: str, description: str = "labgen verify") -> Reply:
        query = urllib.parse.urlencode({"name": name})
        body = JOB_XML.format(description=description).encode()
        return self.request("POST", f"/createItem?{query}", body, "application/xml")

    def build_job(self, name: str) -> Reply:
        return self.request("POST", f"/job/{urllib.parse.quote(name)}/build", b"")

    def delete_job(self, name: str) -> Reply:
        return self.request("POST", f"/job/{urllib.parse.quote(name)}/doDelete", b"")

    def job_builds(self, name: str) -> list[int] | None:
        reply = self.request("GET", f"/job/{urllib.parse.quote(name)}/api/json?tree=builds[number]")
        if reply.status != 200:
            return None
        try:
            return [b["number"] for b in json.loads(reply.body).get("builds", [])]
        except (ValueError, KeyError, TypeError):
            return None
