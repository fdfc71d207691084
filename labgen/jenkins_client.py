"""A small Jenkins HTTP client (API token auth, so no crumb) used by verify and the benchmarks."""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass

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
        return self.headers.get("x-labgen-served-by") or self.headers.get("x-labgen-node")

    @property
    def session(self) -> str | None:
        return self.headers.get("x-jenkins-session")


class JenkinsClient:
    def __init__(self, host: str, port: int, user: str, token: str, timeout: float = 3.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.auth = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Reply:
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Authorization": self.auth, "Connection": "close"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            reply_headers = {k.lower(): v for k, v in response.getheaders()}
            return Reply(response.status, reply_headers, data, seconds=time.monotonic() - started)
        except (OSError, http.client.HTTPException) as exc:
            return Reply(0, {}, b"", error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
        finally:
            connection.close()

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
