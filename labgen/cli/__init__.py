"""Stage 7, the command line: the only package that prints. One module per command group;
options are declared once (`options`), errors become messages in one place (`app.run`)."""

from labgen.cli import chaos_cmds, lab_cmds, spec_cmds, verify_cmds
from labgen.cli.app import app, main, run

__all__ = ["app", "chaos_cmds", "lab_cmds", "main", "run", "spec_cmds", "verify_cmds"]
