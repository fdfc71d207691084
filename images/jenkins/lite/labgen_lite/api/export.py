"""Stapler's export model, as Jenkins 2.190.2 serves `api/json`, `api/python` and `api/xml`.

An object a handler answers with is a `Bean` (an @ExportedBean): its `_class` and its properties, each
with the visibility of its @Exported annotation (the bean's defaultVisibility, else 1) and whether it is
`inline`. A property's value may be a zero-argument callable, evaluated only when the answer shows it
(a job's builds' full JSON is built only at depth 1 or when a tree names it).

What is shown is chosen like org.kohsuke.stapler.export.Model.writeTo with a TreePruner: `?tree=` names
properties (NamedPathPruner, ranges `{M,N}` `{M,}` `{,N}` `{N}` on collections); without it `?depth=N`
shows a property of visibility v at nesting level k (0 at the top) when v >= 1 - N + k (TreePruner.ByDepth,
started at 1 - depth by Api.doJson); an inline property stays at its parent's level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ALL = (0, 2**31 - 1)  # Range.ALL


@dataclass(frozen=True)
class P:
    """A property whose visibility or inlining differs from its bean's default."""

    value: Any
    visibility: int | None = None
    inline: bool = False


@dataclass
class Bean:
    cls: str | None
    props: dict[str, Any] = field(default_factory=dict)
    default_visibility: int = 1


def bean(cls: str | None, default_visibility: int = 1, **props: Any) -> Bean:
    return Bean(cls, props, default_visibility)


class Pruner:
    def accept(self, name: str, visibility: int, inline: bool) -> Pruner | None:
        raise NotImplementedError

    def candidates(self, props: dict[str, Any]) -> Iterable[str]:
        """The names of `props` that accept may let through, in the bean's order (all, unless a tree says)."""
        return props

    def range(self) -> tuple[int, int]:
        return ALL


class ByDepth(Pruner):
    def __init__(self, level: int) -> None:
        self.level = level

    def accept(self, name: str, visibility: int, inline: bool) -> Pruner | None:
        if visibility < self.level:
            return None
        return self if inline else ByDepth(self.level + 1)


@dataclass
class Tree:
    children: dict[str, Tree] = field(default_factory=dict)
    span: tuple[int, int] = ALL
    pruner: Named | None = field(default=None, compare=False, repr=False)  # made once, for every bean


class Named(Pruner):
    def __init__(self, tree: Tree) -> None:
        self.tree = tree

    def accept(self, name: str, visibility: int, inline: bool) -> Pruner | None:
        subtree = self.tree.children.get(name) or self.tree.children.get("*")
        if subtree is None:
            return None
        if subtree.pruner is None:
            subtree.pruner = Named(subtree)
        return subtree.pruner

    def candidates(self, props: dict[str, Any]) -> Iterable[str]:
        # `?tree=jobs[name]` of 5,000 jobs: one name asked of each job's 33 properties
        children = self.tree.children
        return props if "*" in children else [name for name in props if name in children]

    def range(self) -> tuple[int, int]:
        return self.tree.span


class TreeSyntaxError(ValueError):
    """A `tree` Stapler would refuse (it answers 500 with an IllegalArgumentException)."""


TOKEN = re.compile(r"[,\[\]{}]|[^,\[\]{}]+")


def parse_tree(spec: str) -> Tree:
    """NamedPathPruner.parse: `a,b[c,d]{0,5}` with the four range forms."""
    tokens = TOKEN.findall(spec)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal position
        token = peek()
        if token is None or (expected is not None and token != expected):
            raise TreeSyntaxError(f"expected {expected or 'a name'} at token {position} of tree {spec!r}")
        position += 1
        return token

    def number() -> int:
        token = take()
        if not token.isdigit():
            raise TreeSyntaxError(f"expected number at token {position - 1} of tree {spec!r}")
        return int(token)

    def span() -> tuple[int, int]:
        if peek() == ",":
            take(",")
            return (0, number())  # {,N}
        low = number()
        if peek() == "}":
            return (low, low + 1)  # {N}
        take(",")
        if peek() == "}":
            return (low, ALL[1])  # {M,}
        return (low, number())  # {M,N}

    def node_list(tree: Tree) -> None:
        while True:
            name = take()
            if name in ",[]{}":
                raise TreeSyntaxError(f"expected name at token {position - 1} of tree {spec!r}")
            subtree = Tree()
            tree.children[name] = subtree
            if peek() == "[":
                take("[")
                node_list(subtree)
                take("]")
            if peek() == "{":
                take("{")
                subtree.span = span()
                take("}")
            if peek() != ",":
                return
            take(",")

    root = Tree()
    node_list(root)
    if peek() is not None:
        raise TreeSyntaxError(f"expected EOF at token {position} of tree {spec!r}")
    return root


def pruner_for(tree: str | None, depth: str | None) -> Pruner:
    """Api.doJson: the tree if given, else ByDepth(1 - depth)."""
    if tree:
        return Named(parse_tree(tree))
    text = depth or "0"
    return ByDepth(1 - (int(text) if text.lstrip("-").isdigit() else 0))


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


def export(value: Any, pruner: Pruner) -> Any:
    """The plain data (dicts, lists, scalars) the pruner lets through."""
    value = _resolve(value)
    if isinstance(value, Bean):
        out: dict[str, Any] = {} if value.cls is None else {"_class": value.cls}
        default = value.default_visibility
        props = value.props
        for name in pruner.candidates(props):
            raw = props[name]
            if isinstance(raw, P):
                child = pruner.accept(name, default if raw.visibility is None else raw.visibility, raw.inline)
                raw = raw.value
            else:  # (no P made for it: a list of 1,000 jobs has 35,000 such properties)
                child = pruner.accept(name, default, False)
            if child is not None:
                out[name] = _export_value(raw, child)
        return out
    if isinstance(value, dict):  # a Map: every entry, pruned as properties of default visibility
        return {key: sub for key, sub in _map_items(value, pruner)}
    return value


def _map_items(value: dict[str, Any], pruner: Pruner) -> Iterable[tuple[str, Any]]:
    for key, item in value.items():
        child = pruner.accept(key, 1, False)
        if child is not None:
            yield key, _export_value(item, child)


def _export_value(value: Any, pruner: Pruner) -> Any:
    value = _resolve(value)
    if isinstance(value, list | tuple):
        low, high = pruner.range()
        return [export(item, pruner) for item in list(value)[low:high]]
    return export(value, pruner)


Lazy = Callable[[], Any]
