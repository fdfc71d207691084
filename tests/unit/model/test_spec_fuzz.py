"""Property-based fuzz of the spec loader, `--set` and `labgen init`'s spec file: whatever a user
can type or have on disk gives a `LabSpec` or a SpecError with a short message, never another
exception; and what `init` writes loads back to the same values. Bounded to a few seconds."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labgen.errors import EXIT_USAGE, SpecError
from labgen.generate.render import render_spec_file
from labgen.model.grammar import NAME_PATTERN
from labgen.model.spec import LabSpec, load_lab, parse_override

EXAMPLES = int(os.environ.get("LABGEN_FUZZ_EXAMPLES", "100"))  # more: LABGEN_FUZZ_EXAMPLES=2000
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FIELDS = [
    "name",
    "profile",
    "haproxy",
    "haproxy.version",
    "haproxy.check.rise",
    "jenkins.masters",
    "ports.http",
    "ports.bind",
    "stats.password",
    "stats.user",
    "network.subnet",
    "nfs.client",
    "x",
    "haproxy.check",
]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
YAML_BITS = st.sampled_from(
    [
        "name: ",
        "profile: ",
        "haproxy:\n  ",
        "check: {",
        "}",
        "[",
        "]",
        "&a ",
        "*a",
        "<<: ",
        "!!python/object ",
        "- ",
        "'",
        '"',
        "\t",
        "\n",
        ": ",
        "yes",
        "null",
        "2019-13-45",
        "0x1F",
        ".inf",
        "~",
        "#",
        "%YAML 1.1\n",
        "---\n",
        "\ufeff",
    ]
)
YAML_TEXT = st.lists(YAML_BITS | st.text(max_size=10), max_size=30).map("".join)


def _loads_or_refuses(path: Path | None, overrides: dict[str, object] | None = None) -> None:
    try:
        lab = load_lab(path, overrides)
    except SpecError as exc:
        assert exc.exit_code == EXIT_USAGE
        assert len(str(exc)) < 3000, "error messages quote short excerpts"
    else:
        assert isinstance(lab, LabSpec)


@FAST
@given(text=YAML_TEXT)
def test_any_text_is_a_lab_or_a_spec_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "labgen.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _loads_or_refuses(path)


@FAST
@given(data=st.binary(max_size=200))
def test_any_bytes_are_a_lab_or_a_spec_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "labgen.yaml"
    path.write_bytes(data)
    _loads_or_refuses(path)


@FAST
@given(
    data=st.dictionaries(
        st.sampled_from(FIELDS[:2]) | st.sampled_from(["haproxy", "jenkins", "ports", "stats", "nfs"]), VALUES
    )
)
def test_any_structure_is_a_lab_or_a_spec_error(tmp_path: Path, data: dict[str, object]) -> None:
    path = tmp_path / "labgen.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    _loads_or_refuses(path)


@FAST
@given(
    assignments=st.lists(st.sampled_from(FIELDS).map(lambda k: k + "=") | st.text(max_size=20), max_size=4),
    values=st.lists(YAML_TEXT, min_size=4, max_size=4),
)
def test_any_set_is_a_lab_or_a_spec_error(assignments: list[str], values: list[str]) -> None:
    overrides: dict[str, object] = {}
    try:
        for assignment, value in zip(assignments, values, strict=False):
            key, parsed = parse_override(assignment + value)
            overrides[key] = parsed
    except SpecError as exc:
        assert exc.exit_code == EXIT_USAGE
        return
    _loads_or_refuses(None, overrides)


@FAST
@given(
    name=st.from_regex(NAME_PATTERN, fullmatch=True)
    | st.sampled_from(["yes", "no", "on", "off", "null", "true", "nan"]),
    user=st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True) | st.sampled_from(["yes", "null", "1e3", "0x10", "~"]),
    password=st.none()
    | st.text(min_size=1, max_size=30)
    | st.sampled_from(["&anchor", "*alias", "!tag", "%x", "#x", "1.0"]),
)
def test_init_writes_a_spec_that_loads_back_to_the_same_values(
    tmp_path: Path, name: str, user: str, password: str | None
) -> None:
    try:
        lab = LabSpec.model_validate({"name": name, "stats": {"user": user, "password": password}})
    except ValueError:
        return  # refused by the spec itself (e.g. a password with a space), with a message
    path = tmp_path / "labgen.yaml"
    path.write_text(render_spec_file(lab), encoding="utf-8")
    assert load_lab(path) == lab
