"""How the CLI shows events and results: progress lines, a live status line, JSON."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from rich.text import Text

from labgen.cli.app import err, stdout_json
from labgen.events import Emitter, Event


class ProgressPrinter:
    """Prints events as lines; noisy progress (build output) only updates a live status line."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.status: Any = None

    def __call__(self, event: Event) -> None:
        if event.kind.endswith(".progress") and not self.verbose:
            text = Text(event.message.strip()[:100])
            if self.status is None:
                self.status = err.status(text)
                self.status.start()
            else:
                self.status.update(text)
            return
        style = {"warn": "bold yellow", "step": "cyan", "done": "green"}.get(event.level, "dim")
        prefix = "!" if event.level == "warn" else "•"
        err.print(Text.assemble((prefix, style), " ", event.message), highlight=False)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


@contextlib.contextmanager
def progress(quiet: bool = False, verbose: bool = False) -> Iterator[Emitter]:
    emitter = Emitter()
    printer = ProgressPrinter(verbose)
    if not quiet:
        emitter.subscribe(printer)
    try:
        yield emitter
    finally:
        printer.close()


def print_json(data: Any) -> None:
    """The command's one JSON document on stdout (an error after it goes to stderr: see app.run)."""
    stdout_json["written"] = True
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
