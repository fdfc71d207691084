"""Issue 13: the CI recipes in docs/ci/ parse, every labgen command they run exists with the
options they give it (parsed by the real command line, not a list kept by hand), they cache and
publish what they say, and the steps that need no Docker run here as the CI would run them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.main import get_command

from labgen.cli import app

ROOT = Path(__file__).resolve().parents[3]
CI = ROOT / "docs" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
# `labgen ARGS` up to a shell operator or a redirection
LABGEN_CALL = re.compile(r"(?<![\w./-])labgen\s+([^;&|)>\n]*)")


def github() -> dict[str, Any]:
    return yaml.safe_load(GITHUB.read_text())


def gitlab() -> dict[str, Any]:
    return yaml.safe_load(GITLAB.read_text())


def github_steps() -> list[dict[str, Any]]:
    return [step for job in github()["jobs"].values() for step in job["steps"]]


def github_shell() -> list[str]:
    return [step["run"] for step in github_steps() if "run" in step]


def gitlab_shell() -> list[str]:
    job = gitlab()["jenkins-ha"]
    return [line for key in ("before_script", "script", "after_script") for line in job.get(key, [])]


def labgen_calls(scripts: list[str]) -> list[list[str]]:
    calls = []
    for script in scripts:
        for match in LABGEN_CALL.finditer(script):
            calls.append(shlex.split(match.group(1)))
    return calls


def resolve(args: list[str]) -> tuple[Any, list[str]]:
    """The command `labgen ARGS` names, and the arguments left for it (typer's groups have `commands`)."""
    command: Any = get_command(app)
    rest = list(args)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    return command, rest


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_every_labgen_command_of_a_recipe_exists_with_its_options(recipe: str) -> None:
    calls = labgen_calls(github_shell() if recipe == "github" else gitlab_shell())
    used = {" ".join(call[:2]) for call in calls}
    assert {"images key", "images load", "images save", "verify failover", "down --volumes"} <= used, used
    assert any(call[0] == "up" for call in calls), calls
    for call in calls:
        command, rest = resolve(call)
        assert not hasattr(command, "commands"), f"labgen {' '.join(call)}: not a command"
        # the real parser: unknown options, missing arguments or bad values raise UsageError
        command.make_context(f"labgen {' '.join(call)}", list(rest))


def test_the_github_workflow_caches_by_labgen_images_key_and_publishes_the_reports() -> None:
    steps = github_steps()
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    keyed = [step for step in steps if step.get("uses", "").startswith("actions/cache/")]
    assert all(step["with"]["key"] == "${{ steps.key.outputs.images }}" for step in keyed)
    assert all(".labgen/images.tar" in step["with"]["path"] for step in keyed)
    key_step = next(step for step in steps if step.get("id") == "key")
    assert "labgen images key" in key_step["run"]
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    published = upload["with"]["path"].split()
    assert {"reports/failover/junit.xml", "reports/failover/report.html", "reports/junit-ha-tests.xml"} <= set(
        published
    )
    down = next(step for step in steps if "labgen down" in step.get("run", ""))
    assert down["if"] == "always()"


def test_the_gitlab_job_caches_the_images_and_publishes_junit_and_the_report() -> None:
    job = gitlab()["jenkins-ha"]
    assert ".labgen/" in job["cache"]["paths"]
    assert job["artifacts"]["when"] == "always"
    assert set(job["artifacts"]["reports"]["junit"]) == {"reports/junit-ha-tests.xml", "reports/failover/junit.xml"}
    assert "reports/" in job["artifacts"]["paths"]
    assert any("labgen down" in line for line in job["after_script"])


def test_the_recipes_run_the_users_example_test() -> None:
    assert (CI / "example_test.py").is_file()
    for scripts in (github_shell(), gitlab_shell()):
        assert any("pytest tests/ha" in line for line in scripts)
    for recipe in (GITHUB, GITLAB):
        assert "docs/ci/example_test.py" in recipe.read_text()


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_github_key_step_runs_here_without_docker(tmp_path: Path) -> None:
    key_step = next(step for step in github_steps() if step.get("id") == "key")
    output = tmp_path / "github_output"
    run = _bash(key_step["run"], tmp_path, GITHUB_OUTPUT=str(output))
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"images=labgen-images-[0-9a-f]{32}\n", output.read_text())
    assert _bash(key_step["run"], tmp_path, GITHUB_OUTPUT=str(tmp_path / "again")).returncode == 0
    assert (tmp_path / "again").read_text() == output.read_text()  # same inputs, same key


def test_the_gitlab_key_lines_run_here_without_docker(tmp_path: Path) -> None:
    script = gitlab()["jenkins-ha"]["script"]
    # the key, and the load that is skipped without a saved file: both need no Docker
    run = _bash("\n".join([*script[:2], 'echo "key=$KEY"']), tmp_path, IMAGES=".labgen/images.tar")
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"key=[0-9a-f]{32}\n", run.stdout)
    # a spec that chooses other images gets another key
    (tmp_path / "labgen.yaml").write_text("haproxy:\n  version: 2.6.12\n")
    other = _bash("\n".join([*script[:1], 'echo "key=$KEY"']), tmp_path)
    assert other.returncode == 0, other.stderr
    assert other.stdout != run.stdout
