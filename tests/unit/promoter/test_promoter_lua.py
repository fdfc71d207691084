"""The promoter's pure Lua parts, run by a plain Lua interpreter of HAProxy's version (5.3).

The modules are loaded as HAProxy loads them (`require "labgen.x"` beside promoter.lua), with a
names.lua rendered from labgen/model/names.py, as `labgen build` puts it into HAProxy's image."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labgen.model.lua import LUA_NAMES_FILE, names_lua

ROOT = Path(__file__).resolve().parents[3]
PROMOTER_DIR = ROOT / "images" / "haproxy"
SCRIPTS = Path(__file__).resolve().parent / "lua"
LUA = shutil.which("lua5.3")

pytestmark = pytest.mark.skipif(LUA is None, reason="needs lua5.3 and lua-cjson (scripts/setup installs them)")


def lua_path(names_dir: Path) -> str:
    return ";".join(f"{folder}/?.lua" for folder in (SCRIPTS, PROMOTER_DIR, names_dir)) + ";;"


def run_lua(script: Path, names_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LUA_PATH": lua_path(names_dir)}
    assert LUA is not None
    return subprocess.run([LUA, str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def names_dir(tmp_path: Path) -> Path:
    target = tmp_path / LUA_NAMES_FILE
    target.parent.mkdir(parents=True)
    target.write_text(names_lua())
    return tmp_path


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("test_*.lua")), ids=lambda p: p.stem)
def test_lua_script(script: Path, names_dir: Path) -> None:
    result = run_lua(script, names_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_the_harness_reports_a_failure(tmp_path: Path, names_dir: Path) -> None:
    script = tmp_path / "test_fails.lua"
    script.write_text('local t = require("harness")\nt.case("wrong", function() t.equal(1, 2) end)\nt.done()\n')
    result = run_lua(script, names_dir)
    assert result.returncode == 1
    assert "FAIL wrong" in result.stdout


def test_names_lua_carries_the_model() -> None:
    text = names_lua()
    from labgen.model import names

    assert f'PROMOTER_STATE_PATH = "{names.PROMOTER_STATE_PATH}"' in text
    for variable, default in names.PROMOTER_TIMINGS_MS.items():
        assert f'env = "{variable}", default = {default} ' in text
