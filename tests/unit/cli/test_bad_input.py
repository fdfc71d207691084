"""Bad input, one row per class: the exit status, a fragment of the one message, and nothing
written (the working folder and the state folder are byte for byte as they were) and Docker
never touched. Rows run without Docker: a row that reached it would fail with DockerTouched."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from labgen.cli import run
from labgen.errors import EnvironmentProblem
from labgen.generate import render
from labgen.generate.secrets import read_secrets
from labgen.model import names
from tests.unit.cli.support import snapshot

# (id, argv, exit status, fragment of the message)
ROWS: list[tuple[str, list[str], int, str]] = [
    ("empty --lab never means the only lab", ["down", "--volumes", "--lab", ""], 2, "empty lab name"),
    ("empty --lab for status", ["status", "--lab", ""], 2, "empty lab name"),
    ("empty --lab for chaos", ["chaos", "kill", "jenkins01", "--lab", ""], 2, "empty lab name"),
    ("malformed lab name", ["down", "--lab", "no such lab"], 2, "is not a valid lab name; allowed"),
    ("unknown lab", ["down", "--lab", "no-such-lab"], 2, "no lab named 'no-such-lab'"),
    ("--tail not a number", ["logs", "jenkins01", "--lab", "unit-lab", "--tail", "abc"], 2, "--tail 'abc': allowed"),
    (
        "--signal not a signal",
        ["chaos", "kill", "jenkins01", "--lab", "unit-lab", "--signal", "BOGUS"],
        2,
        "not a signal",
    ),
    ("--time negative", ["chaos", "stop", "jenkins01", "--lab", "unit-lab", "--time", "-5"], 2, "--time -5: allowed"),
    ("up --timeout negative", ["up", "--timeout", "-5"], 2, "--timeout -5: allowed: more than 0"),
    ("up --timeout nan", ["up", "--timeout", "nan"], 2, "--timeout nan"),
    ("verify --trials 0", ["verify", "failover", "--lab", "unit-lab", "--trials", "0"], 2, "--trials 0: allowed"),
    ("verify --rate 0", ["verify", "failover", "--lab", "unit-lab", "--rate", "0"], 2, "--rate 0: allowed"),
    ("verify --report empty", ["verify", "failover", "--lab", "unit-lab", "--report", ""], 2, "--report: empty path"),
    ("verify fault --report is a file", ["verify", "fault", "nfs", "--report", "afile"], 2, "is a file"),
    ("soak --duration negative", ["verify", "soak", "--duration", "-5"], 2, "--duration -5: allowed"),
    ("a number that is not one", ["generate", "--http-port", "abc"], 2, "'--http-port'"),
    ("a number out of range", ["generate", "--masters", "9"], 2, "jenkins.masters"),
    ("--out empty", ["generate", "--out", ""], 2, "--out: empty path"),
    ("--out is a file", ["generate", "--out", "afile"], 2, "is a file, but a folder is needed"),
    ("a file inside --out where a folder goes", ["generate", "--out", "D"], 2, "D/nfs is a file"),
    ("--out read-only", ["generate", "--out", "ro/lab"], 2, "read-only"),
    ("--out over-long", ["generate", "--out", "x" * 300], 2, "path too long"),
    ("--out under /proc", ["generate", "--out", "/proc/self/labgen"], 2, "/proc is the kernel's"),
    ("init into a missing folder", ["init", "missing/labgen.yaml"], 2, "does not exist"),
    ("init onto a folder", ["init", "D"], 2, "is a folder"),
    ("--spec empty", ["generate", "--spec", ""], 2, "--spec: empty path"),
    ("--spec missing", ["generate", "--spec", "nope.yaml"], 2, "no such spec file"),
    ("spec not UTF-8", ["generate", "--spec", "latin1.yaml"], 2, "not UTF-8 text (byte 0xe9"),
    ("alias bomb", ["generate", "--spec", "bomb.yaml"], 2, "an alias bomb"),
    ("deep YAML", ["generate", "--spec", "deep.yaml"], 2, "nested deeper than"),
    ("duplicate keys", ["generate", "--spec", "dup.yaml"], 2, "duplicate key 'name' (line 3)"),
    ("spec too big", ["generate", "--spec", "big.yaml"], 2, "is at most 65536 bytes"),
    ("long bad value quoted short", ["generate", "--spec", "long-value.yaml"], 2, "(5002 chars)"),
    ("--set not KEY=VALUE", ["generate", "--set", "haproxy.check.rise"], 2, "expected KEY=VALUE"),
    ("--set into a value", ["generate", "--set", "name=a1", "--set", "name.x=1"], 2, "'name' is not a section"),
    ("--set yes where text goes", ["generate", "--set", "name=yes"], 2, "quote the text"),
    (
        "--haproxy-source missing",
        ["build", "--haproxy-source", "nope.tar.gz"],
        2,
        "--haproxy-source nope.tar.gz: no such",
    ),
    ("--jenkins-war missing", ["up", "--jenkins-war", "nope.war"], 2, "--jenkins-war nope.war: no such file"),
    ("--jdk a folder", ["build", "--jdk", "D"], 2, "--jdk D: is a folder"),
    ("--jdk not a tarball", ["build", "--jdk", "junk.tar.gz"], 2, "--jdk junk.tar.gz: not a readable tarball"),
    ("--haproxy-source not a tarball", ["build", "--haproxy-source", "junk.tar.gz"], 2, "not a readable source"),
    ("unofficial HAProxy source", ["build", "--haproxy-source", "haproxy-2.0.8.tar.gz"], 2, "--allow-unofficial"),
    ("lint --config missing", ["lint", "--config", "nope.cfg"], 2, "--config nope.cfg: no such file"),
    ("lint --profile unknown", ["lint", "--profile", "bogus"], 2, "allowed values are article, ha"),
    ("chaos action unknown", ["chaos", "explode", "jenkins01", "--lab", "unit-lab"], 2, "unknown chaos action"),
    ("truncated lab.json", ["status", "--lab", "broken-lab"], 3, "lab.json is damaged"),
    ("secrets.env not UTF-8", ["generate", "--out", "S"], 3, "secrets.env is not UTF-8"),
]


@pytest.mark.parametrize(("argv", "code", "fragment"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_is_refused_clearly_and_nothing_is_written(
    world: Path, argv: list[str], code: int, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(world)
    started = time.monotonic()
    assert run(argv) == code
    assert time.monotonic() - started < 5
    captured = capsys.readouterr()
    message = " ".join((captured.err + captured.out).split())
    assert fragment in message, message
    assert "internal error" not in message
    assert len(message) < 1500, "an error quotes at most a short excerpt of the input"
    assert snapshot(world) == before


def test_json_errors_are_json_on_stdout(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["status", "--lab", "", "--json"],
        ["status", "--json", "--bogus"],
        ["generate", "--out", "", "--json"],
    ):
        assert run(argv) == 2
        error = json.loads(capsys.readouterr().out)
        assert error["exit_code"] == 2 and error["error"] and "hint" in error


def test_a_write_failing_midway_leaves_the_folder_as_it_was(
    world: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["generate", "--out", "lab"])
    before = snapshot(world)
    written: list[Path] = []
    real_write = render.write_atomic

    def full_disk(path: Path, data: bytes, **kwargs: object) -> None:
        """The third file finds the disk full; the undo that follows finds space again."""
        written.append(path)
        if len(written) == 3:
            raise OSError(28, "No space left on device", str(path))
        real_write(path, data if len(written) > 3 else data + b"# changed\n", **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "write_atomic", full_disk)
    capsys.readouterr()
    assert run(["generate", "--out", "lab", "--http-port", "9090"]) == 3
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.setattr(render, "write_atomic", real_write)
    assert snapshot(world) == before


def test_a_failed_first_generate_leaves_no_folder(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, data: bytes, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(render, "write_atomic", refuse)
    before = snapshot(world)
    assert run(["generate", "--out", "new/lab"]) == 2
    assert snapshot(world) == before


def test_a_lab_folder_without_secrets_is_a_clear_error(tmp_path: Path) -> None:
    secrets = read_secrets(tmp_path)
    assert secrets.get("JENKINS_ADMIN_TOKEN") is None
    with pytest.raises(EnvironmentProblem, match=r"secrets\.env is missing"):
        secrets["JENKINS_ADMIN_TOKEN"]


@pytest.mark.parametrize("argv", [["generate", "--out", "lab"], ["build"]])
def test_an_image_namespace_docker_would_refuse_is_refused_before_anything_is_done(
    world: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    monkeypatch.setenv(names.IMAGE_NAMESPACE_ENV, "Not/Allowed")
    before = snapshot(world)
    assert run(argv) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert f"{names.IMAGE_NAMESPACE_ENV}='Not/Allowed' is not allowed; allowed: 1 to 64" in message, message
    assert "internal error" not in message
    assert snapshot(world) == before
