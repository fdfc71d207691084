"""The lab's layout is spelled once: in labgen/model/names.py (and the templates, which read it).

Every string literal in the rest of labgen/ and in the programs under images/ is checked: none
may be a service, proxy, server, image tag, volume or label name of the layout. Names that are
also plain words (nfs, haproxy, controller, jenkins, lab) are flagged where code uses them as
a name: compared with something, or passed to a call; a JSON key or a folder name is another
matter."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from labgen.model import names

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {ROOT / "labgen" / "model"}  # where the names may be spelled


def plain_word_names() -> set[str]:
    return {names.NFS, names.HAPROXY, names.NETWORK, names.HTTP_BACKEND["ha"]}


def layout_names() -> set[str]:
    found = {
        *plain_word_names(),
        names.HOME_VOLUME,
        names.HOME_NFS_VOLUME,
        names.HAPROXY_RUN_VOLUME,
        names.STATS_PROXY,
        names.AGENT_PROXY,
        names.BASE_TAG,
        names.NFS_TAG,
        names.WRITE_BACKEND,
        names.ADMIN_USERLIST,
        names.PROMOTER_LUA,
        names.HAPROXY_REPOSITORY,
        *names.HTTP_BACKEND.values(),
        *names.HTTP_FRONTEND.values(),
        *names.JENKINS_REPOSITORY.values(),
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
    assert found == ["jenkins_proxy", names.HAPROXY_REPOSITORY, None, "nfs"]
