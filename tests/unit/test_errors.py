"""Errors by condition: each a LabgenError with its exit code as a class attribute, exported from
the `labgen` package, and turned into one message and that code at the CLI edge."""

from __future__ import annotations

import errno
import inspect
import json
from pathlib import Path

import pytest

import labgen
from labgen import errors
from labgen.cli import run
from labgen.errors import (
    EXIT_ENVIRONMENT,
    EXIT_FAILED,
    EXIT_USAGE,
    BadPath,
    EnvironmentProblem,
    LabgenError,
    NoSuchLab,
    UsageError,
    os_problem,
)

CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, LabgenError)]


def test_every_error_is_a_labgen_error_exported_from_the_package() -> None:
    assert len(CLASSES) > 20
    for cls in CLASSES:
        assert getattr(labgen, cls.__name__) is cls and cls.__name__ in labgen.__all__
        assert cls.__doc__, f"{cls.__name__} says which condition it is"


def test_the_exit_code_is_the_classs_and_follows_the_family() -> None:
    for cls in CLASSES:
        error = cls("x")
        assert error.exit_code == cls.exit_code
        if issubclass(cls, UsageError):
            assert cls.exit_code == EXIT_USAGE
        elif issubclass(cls, EnvironmentProblem):
            assert cls.exit_code == EXIT_ENVIRONMENT
        elif cls is not errors.Interrupted:
            assert cls.exit_code == EXIT_FAILED
    assert errors.Interrupted.exit_code == 130


def test_a_library_user_catches_the_condition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    from labgen.lab.handle import LabHandle

    with pytest.raises(NoSuchLab, match="no lab named 'nowhere'") as raised:
        LabHandle.open("nowhere")
    assert raised.value.exit_code == EXIT_USAGE and raised.value.hint  # the known labs, or how to start one


def test_an_os_error_becomes_a_bad_path_or_a_machine_problem() -> None:
    missing = os_problem(FileNotFoundError(errno.ENOENT, "No such file or directory", "/x"), "read")
    full = os_problem(OSError(errno.ENOSPC, "No space left on device", "/y"), "write")
    assert isinstance(missing, BadPath) and missing.exit_code == EXIT_USAGE
    assert type(full) is EnvironmentProblem and full.exit_code == EXIT_ENVIRONMENT
    assert missing.message == "cannot read /x: No such file or directory"


def test_the_cli_turns_a_typed_error_into_one_message_and_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert run(["verify", "soak", "--duration", "0", "--lab", "nowhere", "--json"]) == EXIT_USAGE
    answer = json.loads(capsys.readouterr().out)
    assert answer["exit_code"] == EXIT_USAGE and "--duration" in answer["error"]
