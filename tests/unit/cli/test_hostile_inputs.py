"""Issue 19, classes 2 to 7 at the command line: crashes, special files, exit codes, one JSON
document, guard rails. One row per class, as tests/unit/cli/test_bad_input.py: the exit status, a
fragment of the one message, nothing written, Docker never touched (its `world` fixture), and
within seconds (a FIFO or /dev/zero that were read would hang or fill the memory)."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import time
from pathlib import Path

import pytest

from labgen.cli import run

SPARSE_BYTES = 3 << 30  # a 3 GB sparse file: no disk used, but read whole it fills the memory


def _jdk(release: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("jdk8u232/bin/java", b"#!/bin/sh\n"), ("jdk8u232/release", release)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _haproxy_source() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("haproxy-2.0.8/VERSION", b"2.0.8\n"), ("haproxy-2.0.8/src/x.c", os.urandom(50_000))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _special(kind: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        with path.open("wb") as handle:
            handle.truncate(SPARSE_BYTES)


SPECIAL = ("fifo", "zero", "sparse")
MESSAGES = {"fifo": "a FIFO, not a regular file", "zero": "a character device", "sparse": "3221225472 bytes"}
LABS = "../state/labgen/labs"


@pytest.fixture
def hostile(world: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = world / "work"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{world}/no-docker.sock")  # whatever reaches Docker finds none
    for kind in SPECIAL:
        _special(kind, work / f"{kind}/secrets.env")
        _special(kind, work / f"{kind}.yaml")
        _special(kind, work / f"{kind}.cfg")
        labs = world / "state/labgen/labs"
        (labs / f"{kind}-lab").mkdir(parents=True)
        _special(kind, labs / f"{kind}-lab/lab.json")
    (world / "state/labgen/labs/deep-lab").mkdir()
    (world / "state/labgen/labs/deep-lab/lab.json").write_text("[" * 100_000 + "]" * 100_000)
    configs = {
        "ulimit.cfg": "global\n  maxconn 4096\n  ulimit-n abc\n",
        "novalue.cfg": "global\n  maxconn\n  ulimit-n\ndefaults\n  mode\nlisten x\n  mode\n  bind :80\n",
        "float.cfg": "global\n  maxconn 1e3\n  ulimit-n 10\n",
        "digits.cfg": "global\n  maxconn ٨٠\n  ulimit-n 1\n",
        "markup.cfg": "global\n  log 127.0.0.1 local0\nlisten [bold]y[/]\\[z\n  mode http\n",
    }
    for name, text in configs.items():
        (work / name).write_text(text)
    (work / "jdk-abc.tar.gz").write_bytes(_jdk(b'JAVA_VERSION="abc"\n'))
    (work / "jdk-digits.tar.gz").write_bytes(_jdk('JAVA_VERSION="٨"\n'.encode()))
    source = _haproxy_source()
    (work / "haproxy-2.0.8-cut.tar.gz").write_bytes(source[: len(source) // 2])
    (work / "own").mkdir()
    (work / "own/compose.yaml").write_text("name: own-lab\n")
    return world


# (id, argv, exit status, fragment of the one message)
ROWS: list[tuple[str, list[str], int, str]] = [
    # class 2: crashes
    ("lint: ulimit-n abc", ["lint", "--config", "ulimit.cfg"], 0, "no defects found"),
    ("lint: directives with no value", ["lint", "--config", "novalue.cfg"], 0, "missing timeouts"),
    ("lint: maxconn 1e3", ["lint", "--config", "float.cfg"], 0, "no defects found"),
    ("lint: Unicode digits", ["lint", "--config", "digits.cfg"], 0, "no defects found"),
    ("lint: rich markup in a config line", ["lint", "--config", "markup.cfg"], 0, "3 listen [bold]y[/]\\[z"),
    ("a --set key 3,000 names deep", ["generate", "--set", ".".join(["a"] * 3000) + "=1"], 2, "at most 8 names"),
    ("lab.json nested 100,000 deep", ["status", "--lab", "deep-lab"], 3, "lab.json is damaged"),
    ("JDK release says abc", ["build", "--jdk", "jdk-abc.tar.gz"], 2, "JAVA_VERSION='abc', which is not a Java"),
    ("JDK release in Unicode digits", ["build", "--jdk", "jdk-digits.tar.gz"], 2, "which is not a Java version"),
    # class 3: special files
    *((f"{kind} as secrets.env", ["generate", "--out", kind], 3, MESSAGES[kind]) for kind in SPECIAL),
    ("fifo as the spec", ["generate", "--spec", "fifo.yaml"], 2, MESSAGES["fifo"]),
    ("/dev/zero as the spec", ["generate", "--spec", "zero.yaml"], 2, "/dev is the kernel's"),
    ("sparse spec", ["generate", "--spec", "sparse.yaml"], 2, MESSAGES["sparse"]),
    *((f"{kind} as lab.json", ["status", "--lab", f"{kind}-lab"], 3, MESSAGES[kind]) for kind in SPECIAL),
    ("fifo as a lint config", ["lint", "--config", "fifo.cfg"], 2, "not a regular file"),
    ("/dev/zero as a lint config", ["lint", "--config", "zero.cfg"], 2, "/dev is the kernel's"),
    ("sparse lint config", ["lint", "--config", "sparse.cfg"], 2, "3221225472 bytes"),
    # class 4: exit codes and order
    (
        "a truncated HAProxy source",
        ["build", "--haproxy-source", "haproxy-2.0.8-cut.tar.gz", "--allow-unofficial"],
        2,
        "not a readable",
    ),
    ("images load: a missing file", ["images", "load", "nope.tar"], 2, "FILE nope.tar: no such file"),
    ("images load: not a saved file", ["images", "load", "junk.tar.gz"], 2, "cannot read junk.tar.gz"),
    ("images load: a FIFO", ["images", "load", "fifo.cfg"], 2, "not a regular file"),
    ("images save: under a file", ["images", "save", "afile/x.tar"], 2, "is a file, but a folder is needed"),
    ("images save: onto a folder", ["images", "save", "D"], 2, "is a folder"),
    # class 6: a lab folder never overwrites its own spec
    ("generate over its own spec", ["generate", "-f", "own/compose.yaml", "--out", "own"], 2, "the spec it reads"),
    # class 7: guard rails
    ("--out /", ["generate", "--out", "/"], 2, "holds folders, not a lab's files"),
    ("--out /etc", ["generate", "--out", "/etc"], 2, "/etc is the system's"),
    ("--out /etc/x", ["generate", "--out", "/etc/labgen"], 2, "/etc is the system's"),
    ("--out /usr/local/lab", ["generate", "--out", "/usr/local/lab"], 2, "/usr is the system's"),
    ("--out /var/lib/lab", ["generate", "--out", "/var/lib/lab"], 2, "/var/lib is the system's"),
    ("init into /etc", ["init", "/etc/labgen.yaml"], 2, "/etc is the system's"),
    ("images save into /usr", ["images", "save", "/usr/x.tar"], 2, "/usr is the system's"),
    (
        "ha-only option with profile article",
        ["generate", "--profile", "article", "--set", "haproxy.read_timeout_ms=2000"],
        2,
        "haproxy.read_timeout_ms: only the ha profile reads this",
    ),
    (
        "requeue with profile article",
        ["generate", "--profile", "article", "--set", "jenkins.requeue_interrupted=true"],
        2,
        "jenkins.requeue_interrupted: only the ha profile reads this",
    ),
]


@pytest.mark.parametrize(("argv", "code", "fragment"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_hostile_input_is_refused_clearly_and_nothing_is_written(
    hostile: Path, argv: list[str], code: int, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot_light(hostile)
    started = time.monotonic()
    assert run(argv) == code, capsys.readouterr()
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    message = " ".join((captured.err + captured.out).split())
    assert fragment in message, message
    assert "internal error" not in message and "Traceback" not in message
    assert _snapshot_light(hostile) == before


def _snapshot_light(root: Path) -> dict[str, object]:
    """_snapshot without reading special files (a FIFO, /dev/zero, a 3 GB file)."""
    shot: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        info = p.lstat()
        regular = stat.S_ISREG(info.st_mode) and info.st_size < 1 << 20
        shot[str(p.relative_to(root))] = (p.read_bytes() if regular else info.st_size, info.st_mode)
    return shot


@pytest.mark.parametrize("out", ["m[/]x", "p[bold]q", "[red]r", "a\\[b"])
def test_markup_in_a_path_is_printed_as_it_is(world: Path, out: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["generate", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert f"rendered into {out}/" in " ".join(printed.split())
    assert f"{out}/compose.yaml" in printed and (world / "work" / out / "compose.yaml").is_file()


def test_lint_json_is_one_document_even_with_errors(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lint", "--json"]) == 1  # the article's config: errors
    captured = capsys.readouterr()
    document = json.loads(captured.out)  # one document: a second one would make this fail
    assert document["findings"] and "errors" in captured.err


def test_doctor_json_is_one_document_when_a_check_fails(
    hostile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labgen.lab.doctor import Check

    failing = [Check("docker", "ok", "Engine 27"), Check("nfs", "fail", "no [bold]NFS[/] client", "use fuse")]
    monkeypatch.setattr("labgen.cli.lab_cmds.run_checks", lambda lab, probe_registry: failing)
    code = run(["doctor", "--json"])
    captured = capsys.readouterr()
    checks = json.loads(captured.out)
    assert isinstance(checks, list) and checks
    assert code == 3 and any(c["verdict"] == "fail" for c in checks)


def test_init_writes_a_spec_with_a_password_for_its_owner_only(world: Path) -> None:
    assert run(["init", "with.yaml", "--set", "stats.password=s3cret-Pass"]) == 0
    assert stat.S_IMODE((world / "work/with.yaml").stat().st_mode) == 0o600
    assert run(["init", "without.yaml"]) == 0
    assert stat.S_IMODE((world / "work/without.yaml").stat().st_mode) & 0o044


def test_lab_json_is_private_and_holds_no_password(tmp_path: Path) -> None:
    from labgen.lab.folder import save_topology
    from labgen.model.spec import load_lab
    from labgen.model.topology import Topology

    save_topology(Topology.resolve(load_lab(None, {"stats.password": "s3cret-Pass"})), tmp_path)
    path = tmp_path / "lab.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cret-Pass" not in path.read_text()
    assert Topology.from_json(json.loads(path.read_text())).lab.stats.password is None


@pytest.mark.parametrize("kind", SPECIAL)
def test_a_special_event_log_is_refused_not_read(world: Path, kind: str) -> None:
    from labgen.errors import EnvironmentProblem
    from labgen.lab import journal

    path = world / "state/labgen/labs/unit-lab/events.jsonl"
    _special(kind, path)
    started = time.monotonic()
    with pytest.raises(EnvironmentProblem, match=MESSAGES[kind]):
        journal.read("unit-lab")
    assert time.monotonic() - started < 5
