"""The engine's builders: BuildKit through the engine API (the default; a Dockerfile's stages run at
once and an instruction is not a container commit) or the classic one (``LABGEN_BUILDER=classic``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from labgen.errors import BadEnvironmentVariable
from labgen.events import Emitter

if TYPE_CHECKING:
    import docker

BUILDER_ENV = "LABGEN_BUILDER"  # buildkit (the default) or classic


def builder() -> str:
    """Which of the engine's builders labgen uses: BuildKit (stages run at once, an instruction is
    not a container commit), or the classic one (``LABGEN_BUILDER=classic``)."""
    value = os.environ.get(BUILDER_ENV, "buildkit").strip().lower()
    if value not in ("buildkit", "classic"):
        raise BadEnvironmentVariable(f"{BUILDER_ENV}={value!r} is not allowed; allowed: buildkit, classic")
    return value


@dataclass(frozen=True)
class BuildRequest:
    """One image build, as either builder is asked for it."""

    tag: str
    dockerfile: str
    buildargs: dict[str, str]
    labels: dict[str, str]
    nocache: bool
    network_mode: str | None
    cpu_shares: int | None  # the classic builder's RUN containers only


def start_build(
    client: docker.DockerClient, context: IO[bytes], request: BuildRequest, emitter: Emitter
) -> Iterator[dict[str, Any]]:
    """The engine's build output as JSON messages, from BuildKit when the engine has it."""
    import docker.errors

    if builder() == "buildkit":
        try:
            return _buildkit(client, context, request)
        except docker.errors.APIError as exc:  # refused before building: an engine without BuildKit
            emitter.emit("build.builder", f"{request.tag}: BuildKit refused ({exc.explanation or exc}); classic")
            context.seek(0)
    stream = client.api.build(
        fileobj=context,
        custom_context=True,
        tag=request.tag,
        dockerfile=request.dockerfile,
        buildargs=request.buildargs,
        labels=request.labels,
        rm=True,
        forcerm=True,
        pull=False,
        nocache=request.nocache,
        container_limits={"cpushares": request.cpu_shares} if request.cpu_shares else None,
        decode=True,
        network_mode=request.network_mode,
    )
    return _chunks(stream)


def _chunks(stream: Any) -> Iterator[dict[str, Any]]:
    for chunk in stream:
        if isinstance(chunk, dict):
            yield chunk


def _buildkit(client: docker.DockerClient, context: IO[bytes], request: BuildRequest) -> Iterator[dict[str, Any]]:
    """``POST /build?version=2``: BuildKit with the context tar as the request body (no session,
    which docker-py cannot open). Images come from the engine's own store, as with ``pull=False``."""
    api = client.api
    params: dict[str, str] = {
        "version": "2",
        "t": request.tag,
        "dockerfile": request.dockerfile,
        "buildargs": json.dumps(request.buildargs),
        "labels": json.dumps(request.labels),
    }
    if request.nocache:
        params["nocache"] = "1"
    if request.network_mode:
        params["networkmode"] = request.network_mode
    response = api._post(  # docker-py's build() has no `version` parameter
        api._url("/build"), params=params, data=context, headers={"Content-Type": "application/x-tar"}, stream=True
    )
    api._raise_for_status(response)
    return (json.loads(line) for line in response.iter_lines() if line)
