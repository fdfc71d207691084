"""The lab's layout and its contracts are spelled once: in labgen/model (names.py).

Every string literal in the rest of labgen/ and in the programs under images/ is checked: none
may be a service, proxy, server, image tag, volume or label name of the layout. Names that are
also plain words (nfs, haproxy, controller, jenkins, lab) are flagged where code uses them as
a name: compared with something, or passed to a call; a JSON key or a folder name is another
matter.

The other files that cross a boundary are checked too: the promoter's Lua (its string literals),
the templates (their text outside Jinja tags and comments), the Dockerfiles and shell scripts
(outside comments). None may spell a layout name, an environment variable of the contract, a
label key, a path or a port the model declares."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen.errors import BadEnvironmentVariable
from labgen.model import names

ROOT = Path(__file__).resolve().parents[3]
OWNERS = {ROOT / "labgen" / "model"}  # where the names may be spelled


def plain_word_names() -> set[str]:
    return {names.NFS, names.HAPROXY, names.NETWORK, names.HTTP_BACKEND["ha"]}


def layout_names() -> set[str]:
    tags = names.ImageTags(names.DEFAULT_IMAGE_NAMESPACE)
    found = {
        *plain_word_names(),
        names.HOME_VOLUME,
        names.HOME_NFS_VOLUME,
        names.HAPROXY_RUN_VOLUME,
        names.STATS_PROXY,
        names.AGENT_PROXY,
        tags.base(),
        tags.nfs,
        names.WRITE_BACKEND,
        names.ADMIN_USERLIST,
        names.PROMOTER_LUA,
        tags.haproxy_repository,
        *names.HTTP_BACKEND.values(),
        *names.HTTP_FRONTEND.values(),
        *(tags.jenkins_repository(flavour) for flavour in names.JENKINS_REPOSITORY_NAMES),
        *names.master_names(4),
        *(f"{names.MASTER_PREFIX}{i}" for i in range(1, 5)),  # the article's server names
        names.SERVED_BY_HEADER,
    }
    labels = [value for key, value in vars(names).items() if key.endswith("_LABEL")]
    return found | set(labels)


def python_files() -> Iterator[Path]:
    for top in (ROOT / "labgen", ROOT / "images"):
        for path in sorted(top.rglob("*.py")):
            if not any(owner in path.parents for owner in OWNERS) and "__pycache__" not in path.parts:
                yield path


def string_literals(tree: ast.AST) -> Iterator[tuple[int, str, bool]]:
    """(line, text, used as a name: compared or passed to a call) of every string but docstrings."""
    docstrings: set[int] = set()
    used_as_name: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                elements = part.elts if isinstance(part, ast.Tuple | ast.List | ast.Set) else [part]
                used_as_name.update(id(e) for e in elements)
        elif isinstance(node, ast.Call):
            used_as_name.update(id(a) for a in [*node.args, *(k.value for k in node.keywords)])
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value, id(node) in used_as_name


def spelled(value: str, wanted: set[str], as_name: bool = True) -> str | None:
    if value in wanted and (as_name or value not in plain_word_names()):
        return value
    for name in wanted:  # a tag or label inside a longer string (`labgen/haproxy:2.0.8`, `org.labgen.lab=x`)
        if ("/" in name or "." in name or "-" in name[1:]) and name in value:
            return name
    return None


def test_no_layout_name_is_spelled_outside_the_model() -> None:
    wanted = layout_names()
    offenders = []
    for path in python_files():
        for line, value, as_name in string_literals(ast.parse(path.read_text(encoding="utf-8"))):
            name = spelled(value, wanted, as_name)
            if name is not None:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {name!r} in {value[:60]!r}")
    assert not offenders, "layout names spelled outside labgen/model:\n" + "\n".join(offenders)


def test_the_check_sees_a_spelled_name(tmp_path: Path) -> None:
    source = 'BACKEND = "jenkins_proxy"\nTAG = f"labgen/haproxy:{1}"\nok = {"nfs": 1}\nbad = s == "nfs"\n'
    found = [spelled(value, layout_names(), as_name) for _line, value, as_name in string_literals(ast.parse(source))]
    assert found == ["jenkins_proxy", names.ImageTags(names.DEFAULT_IMAGE_NAMESPACE).haproxy_repository, None, "nfs"]


# ---- the files that are not Python ---------------------------------------------------------------------


def contract_values() -> set[str]:
    """What the other sides of a boundary must read from the model: environment variables, paths."""
    found = {value for key, value in vars(names).items() if key.endswith("_ENV") and isinstance(value, str)}
    found |= set(names.PROMOTER_TIMINGS_MS)
    found |= {
        names.PROMOTER_STATE_PATH,
        names.PROMOTER_SWITCHOVER_PATH,
        names.PROMOTER_HOLD_ACTION,
        names.STATS_PATH,
        names.HAPROXY_ADMIN_SOCKET,
        names.JENKINS_HOME_DIR,
        names.JENKINS_LOCAL_DIR,
        names.FLAVOUR_HEADER,
        names.NODE_HEADER,
    }
    return found | {name for name in layout_names() if name not in plain_word_names()}


def plain_contract_values() -> set[str]:
    """Short values that are also plain words or common paths: flagged where the Lua spells them as
    a whole string literal, or a template as a whole word."""
    return {names.LOGIN_PATH, names.PROMOTER_SERVICE, names.NFS_EXPORT_DIR, names.NFS_PSEUDO_PATH, *plain_word_names()}


PORTS = {
    names.HAPROXY_HTTP_PORT,
    names.HAPROXY_STATS_PORT,
    names.HAPROXY_AGENT_PORT,
    names.JENKINS_HTTP_PORT,
    names.JENKINS_AGENT_PORT,
    names.HOMECHECK_PORT,
    names.NFS_PORT,
}

# Files that still spell contract values, each with the reason; the list may only shrink.
NOT_YET = {
    # the images' own default configurations, for running an image alone (a lab mounts generated ones)
    "images/haproxy/haproxy.cfg": "the image's default config",
    "images/nfs/ganesha.conf": "the image's default config",
}


def lua_strings(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every quoted string literal of a Lua source, comments left out."""
    code = re.sub(r"--\[\[.*?\]\]|--[^\n]*", lambda m: "\n" * m.group().count("\n"), text, flags=re.S)
    for match in re.finditer(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'', code):
        yield code.count("\n", 0, match.start()) + 1, match.group(1) if match.group(1) is not None else match.group(2)


def template_text(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of a template outside its Jinja tags and its comments (`#` to the line's end)."""
    for number, line in enumerate(text.splitlines(), 1):
        line = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", line)
        yield number, re.sub(r"(^|\s)#.*$", "", line)


def script_text(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of a Dockerfile or a shell script, comments left out."""
    for number, line in enumerate(text.splitlines(), 1):
        yield number, re.sub(r"(^|\s)#.*$", "", line)


def files_of(kind: str) -> list[Path]:
    found: list[Path] = []
    if kind == "lua":
        found = sorted((ROOT / "images").rglob("*.lua"))
    elif kind == "template":
        found = sorted((ROOT / "labgen" / "generate" / "templates").rglob("*.j2"))
    elif kind == "script":
        for path in sorted((ROOT / "images").rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".py", ".lua", ".md"):
                continue
            if path.name == "Dockerfile" or path.suffix in (".sh", ".cfg", ".conf") or _is_shell(path):
                found.append(path)
    return [p for p in found if str(p.relative_to(ROOT)) not in NOT_YET]


def _is_shell(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(32).startswith(b"#!/bin/sh")


def offences(kind: str, text: str) -> Iterator[tuple[int, str]]:
    distinct, plain = contract_values(), plain_contract_values()
    if kind == "lua":
        for line, value in lua_strings(text):
            hit = value if value in distinct | plain else next((d for d in distinct if d in value), None)
            if hit:
                yield line, hit
        return
    for line, value in template_text(text) if kind == "template" else script_text(text):
        for name in distinct:
            if re.search(rf"(?<![\w.$/-]){re.escape(name)}(?![\w.-])", value):
                yield line, name
        if kind == "template":
            for name in (names.LOGIN_PATH, names.NFS_EXPORT_DIR, names.NFS_PSEUDO_PATH):
                if re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w/-])", value):
                    yield line, name
            for port in PORTS:
                if re.search(rf"[:*\s\"=]{port}(?!\d)", value):
                    yield line, str(port)


@pytest.mark.parametrize("kind", ["lua", "template", "script"])
def test_no_contract_value_is_spelled_outside_the_model(kind: str) -> None:
    found = []
    for path in files_of(kind):
        for line, name in offences(kind, path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}:{line}: {name!r}")
    assert files_of(kind), f"no {kind} files found: the check looks in the wrong place"
    assert not found, "contract values spelled outside labgen/model:\n" + "\n".join(found)


def test_the_checks_of_other_files_see_a_spelled_value() -> None:
    lua = (
        'local a = "/labgen/state"\n-- "LABGEN_MASTERS" in a comment is fine\n'
        'local b = os.getenv("LABGEN_MASTERS")\nlocal c = "/login"\n'
    )
    assert [name for _, name in offences("lua", lua)] == [
        names.PROMOTER_STATE_PATH,
        names.MASTERS_ENV,
        names.LOGIN_PATH,
    ]
    template = "  # bind *:80 in a comment\n  bind *:80\n  setenv LABGEN_MASTERS {{ x }}\n"
    template += "  bind *:{{ names.HAPROXY_HTTP_PORT }}\n"
    assert sorted(name for _, name in offences("template", template)) == ["80", names.MASTERS_ENV]
    script = 'LABEL org.labgen.component="x"\n# org.labgen.lab\nexec "${JENKINS_ADMIN_TOKEN}"\n'
    assert sorted(name for _, name in offences("script", script)) == [names.ADMIN_TOKEN_ENV, names.COMPONENT_LABEL]


def test_no_constant_in_names_is_dead() -> None:
    """Every constant of names.py is read somewhere outside it (code, templates, tests of the contract)."""
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "labgen").rglob("*.py") if p.name != "names.py"]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "labgen" / "generate" / "templates").rglob("*.j2")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "images").rglob("*.py")]
    texts += [(ROOT / "images" / "jenkins" / "jenkins-healthcheck").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name]
    every = "\n".join(texts)
    own = (ROOT / "labgen" / "model" / "names.py").read_text(encoding="utf-8")
    constants = [
        key for key, value in vars(names).items() if key.isupper() and isinstance(value, str | int | tuple | dict)
    ]
    dead = [
        key
        for key in constants
        if not re.search(rf"\b{key}\b", every)
        and len(re.findall(rf"\b{key}\b", own)) < 2  # read by another declaration of names.py
        and not key.endswith("_LABEL")  # every label key reaches the Dockerfiles (image_buildargs)
    ]
    assert not dead, f"constants nobody reads: {dead}"


@pytest.mark.parametrize(
    ("environ", "tags"),
    [
        ({}, "labgen/base:bookworm labgen/haproxy labgen/nfs-ganesha:4.3 labgen/jenkins-lite:2.190.2"),
        (
            {names.IMAGE_NAMESPACE_ENV: ""},
            "labgen/base:bookworm labgen/haproxy labgen/nfs-ganesha:4.3 labgen/jenkins-lite:2.190.2",
        ),
        (
            {names.IMAGE_NAMESPACE_ENV: "ci-42"},
            "ci-42/base:bookworm ci-42/haproxy ci-42/nfs-ganesha:4.3 ci-42/jenkins-lite:2.190.2",
        ),
    ],
)
def test_image_tags_live_in_labgen_or_the_namespace_the_environment_names(environ: dict[str, str], tags: str) -> None:
    found = names.ImageTags.of(environ)
    assert [found.base(), found.haproxy_repository, found.nfs, found.jenkins("lite", "2.190.2")] == tags.split()
    assert found.base(names.JAVA11_SUITE) == f"{found.prefix}base:bullseye"
    assert found.jenkins("real", "2.190.2") == f"{found.prefix}jenkins:2.190.2"


@pytest.mark.parametrize("namespace", ["CI", "a/b", "-x", "x-", "a..b", "x" * 65, "é"])
def test_a_namespace_docker_would_refuse_is_one_clear_error(namespace: str) -> None:
    with pytest.raises(BadEnvironmentVariable) as refused:
        names.image_namespace({names.IMAGE_NAMESPACE_ENV: namespace})
    assert refused.value.message == (
        f"{names.IMAGE_NAMESPACE_ENV}={namespace[:64]!r} is not allowed; allowed: 1 to 64 lowercase letters and "
        "digits, with '.', '_' or '-' between them (a Docker repository namespace)"
    )
    assert refused.value.exit_code == 2


class _Unreadable(dict[str, str]):
    """An environment that fails the test when anything reads it."""

    def __getitem__(self, key: str) -> str:
        raise AssertionError(f"read {key} from the environment")

    def get(self, key: str, default: object = None) -> str:
        raise AssertionError(f"read {key} from the environment")


def test_importing_the_names_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The namespace is read where images are named (image_namespace), not when names.py is imported."""
    monkeypatch.setattr(os, "environ", _Unreadable())
    spec = importlib.util.spec_from_file_location("names_imported_again", Path(names.__file__))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert (
        module.ImageTags(module.DEFAULT_IMAGE_NAMESPACE).base() == names.ImageTags(names.DEFAULT_IMAGE_NAMESPACE).base()
    )
