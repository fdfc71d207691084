"""labgen/cli/app.py: the consoles."""

from __future__ import annotations

import io

import pytest

from labgen.cli import app as cli_app


def test_a_log_gets_wide_tables_a_terminal_and_columns_keep_their_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(cli_app.sys, "stdout", io.StringIO())
    assert cli_app._console().width == cli_app.LOG_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert cli_app._console().width == 100
