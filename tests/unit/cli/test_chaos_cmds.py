"""Bad chaos and verify input exits 2, says what is allowed and records nothing."""

from __future__ import annotations

import pytest

from labgen.cli import run
from labgen.lab import journal
from labgen.model.spec import LabSpec


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["chaos", "explode", "jenkins01"], "unknown chaos action 'explode'; valid: kill, stop, start"),
        (["chaos", "kill", "jenkins09"], "unknown target 'jenkins09' in lab unit-lab; valid: nfs, jenkins01"),
        (["chaos", "reload", "nfs"], "reload applies to a master or HAProxy"),
        (["chaos", "kill"], "chaos kill needs a TARGET; valid: nfs, jenkins01, jenkins02, haproxy"),
        (["verify", "failover", "--action", "melt"], "unknown --action 'melt'; valid: kill, stop, pause, partition"),
    ],
)
def test_bad_chaos_input_exits_2_and_touches_nothing(
    saved_lab: LabSpec, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*args, "--lab", saved_lab.name]) == 2
    assert expected in " ".join(capsys.readouterr().err.split())
    assert journal.read(saved_lab.name) == []  # nothing was recorded: nothing was done
