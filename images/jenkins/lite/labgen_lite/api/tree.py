"""Jenkins's `?tree=` filter: parse the spec, keep only what it names."""

from __future__ import annotations

import re
from typing import Any


def parse_tree(spec: str) -> dict[str, Any]:
    """`a,b[c,d{0,5}]` -> {"a": {}, "b": {"c": {}, "d": {}}}; raises ValueError."""
    tree, rest = _parse_tree_list(re.sub(r"\{[^}]*\}", "", spec.replace(" ", "")))
    if rest:
        raise ValueError(f"unexpected {rest!r} in tree")
    return tree


def _parse_tree_list(text: str) -> tuple[dict[str, Any], str]:
    tree: dict[str, Any] = {}
    while True:
        match = re.match(r"[\w$]+", text)
        if not match:
            raise ValueError(f"expected a name at {text!r}")
        name, text = match.group(0), text[match.end() :]
        tree[name] = {}
        if text.startswith("["):
            tree[name], text = _parse_tree_list(text[1:])
            if not text.startswith("]"):
                raise ValueError("unbalanced [")
            text = text[1:]
        if not text.startswith(","):
            return tree, text
        text = text[1:]


def apply_tree(value: Any, tree: dict[str, Any]) -> Any:
    """Keep only what `tree` names (and `_class`), like Jenkins's ?tree= filter."""
    if isinstance(value, list):
        return [apply_tree(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {"_class": value["_class"]} if "_class" in value else {}
    for key, sub in tree.items():
        if key in value:
            kept[key] = apply_tree(value[key], sub)
    return kept
