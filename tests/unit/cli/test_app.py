"""labgen/cli/app.py: the consoles."""

from __future__ import annotations

import importlib
import io

import pytest

cli_app = importlib.import_module("labgen.cli.app")  # the module: labgen.cli.app is also the Typer app


def test_a_log_gets_wide_tables_a_terminal_and_columns_keep_their_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(cli_app.sys, "stdout", io.StringIO())
    assert cli_app._console().width == cli_app.LOG_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert cli_app._console().width == 100
