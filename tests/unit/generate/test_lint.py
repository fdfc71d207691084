from labgen.cli import run
from labgen.generate.lint import article_config, lint_text
from labgen.generate.render import render_files
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology


def _problems() -> dict[str, str]:
    return {f"{f.line}:{f.text}": f.problem for f in lint_text(article_config())}


def test_every_defect_haproxy_reports_is_explained() -> None:
    findings = lint_text(article_config())
    text = "\n".join(f"{f.text} {f.problem}" for f in findings)
    for expected in (
        "option redispatch",
        "reqadd",
        "missing timeouts",
        "log format ignored",
        "option forwardfor",
        "nbproc",
        "only 'welcome' is used",
        "daemon",
        "ulimit-n 16384",
    ):
        assert expected in text, expected
    assert all(f.ha_fix for f in findings)


def test_findings_point_at_the_right_lines() -> None:
    lines = article_config().splitlines()
    for finding in lint_text(article_config()):
        assert lines[finding.line - 1].split(" #", 1)[0].strip() == finding.text  # the article's comments aside


def test_timeouts_reported_for_the_three_proxies_haproxy_names() -> None:
    names = {f.text for f in lint_text(article_config()) if "missing timeouts" in f.problem}
    assert names == {"listen admin_stats", "listen jenkins_agent", "backend jenkins_proxy"}


def test_ha_profile_passes_its_own_lint() -> None:
    for version in ("2.0.8", "2.6.12"):
        spec = LabSpec(haproxy={"version": version})  # type: ignore[arg-type]
        assert lint_text(render_files(Topology.resolve(spec))["haproxy/haproxy.cfg"]) == []


def test_a_fixed_config_loses_the_finding() -> None:
    fixed = article_config().replace("stats realm welcome Haproxy", r"stats realm welcome\ Haproxy")
    assert not any("realm" in f.problem for f in lint_text(fixed))


def test_cli_lint_exit_status(capsys) -> None:
    assert run(["lint"]) == 1
    assert "ha profile" in capsys.readouterr().out
    assert run(["lint", "--profile", "ha"]) == 0
    assert run(["lint", "--profile", "bogus"]) == 2


def test_the_articles_node_name_and_comments_are_not_defects() -> None:
    texts = {f.text for f in lint_text(article_config())}
    assert "node http" not in texts
    assert not any("#" in text for text in texts)
