"""Stage 7, the command line: the only package that prints. One module per command group;
options are declared once (`options`), errors become messages in one place (`app.run`)."""

from labgen.cli import (
    chaos_cmds,
    fault_cmds,
    images_cmds,
    lab_cmds,
    soak_cmds,
    spec_cmds,
    switchover_cmds,
    verify_cmds,
)
from labgen.cli.app import app, main, run

__all__ = [
    "app",
    "chaos_cmds",
    "fault_cmds",
    "images_cmds",
    "lab_cmds",
    "main",
    "run",
    "soak_cmds",
    "spec_cmds",
    "switchover_cmds",
    "verify_cmds",
]
