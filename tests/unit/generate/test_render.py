"""The generator: golden files per spec case, both profiles on both HAProxy series, secrets."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from labgen.errors import BadEnvironmentVariable, SpecError
from labgen.generate.render import generate, render_files
from labgen.generate.secrets import read_secrets
from labgen.model import names
from labgen.model.lua import LUA_NAMES_FILE, names_lua
from labgen.model.spec import LabSpec, load_lab
from labgen.model.topology import Topology

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RENDER_TESTS = "tests/unit/generate/test_render.py"
CASES = sorted(p for p in (FIXTURES / "specs").iterdir() if p.is_dir())
UPDATE = os.environ.get("LABGEN_UPDATE_GOLDEN") == "1"


def _lab(case: Path) -> LabSpec:
    return load_lab(case / "labgen.yaml")


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_golden_files(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _lab(case)
    monkeypatch.delenv(names.IMAGE_NAMESPACE_ENV, raising=False)  # the goldens name the images in the default one
    files = render_files(
        Topology.resolve(lab, nfs_client="fuse" if lab.nfs.client == "auto" else None)
    )  # auto depends on the host
    expected_dir = case / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, text in files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text)
    on_disk = {str(p.relative_to(expected_dir)) for p in expected_dir.rglob("*") if p.is_file()}
    assert on_disk == set(files), (
        "golden files missing: run LABGEN_UPDATE_GOLDEN=1 pytest tests/unit/generate/test_render.py"
    )
    for rel, text in files.items():
        assert (expected_dir / rel).read_text() == text, f"{case.name}/{rel} differs from its golden file"


def test_compose_names_the_images_in_the_namespace_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.IMAGE_NAMESPACE_ENV, "ci-42")
    compose = yaml.safe_load(
        render_files(Topology.resolve(LabSpec(), flavour="lite", nfs_client="fuse"))["compose.yaml"]
    )
    images = {service["image"] for service in compose["services"].values()}
    assert images == {"ci-42/nfs-ganesha:4.3", "ci-42/haproxy:2.0.8", "ci-42/jenkins-lite:2.190.2"}
    monkeypatch.setenv(names.IMAGE_NAMESPACE_ENV, "CI")
    with pytest.raises(BadEnvironmentVariable, match=f"^{names.IMAGE_NAMESPACE_ENV}='CI' is not allowed; allowed: "):
        render_files(Topology.resolve(LabSpec(), nfs_client="fuse"))


def _haproxy(lab: LabSpec) -> str:
    return render_files(Topology.resolve(lab))["haproxy/haproxy.cfg"]


def test_article_profile_keeps_the_article_directives_on_2_0() -> None:
    cfg = _haproxy(LabSpec(profile="article"))
    for directive in (
        "nbproc 4",
        r"reqadd X-Forwarded-Proto:\ http",
        "option redispatch",
        "maxconn 20000",
        "ulimit-n 16384",
        "stats realm welcome Haproxy",
        "chroot /var/empty",
        "uid 200",
    ):
        assert f"\n  {directive}\n" in cfg
    assert "\n  daemon\n" not in cfg and '"daemon" dropped' in cfg
    assert "admin:123456" not in cfg.replace('"stats auth admin:123456"', "")


def test_article_profile_translates_only_what_2_6_cannot_run() -> None:
    cfg = _haproxy(LabSpec(profile="article", haproxy={"version": "2.6.12"}))  # type: ignore[arg-type]
    assert "\n  nbproc" not in cfg and '"nbproc 4" dropped' in cfg
    assert "\n  reqadd" not in cfg and "http-request add-header X-Forwarded-Proto http" in cfg
    assert "no strict-limits" in cfg
    assert "option redispatch" in cfg and "stats realm welcome Haproxy" in cfg  # defects kept


@pytest.mark.parametrize("version", ["2.0.8", "2.6.12"])
def test_ha_profile_is_active_passive(version: str) -> None:
    cfg = _haproxy(LabSpec(haproxy={"version": version}))  # type: ignore[arg-type]
    # Every master starts in MAINT; the promoter (Lua in HAProxy) reloads one, then makes it ready.
    assert "server jenkins01 jenkins01:8080 check disabled agent-check agent-port 8199 agent-inter 1s\n" in cfg
    assert "server jenkins02 jenkins02:8080 check disabled agent-check agent-port 8199 agent-inter 1s\n" in cfg
    assert "lua-load /usr/local/share/labgen/promoter.lua" in cfg
    assert "mode http" in cfg and "timeout connect" in cfg and "retries 100" in cfg  # 40 + 120 s in 2 s slices
    backend = cfg.split("\nbackend jenkins\n")[1].split("\nbackend ")[0]
    writes = cfg.split("\nbackend jenkins_write\n")[1].split("\nlisten ")[0]
    assert "option redispatch" in backend and "server hold 127.0.0.1:8099 backup" in backend
    # Reads are retried after any failure, writes only where no master can have applied them.
    assert "retry-on conn-failure empty-response response-timeout 503" in backend
    assert "retry-on conn-failure 503\n" in writes and "track jenkins/jenkins02" in writes
    assert "use_backend jenkins_write unless METH_GET" in cfg
    assert "X-Forwarded-Proto http" in cfg and "X-Labgen-Served-By" in cfg
    assert "on-marked-down shutdown-sessions" not in backend and "track jenkins/jenkins02 backup\n" in cfg
    assert "server-state" not in cfg  # nothing to load at the first start: no warning
    assert "stats socket /var/run/haproxy/admin.sock" in cfg
    assert "nbproc" not in cfg and "reqadd" not in cfg


def test_the_hold_timeout_bounds_every_wait() -> None:
    """haproxy.hold_timeout_s reaches the promoter, HAProxy's retries and its client-side timeouts."""
    cfg = _haproxy(load_lab(None, {"haproxy.hold_timeout_s": 300, "haproxy.read_timeout_ms": 1000}))
    assert f"setenv {names.HOLD_TIMEOUT_ENV} 300000\n" in cfg
    assert f"setenv {names.HOLD_SLICE_ENV} 500\n" in cfg  # a visit to the hold proxy stays below the read timeout
    assert cfg.count("  retries 640\n") == 2  # 40 + 300 s in 0.5 s slices, for reads and writes
    frontend = cfg.split("\nfrontend jenkins_http\n")[1].split("\nbackend ")[0]
    assert "timeout client 310s" in frontend
    assert f"http-request lua.{names.PROMOTER_HOLD_ACTION}\n" in frontend  # every request, reads too
    assert f"http-response lua.{names.PROMOTER_HELD_ACTION}\n" in frontend
    agent = cfg.split(f"\nlisten {names.AGENT_PROXY}\n")[1]
    assert "tcp-request inspect-delay 305s" in agent and f"lua.{names.PROMOTER_AGENT_HOLD_ACTION}" in agent
    hold = cfg.split(f"\nlisten {names.HOLD_PROXY}\n")[1].split("\nfrontend ")[0]
    assert f"lua.{names.PROMOTER_HOLD_AGAIN_ACTION}" in hold and "tarpit" not in hold
    short = _haproxy(load_lab(None, {"haproxy.hold_timeout_s": 10}))
    assert "timeout client 60s" in short.split("\nfrontend jenkins_http\n")[1].split("\nbackend ")[0]
    for bad in (5, 3601):
        with pytest.raises(SpecError, match="hold_timeout_s"):
            load_lab(None, {"haproxy.hold_timeout_s": bad})


def test_check_settings_reach_every_server() -> None:
    lab = LabSpec(haproxy={"check": {"inter_ms": 2500, "rise": 2, "fall": 3}})  # type: ignore[arg-type]
    assert "default-server inter 2500 rise 2 fall 3" in _haproxy(lab)
    article = _haproxy(lab.model_copy(update={"profile": "article"}))
    assert article.count("check inter 2500 rise 2 fall 3") == 2
    assert article.count("check inter 2500ms") == 2


def test_the_read_timeout_bounds_the_read_backend_only() -> None:
    default = _haproxy(LabSpec())
    assert default.count("timeout server 5s") == 1  # the read backend; writes keep the 60 s default
    fast = _haproxy(load_lab(None, {"haproxy.read_timeout_ms": 2500}))
    assert fast.count("timeout server 2500ms") == 1 and "timeout server 5s" not in fast
    with pytest.raises(SpecError, match="read_timeout_ms"):
        load_lab(None, {"haproxy.read_timeout_ms": 500})


def test_compose_services_and_labels() -> None:
    compose = yaml.safe_load(render_files(Topology.resolve(LabSpec(name="demo")))["compose.yaml"])
    assert set(compose["services"]) == {"nfs", "jenkins01", "jenkins02", "haproxy"}
    for name, service in compose["services"].items():
        assert service["labels"]["org.labgen.lab"] == "demo", name
        assert not service.get("privileged"), name
    for section in ("networks", "volumes"):
        for name, item in compose[section].items():
            assert item["labels"]["org.labgen.lab"] == "demo", name
    assert compose["services"]["haproxy"]["ports"][0].startswith("127.0.0.1:")
    assert compose["services"]["nfs"]["cap_drop"] == ["ALL"]


def test_secrets_are_generated_kept_and_private(tmp_path: Path) -> None:
    generate(Topology.resolve(LabSpec()), tmp_path)
    first = read_secrets(tmp_path)
    assert first["LABGEN_STATS_USER"] == "admin"
    assert len(first["LABGEN_STATS_PASSWORD"]) >= 12 and first["LABGEN_STATS_PASSWORD"] != "123456"
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    generate(Topology.resolve(LabSpec()), tmp_path)
    assert read_secrets(tmp_path) == first  # re-generating keeps the lab's credentials
    generate(Topology.resolve(LabSpec(stats={"password": "123456"})), tmp_path)  # type: ignore[arg-type]
    assert read_secrets(tmp_path)["LABGEN_STATS_PASSWORD"] == "123456"  # asked for explicitly
    other = tmp_path / "other"
    generate(Topology.resolve(LabSpec()), other)
    assert read_secrets(other)["LABGEN_STATS_PASSWORD"] != first["LABGEN_STATS_PASSWORD"]


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy (Debian's 2.6) not installed: .ci/run installs it")
@pytest.mark.parametrize("profile", ["ha", "article"])
def test_haproxy_2_6_accepts_the_config(profile: str, tmp_path: Path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    text = _haproxy(LabSpec(profile=profile, haproxy={"version": "2.6.12"}))  # type: ignore[arg-type]
    cfg.write_text(text.replace(names.PROMOTER_LUA, str(ROOT / "images" / "haproxy" / "promoter.lua")))
    (tmp_path / LUA_NAMES_FILE).parent.mkdir(parents=True)
    (tmp_path / LUA_NAMES_FILE).write_text(names_lua())  # as `labgen build` puts it beside the promoter
    env = {**os.environ, names.STATS_USER_ENV: "u", names.STATS_PASSWORD_ENV: "p", "LUA_PATH": f"{tmp_path}/?.lua;;"}
    # -L: the local peer's name, the host name compose gives HAProxy in the lab
    result = subprocess.run(
        ["haproxy", "-c", "-L", names.HAPROXY, "-f", str(cfg)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    # Outside the lab the masters' names do not resolve.
    expected_here = ("could not resolve",)
    warnings = [
        line for line in result.stderr.splitlines() if "[WARNING]" in line and not any(e in line for e in expected_here)
    ]
    if profile == "ha":
        assert warnings == []
    else:
        joined = "\n".join(warnings)
        assert "'redispatch' ignored" in joined and "missing timeouts" in joined


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy (Debian's 2.6) not installed: .ci/run installs it")
def test_haproxy_2_6_rejects_the_article_directives_untranslated(tmp_path: Path) -> None:
    """Why the translations exist: Debian's HAProxy refuses the 2.0 rendering of the article profile."""
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(_haproxy(LabSpec(profile="article")))
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(cfg)],
        capture_output=True,
        text=True,
        env={**os.environ, "LABGEN_STATS_USER": "u", "LABGEN_STATS_PASSWORD": "p"},
    )
    assert result.returncode != 0 and "nbproc" in result.stderr


def _compose_cmd() -> list[str] | None:
    for cmd in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cmd[0]) and subprocess.run([*cmd, "version"], capture_output=True).returncode == 0:
            return cmd
    return None


@pytest.mark.skipif(_compose_cmd() is None, reason="Docker Compose v2 not installed")
@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_compose_config_is_valid(case: Path, tmp_path: Path) -> None:
    generate(Topology.resolve(_lab(case)), tmp_path)
    cmd = _compose_cmd()
    assert cmd is not None
    result = subprocess.run(
        [*cmd, "-f", str(tmp_path / "compose.yaml"), "config", "-q"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
