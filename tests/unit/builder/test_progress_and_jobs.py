"""Issue 13: the build's progress with BuildKit (through the engine's API, which answers with
protobuf StatusResponse messages) reads as steps and output lines, like the classic builder's."""

from __future__ import annotations

import base64

import pytest

from labgen.builder.buildkit import BUILDER_ENV, builder
from labgen.builder.progress import BuildOutput, protobuf_fields
from labgen.errors import BadEnvironmentVariable


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def trace(message: bytes) -> dict[str, object]:
    return {"id": "moby.buildkit.trace", "aux": base64.b64encode(message).decode()}


STARTED = field(1, 1764135000) + field(2, 5)  # a google.protobuf.Timestamp


def vertex(digest: str, name: str, *extra: bytes) -> bytes:
    return field(1, field(1, digest) + field(3, name) + b"".join(extra))


def test_protobuf_fields_reads_varints_and_length_delimited_values() -> None:
    data = field(1, 300) + field(3, "héllo") + field(4, b"\x00\xff")
    assert list(protobuf_fields(data)) == [(1, 300), (3, "héllo".encode()), (4, b"\x00\xff")]


def test_buildkit_vertices_become_steps_once_and_logs_become_lines() -> None:
    output = BuildOutput()
    run = "[build 5/5] RUN sh /build/build-haproxy.sh"
    assert output.lines(trace(vertex("sha256:a", run))) == []  # not started yet
    assert output.lines(trace(vertex("sha256:a", run, field(5, STARTED)))) == [(run, True)]
    assert output.lines(trace(vertex("sha256:a", run, field(5, STARTED), field(6, STARTED)))) == []  # seen
    cached = vertex("sha256:b", "[2/7] RUN apt-get update", field(4, 1), field(5, STARTED))
    internal = vertex("sha256:c", "[internal] load build context", field(5, STARTED))
    log = field(3, field(1, "sha256:a") + field(3, 1) + field(4, b"CC src/haproxy.o\nLD haproxy\n\n"))
    assert output.lines(trace(cached + internal + log)) == [
        ("[2/7] RUN apt-get update (cached)", True),
        ("CC src/haproxy.o", False),
        ("LD haproxy", False),
    ]
    failed = vertex("sha256:d", "[3/7] RUN false", field(5, STARTED), field(7, "exit code: 1"))
    assert output.lines(trace(failed)) == [("[3/7] RUN false", True), ("error: exit code: 1", False)]


def test_classic_builder_output_is_read_as_before() -> None:
    output = BuildOutput()
    assert output.lines({"stream": "Step 3/9 : RUN make\n ---> Running in 1a\n\n"}) == [
        ("Step 3/9 : RUN make", True),
        (" ---> Running in 1a", False),
    ]
    assert output.lines({"aux": {"ID": "sha256:e"}}) == []


def test_the_builder_is_buildkit_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BUILDER_ENV, raising=False)
    assert builder() == "buildkit"
    monkeypatch.setenv(BUILDER_ENV, "Classic")
    assert builder() == "classic"
    monkeypatch.setenv(BUILDER_ENV, "kaniko")
    with pytest.raises(BadEnvironmentVariable, match="allowed: buildkit, classic") as refused:
        builder()
    assert refused.value.exit_code == 2


# ---- the build's scheduling: jobs at once, waits said ------------------------------------------------


def test_jobs_run_at_once_and_a_wait_says_what_it_waits_for() -> None:
    import threading

    from labgen.builder.jobs import Jobs, SerialEmitter
    from labgen.events import Emitter, Event
    from labgen.wire.poll import wait_for

    events: list[Event] = []
    inner = Emitter()
    inner.subscribe(events.append)
    jobs = Jobs(SerialEmitter(inner))
    release = threading.Event()
    base = jobs.spawn("the base image", lambda: release.wait(10) and "base-id")
    quick = jobs.spawn("the HAProxy source", lambda: "2.6.12")
    child = jobs.spawn("HAProxy", lambda: "+".join(jobs.wait("HAProxy", quick, base)))
    other = jobs.spawn("NFS", lambda: jobs.wait("NFS", base)[0] + "/nfs")

    def waits_said() -> list[str]:
        return sorted(e.message for e in list(events) if e.kind == "build.wait")

    assert wait_for(lambda: len(waits_said()) == 2, timeout=30, interval=0.05), waits_said()
    assert not child.future.done() and not other.future.done()  # both wait for the base, at the same time
    release.set()
    assert (child.result(), other.result()) == ("2.6.12+base-id", "base-id/nfs")
    waits = waits_said()
    assert waits == ["HAProxy: waits for the base image", "NFS: waits for the base image"]
    assert events[0].data["waits_for"] == ["the base image"]


def test_a_failed_job_fails_those_that_wait_for_it_and_a_quick_wait_says_nothing() -> None:
    from labgen.builder.jobs import Jobs
    from labgen.errors import LabgenError
    from labgen.events import Emitter, Event

    events: list[Event] = []
    emitter = Emitter()
    emitter.subscribe(events.append)
    jobs = Jobs(emitter)

    def broken() -> str:
        raise LabgenError("mmdebstrap failed")

    base = jobs.spawn("the base image", broken)
    child = jobs.spawn("NFS", lambda: jobs.wait("NFS", base))
    with pytest.raises(LabgenError, match="mmdebstrap failed"):
        child.result()
    cached = jobs.spawn("the base image", lambda: "id")
    assert jobs.wait("HAProxy", cached) == ["id"]
    assert not [e for e in events if e.kind == "build.wait"]  # done within the quiet second
