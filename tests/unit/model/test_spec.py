"""Spec validation: every bad input gets one clear message naming the field, exit 2, nothing written."""

from pathlib import Path

import pytest

from labgen.cli import run
from labgen.errors import EXIT_USAGE, SpecError
from labgen.model.spec import LabSpec, load_lab, parse_override

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BAD = sorted(p for p in (FIXTURES / "bad-specs").iterdir() if p.is_dir())
GOOD = sorted(p for p in (FIXTURES / "specs").iterdir() if p.is_dir())


def test_defaults_are_the_article_values() -> None:
    lab = LabSpec()
    assert (lab.haproxy.version, lab.jenkins.version, lab.jenkins.masters) == ("2.0.8", "2.190.2", 2)
    assert (lab.haproxy.check.inter_ms, lab.haproxy.check.rise, lab.haproxy.check.fall) == (1000, 1, 1)
    assert lab.ports.bind == "127.0.0.1"
    assert lab.stats.password is None  # generated per lab, never the article's 123456
    assert lab.masters == ["jenkins01", "jenkins02"]


@pytest.mark.parametrize("case", GOOD, ids=[p.name for p in GOOD])
def test_good_specs_load(case: Path) -> None:
    assert isinstance(load_lab(case / "labgen.yaml"), LabSpec)


@pytest.mark.parametrize("case", BAD, ids=[p.name for p in BAD])
def test_bad_spec_is_one_clear_message(case: Path) -> None:
    expected = (case / "expected-error.txt").read_text().strip()
    with pytest.raises(SpecError) as info:
        load_lab(case / "labgen.yaml")
    assert expected in " ".join(info.value.message.split())
    assert info.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("case", BAD, ids=[p.name for p in BAD])
def test_bad_spec_exits_2_and_writes_nothing(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(["generate", "--spec", str(case / "labgen.yaml"), "--out", str(out)]) == 2
    assert not out.exists()
    stderr = " ".join(capsys.readouterr().err.split())
    assert (case / "expected-error.txt").read_text().strip() in stderr
    assert "Traceback" not in stderr


def test_bad_spec_leaves_an_existing_lab_folder_untouched(tmp_path: Path) -> None:
    out = tmp_path / "lab"
    assert run(["generate", "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert run(["generate", "--out", str(out), "--http-port", "99999"]) == 2
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_lab(tmp_path / "nope.yaml")


def test_overrides_apply_over_the_file(tmp_path: Path) -> None:
    spec = tmp_path / "labgen.yaml"
    spec.write_text("haproxy:\n  check: {rise: 2}\n")
    lab = load_lab(spec, dict([parse_override("haproxy.check.fall=3"), parse_override("profile=article")]))
    assert (lab.haproxy.check.rise, lab.haproxy.check.fall, lab.profile) == (2, 3, "article")


def test_override_without_equals_is_rejected() -> None:
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        parse_override("haproxy.check.rise")


def test_cli_options_override(tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert (
        run(
            [
                "generate",
                "--out",
                str(out),
                "--profile",
                "article",
                "--haproxy-version",
                "2.6.12",
                "--http-port",
                "9090",
                "--rise",
                "2",
                "--fall",
                "3",
                "--check-inter",
                "500",
            ]
        )
        == 0
    )
    cfg = (out / "haproxy" / "haproxy.cfg").read_text()
    assert 'profile "article", HAProxy 2.6.12' in cfg
    assert "check inter 500 rise 2 fall 3" in cfg
    assert "127.0.0.1:9090:80" in (out / "compose.yaml").read_text()


def test_init_writes_every_default_commented(tmp_path: Path) -> None:
    spec = tmp_path / "labgen.yaml"
    assert run(["init", str(spec)]) == 0
    text = spec.read_text()
    assert load_lab(spec) == LabSpec()
    for field in (
        "name:",
        "profile:",
        "version:",
        "inter_ms:",
        "rise:",
        "fall:",
        "flavour:",
        "masters:",
        "bind:",
        "http:",
        "stats:",
        "agent:",
        "user:",
        "password:",
        "client:",
    ):
        assert field in text
    assert text.count("#") > 15
    assert run(["init", str(spec)]) == 2  # no silent overwrite


@pytest.mark.parametrize(
    "argv",
    [
        ["--name", "yes"],
        ["--name", "null"],
        ["--name", "no"],
        ["--set", "stats.password=&anchor"],
        ["--set", "stats.password=*alias"],
        ["--set", "stats.password='#x'"],
        ["--set", "stats.user='on'", "--set", "stats.password=~tilde"],
    ],
)
def test_init_writes_a_spec_that_loads_back_to_the_same_values(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    overrides = dict(parse_override(a) for a in argv[1::2] if "=" in a)
    if argv[0] == "--name":
        overrides = {"name": argv[1]}
    assert run(["init", *argv]) == 0
    assert load_lab(tmp_path / "labgen.yaml") == load_lab(None, overrides)
    assert load_lab(tmp_path / "labgen.yaml").model_dump() != LabSpec().model_dump()


def test_a_value_init_cannot_write_faithfully_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["init", "--set", "stats.password=a\x07b"]) == 2  # a control character
    assert not (tmp_path / "labgen.yaml").exists()


def test_set_values_are_read_with_the_same_caps_as_a_spec() -> None:
    with pytest.raises(SpecError, match="alias bomb"):
        parse_override("name=[" + ",".join(["&a [" + ",".join(["x"] * 80) + "]"] + ["*a"] * 80) + "]")
    assert parse_override("name=[a") == ("name", "[a")  # not YAML: the text as typed
    assert parse_override("stats.password=&secret") == ("stats.password", "&secret")  # not null
    assert parse_override("stats.password=null") == ("stats.password", None)
