"""Issue 19, class 2: `lint_text` reads any text as a haproxy.cfg without raising (a directive
with no value, a number that is not one, Unicode digits, markup)."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from labgen.generate.lint import Finding, lint_text

EXAMPLES = int(os.environ.get("LABGEN_FUZZ_EXAMPLES", "200"))
WORDS = st.sampled_from(
    [
        *("global", "defaults", "frontend", "backend", "listen", "mode", "maxconn", "ulimit-n", "nbproc", "daemon"),
        *("log", "option", "httplog", "redispatch", "reqadd", "stats", "auth", "realm", "server", "balance"),
        *(
            "timeout",
            "client",
            "connect",
            "server",
            "bind",
            "http",
            "tcp",
            "1e3",
            "abc",
            "٨",
            "-1",
            "99999999999999999",
        ),
        *("[bold]", "[/]", "#", "\\", '"', "admin:123456", "127.0.0.1:514", "check", "backup", "httpchk", "expect"),
    ]
)
LINE = st.lists(WORDS | st.text(max_size=5), max_size=5).map(" ".join)
CONFIG = st.lists(st.tuples(st.booleans(), LINE), max_size=25).map(
    lambda lines: "\n".join(("  " if indent else "") + line for indent, line in lines)
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=CONFIG)
def test_any_config_is_linted_without_raising(text: str) -> None:
    findings = lint_text(text)
    assert all(isinstance(f, Finding) and f.severity in ("error", "warning", "advice") for f in findings)
