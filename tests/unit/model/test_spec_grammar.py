"""Issue 19, class 1: every spec value that reaches a generated file has a strict grammar, and
what passes it is written through the file's quoting. A property test over hostile text: each
value is refused with a SpecError, or the rendered compose.yaml has exactly the structure labgen
writes (no injected key such as `privileged`), Compose's `$` never interpolates, and haproxy.cfg
and ganesha.conf hold the value on one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labgen.errors import EnvironmentProblem, SpecError
from labgen.generate.render import COMPOSE_FILE, GANESHA_CONFIG, HAPROXY_CONFIG, generate, render_files
from labgen.generate.secrets import env_line, parse_secrets
from labgen.model import names
from labgen.model.spec import LabSpec, load_lab
from labgen.model.topology import Topology

EXAMPLES = int(os.environ.get("LABGEN_FUZZ_EXAMPLES", "100"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HOSTILE_BITS = st.sampled_from(
    [
        *('"', "'", "\n", "\r", "$", "${HOME}", "%", "#", ":", "::", "[", "]", "{", "}", "\\", " ", "\t", "٨", "²"),
        *("0", "127.0.0.1", "::1", "/24", "/0", "2.0.", "fe80::1%eth0", "255.255.255.0", "\n    privileged: true"),
        "\x00",
    ]
)
HOSTILE = st.lists(HOSTILE_BITS | st.text(max_size=6), max_size=8).map("".join)
FIELDS = ("ports.bind", "network.subnet", "stats.password", "stats.user", "haproxy.version", "name")
HAPROXY_KEYS = {
    *("image", "restart", "env_file", "depends_on", "ports", "volumes", "labels", "networks", "environment"),
    "hostname",
}


def _rendered(overrides: dict[str, object]) -> dict[str, str] | None:
    try:
        lab = load_lab(None, overrides)
    except SpecError as exc:
        assert exc.exit_code == 2 and len(exc.message) < 2000
        return None
    return render_files(Topology.resolve(lab, nfs_client="kernel"))


def _assert_structure(files: dict[str, str], lab: LabSpec) -> None:
    compose = yaml.safe_load(files[COMPOSE_FILE])
    haproxy = compose["services"]["haproxy"]
    assert set(haproxy) <= HAPROXY_KEYS | {"cap_drop", "cap_add", "secrets", "security_opt", "read_only"}
    assert "privileged" not in files[COMPOSE_FILE] and "pid:" not in files[COMPOSE_FILE]
    assert len(haproxy["ports"]) == 3
    for entry in haproxy["ports"]:
        host, _, _port = entry.rpartition(":")[0].rpartition(":")
        assert host.strip("[]") == lab.ports.bind
    text = files[COMPOSE_FILE]
    assert "$" not in text.replace("$$", ""), "a lone $ is interpolated by Compose"
    for rel in (HAPROXY_CONFIG, GANESHA_CONFIG):
        assert all(line.isprintable() for line in files[rel].splitlines())


@FAST
@given(field=st.sampled_from(FIELDS), value=HOSTILE)
def test_any_value_is_refused_or_written_through_quoting(field: str, value: str) -> None:
    files = _rendered({field: value})
    if files is not None:
        _assert_structure(files, load_lab(None, {field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ports.bind", '::%x"\n    privileged: true\n    pid: host\n#'),
        ("ports.bind", "::%eth0"),
        ("ports.bind", "fe80::1%eth0"),
        ("ports.bind", "224.0.0.1"),
        ("ports.bind", "ff02::1"),
        ("ports.bind", "255.255.255.255"),
        ("ports.bind", "240.0.0.1"),
        ("ports.bind", "::ffff:127.0.0.1"),
        ("ports.bind", "127.0.0.1 "),
        ("ports.bind", "１２７.0.0.1"),
        ("ports.bind", "0" * 100),
        ("network.subnet", "172.30.0.0/255.255.0.0"),
        ("network.subnet", "0.0.0.0/0"),
        ("network.subnet", "10.0.0.0/7"),
        ("network.subnet", "127.0.0.0/24"),
        ("network.subnet", "169.254.0.0/16"),
        ("network.subnet", "224.0.0.0/24"),
        ("network.subnet", "240.0.0.0/24"),
        ("network.subnet", "8.8.8.0/24"),
        ("network.subnet", "172.30.213.0/24\n"),
        ("network.subnet", "172.30.213.0"),
        ("haproxy.version", "2.0.٨"),
        ("haproxy.version", "2.0.8\n"),
        ("haproxy.version", "2.0." + "1" * 400),
        ("haproxy.version", "２.0.8"),
        ("stats.password", "a$HOME"),
        ("stats.password", "x\ny"),
        ("stats.password", 'a"b'),
        ("stats.password", "pässword"),
        ("stats.password", "a b"),
        ("stats.password", "x" * 129),
        ("stats.user", "admin\n"),
        ("stats.user", "ädmin"),
        ("name", "lab\n"),
    ],
)
def test_hostile_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(SpecError) as info:
        load_lab(None, {field: value})
    assert field in info.value.message and "allowed" in info.value.message


@pytest.mark.parametrize(
    ("given", "canonical"), [("::1", "::1"), ("0:0::1", "::1"), ("::", "::"), ("0.0.0.0", "0.0.0.0")]
)
def test_addresses_are_kept_in_canonical_form(given: str, canonical: str) -> None:
    assert load_lab(None, {"ports.bind": given}).ports.bind == canonical


@FAST
@given(value=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40))
def test_a_secret_reads_back_from_its_env_line(value: str) -> None:
    if "'" in value:
        with pytest.raises(EnvironmentProblem, match="single quote"):
            env_line("K", value)
        return
    assert parse_secrets(env_line("K", value)) == {"K": value}


def _image_variables() -> dict[str, str]:
    """What the HAProxy image sets for its entrypoint: the names of the stats login's variables."""
    args = names.image_buildargs()
    return {
        "LABGEN_STATS_USER_VARIABLE": args["STATS_USER_ENV"],
        "LABGEN_STATS_PASSWORD_VARIABLE": args["STATS_PASSWORD_ENV"],
    }


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI (no engine)")
def test_compose_hands_a_dollar_secret_over_as_it_is(tmp_path: Path) -> None:
    """A secret edited into secrets.env as `a$HOME${PATH}` reaches the service's secret file as it
    is, Compose interpolates nothing of it, and the entrypoints' reader exports it as it is."""
    generate(Topology.resolve(LabSpec(), nfs_client="fuse"), tmp_path)
    secrets = tmp_path / "secrets.env"
    text = secrets.read_text().replace("JENKINS_ADMIN_PASSWORD='", "JENKINS_ADMIN_PASSWORD='a$HOME${PATH}`id`", 1)
    secrets.write_text(text)
    generate(Topology.resolve(LabSpec(), nfs_client="fuse"), tmp_path)  # keeps the edited secret
    password = parse_secrets(secrets.read_text())["JENKINS_ADMIN_PASSWORD"]
    assert password.startswith("a$HOME${PATH}`id`")
    assert parse_secrets((tmp_path / "secrets/jenkins.env").read_text())["JENKINS_ADMIN_PASSWORD"] == password
    config = subprocess.run(
        ["docker", "compose", "-f", str(tmp_path / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert password not in config.stdout and "/root" not in config.stdout.split('"secrets"')[0]
    images = Path(__file__).resolve().parents[3] / "images"
    exported = subprocess.run(
        ["sh", str(images / "haproxy/entrypoint.sh"), "env"],  # the same reader as Jenkins' (images/common)
        env={
            "PATH": os.environ["PATH"],
            "LABGEN_ENTRYPOINT_LIB": str(images / "common"),
            "LABGEN_SECRETS_FILE": str(tmp_path / "secrets/jenkins.env"),
            **_image_variables(),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert f"JENKINS_ADMIN_PASSWORD={password}\n" in exported.stdout
