"""Issue 19, class 4: Ctrl-C at any moment once labgen's code runs, its first imports included,
exits 130 with one word and no traceback. The SIGINT comes from a timer in the process itself
(a SIGALRM that raises SIGINT; after interpreter start-up, which is Python's and not labgen's), at
delays from 1 ms: on a fast machine these are the first 200 ms of `labgen`; under load they land in the imports too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = """
import signal, sys
delay, sys.argv = float(sys.argv[1]), ["labgen", "generate", "--out", sys.argv[2]]
from labgen.launch import main  # the entry point: two small modules, then the CLI's imports in main()
signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
signal.setitimer(signal.ITIMER_REAL, delay)
try:
    main()
finally:  # a timer still running at exit would fire after Python put SIGALRM back to its default (exit -14)
    signal.setitimer(signal.ITIMER_REAL, 0)
"""


@pytest.mark.parametrize("delay", [0.001, 0.02, 0.1, 0.2, 0.5])
def test_ctrl_c_early_is_one_word_and_exit_130(tmp_path: Path, delay: float) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(delay), str(tmp_path / "lab")],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 130), (proc.returncode, proc.stderr)
    if proc.returncode == 130:
        assert proc.stderr.strip().endswith("interrupted"), proc.stderr
