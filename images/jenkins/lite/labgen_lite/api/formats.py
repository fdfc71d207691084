"""The three flavours of hudson.model.Api: `api/json`, `api/python` (Stapler's PythonDataWriter: JSON with
True/False/None) and `api/xml` (XMLDataWriter, with Api.doXml's `xpath`, `wrapper` and `exclude`)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from labgen_lite.web import JSON_TYPE, Response, text_response

PYTHON_TYPE = "text/x-python;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
PRIMITIVE_FORBIDDEN = "primitive XPath result sets forbidden; implement jenkins.security.SecureRequester"
WRAPPER_INVALID = (
    "The wrapper parameter can only contain alphanumeric characters or dash/dot/underscore. "
    "The first character has to be a letter or underscore."
)
MULTIPLE_HINT = (
    'Create XPath that only matches one, or use the "wrapper" query parameter to wrap them all under a root element.'
)
WRAPPER_NAME = re.compile(r"^[a-zA-Z_][\w\-.]*$")


def python_literal(value: Any) -> str:
    """PythonDataWriter: the JSON writer with None, True and False."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{python_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(python_literal(v) for v in value) + "]"
    return json.dumps(value)


def root_name(cls: str | None) -> str:
    """XMLDataWriter: the decapitalized simple class name (`hudson.model.Queue$WaitingItem` -> waitingItem)."""
    simple = (cls or "object").rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    return simple[:1].lower() + simple[1:] if not simple[1:2].isupper() else simple


def singular(name: str) -> str:
    """XMLDataWriter.toSingular: how the elements of an array are named."""
    return re.sub(r"s$", "", re.sub(r"ies$", "y", name))


def xml_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]", "", name) or "_"
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else "_" + cleaned


def to_element(name: str, value: dict[str, Any]) -> ET.Element:
    element = ET.Element(xml_name(name))
    if "_class" in value:
        element.set("_class", str(value["_class"]))
    for key, item in value.items():
        if key != "_class":
            _append(element, key, item)
    return element


def _append(parent: ET.Element, name: str, value: Any) -> None:
    if value is None:
        return  # XMLDataWriter.valueNull: absence means null
    if isinstance(value, list):
        for item in value:
            _append(parent, singular(name), item)
    elif isinstance(value, dict):
        parent.append(to_element(name, value))
    else:
        child = ET.SubElement(parent, xml_name(name))
        child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)


def xml_bytes(element: ET.Element) -> bytes:
    return b"<?xml version='1.0' encoding='UTF-8'?>" + ET.tostring(element, encoding="unicode").encode()


class XPathUnsupported(ValueError):
    """An XPath lite cannot evaluate (it knows a subset: paths, `//`, `[n]`, `[name='v']`, `text()`)."""


def select(root: ET.Element, xpath: str) -> list[ET.Element | str]:
    """The nodes an XPath picks in the document whose root element is `root`."""
    path = xpath.strip()
    text = path.endswith("/text()")
    if text:
        path = path[: -len("/text()")]
    if not re.fullmatch(r"[\w/.\-\[\]@='\" *]+", path) or "(" in path:
        raise XPathUnsupported(f"lite evaluates only simple XPath location paths, not {xpath!r}")
    document = ET.Element("document")
    document.append(root)
    if path.startswith("//"):
        relative = "." + path
    elif path.startswith("/"):
        relative = "./" + path[1:]
    else:
        relative = "./" + root.tag + "//" + path if path else "."
    try:
        found = document.findall(relative)
    except SyntaxError as error:
        raise XPathUnsupported(f"lite cannot evaluate XPath {xpath!r}: {error}") from None
    finally:
        document.remove(root)
    return [element.text or "" for element in found] if text else list(found)


def exclude(root: ET.Element, xpath: str) -> None:
    parents = {child: parent for parent in root.iter() for child in parent}
    for node in select(root, xpath):
        if isinstance(node, ET.Element) and node in parents:
            parents[node].remove(node)


def xml_response(data: dict[str, Any], params: dict[str, list[str]]) -> Response:
    """Api.doXml: the whole bean, or what `xpath` picks (one node, or all of them inside `wrapper`),
    after removing every `exclude` match. A text result is refused with security on, as Jenkins does."""
    root = to_element(root_name(data.get("_class")), data)
    xpath = params["xpath"][-1] if params.get("xpath") else None
    wrapper = params["wrapper"][-1] if params.get("wrapper") else None
    try:
        for pattern in params.get("exclude", []):
            exclude(root, pattern)
        if xpath is None:
            return Response(200, xml_bytes(root), XML_TYPE)
        picked = select(root, xpath)
    except XPathUnsupported as problem:
        return text_response(400, str(problem))
    if wrapper is not None:
        if not WRAPPER_NAME.match(wrapper):
            return text_response(400, WRAPPER_INVALID)
        wrapped = ET.Element(wrapper)
        for node in picked:
            if isinstance(node, str):
                wrapped.text = (wrapped.text or "") + node
            else:
                wrapped.append(node)
        return Response(200, xml_bytes(wrapped), XML_TYPE)
    if not picked:
        return text_response(404, f"XPath {xpath} didn\u2019t match")
    if len(picked) > 1:
        return text_response(500, f'XPath "{xpath}" matched {len(picked)} nodes. {MULTIPLE_HINT}')
    node = picked[0]
    if isinstance(node, str):  # a text node: Api.isSimpleOutput, and lite always runs with security on
        return text_response(403, PRIMITIVE_FORBIDDEN)
    return Response(200, xml_bytes(node), XML_TYPE)


def render(flavour: str, data: Any, params: dict[str, list[str]]) -> Response:
    if flavour == "python":
        return Response(200, python_literal(data).encode(), PYTHON_TYPE)
    if flavour == "xml":
        return xml_response(data, params)
    return Response(200, json.dumps(data, separators=(",", ":")).encode(), JSON_TYPE)
