"""A build's output as lines: the classic builder's ``stream`` text, or BuildKit's progress messages
(``moby.buildkit.trace``: base64 protobuf ``StatusResponse``), read with a small protobuf decoder
rather than a generated module (the engine speaks a few fields of it, and they are stable)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any


class BuildOutput:
    """Lines of a build's output, ``(line, is_a_step)``: the classic builder's ``stream`` text, or
    BuildKit's progress (``aux`` of ``moby.buildkit.trace``: a base64 protobuf StatusResponse),
    whose steps are its vertices as they start and whose lines are the RUN steps' output."""

    def __init__(self) -> None:
        self.started: set[bytes] = set()

    def lines(self, chunk: dict[str, Any]) -> list[tuple[str, bool]]:
        aux = chunk.get("aux")
        if chunk.get("id") != "moby.buildkit.trace" or not isinstance(aux, str):
            text = str(chunk.get("stream", ""))
            return [(line.rstrip(), line.startswith("Step ")) for line in text.splitlines() if line.strip()]
        found: list[tuple[str, bool]] = []
        for number, value in protobuf_fields(base64.b64decode(aux)):
            if not isinstance(value, bytes):
                continue
            fields = dict(protobuf_fields(value))
            if number == 1:  # Vertex: digest 1, name 3, cached 4, started 5, error 7
                digest, name = fields.get(1, b""), _text(fields.get(3, b""))
                if 5 in fields and digest not in self.started and not name.startswith("[internal]"):
                    self.started.add(digest)  # type: ignore[arg-type]
                    found.append((name + (" (cached)" if fields.get(4) else ""), True))
                if fields.get(7):
                    found.append((f"error: {_text(fields[7])}", False))
            elif number == 3:  # VertexLog: msg 4
                found += [(line.rstrip(), False) for line in _text(fields.get(4, b"")).splitlines() if line.strip()]
        return found


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def protobuf_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The (field number, value) pairs of a protobuf message: varints as int, length-delimited as
    bytes, fixed-width ones as bytes. Enough for BuildKit's progress messages."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = data[at : at + width], at + width
        else:
            return  # groups: not used by BuildKit
        yield number, value


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return value, at
