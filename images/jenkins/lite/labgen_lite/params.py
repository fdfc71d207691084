"""Build parameters: a job's ParametersDefinitionProperty, and the values a build request gives them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

PROPERTY = "hudson.model.ParametersDefinitionProperty"
# definition element -> value class, for the kinds lite understands (all carried as strings)
VALUE_CLASSES = {
    "hudson.model.StringParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.TextParameterDefinition": "hudson.model.TextParameterValue",
    "hudson.model.BooleanParameterDefinition": "hudson.model.BooleanParameterValue",
    "hudson.model.ChoiceParameterDefinition": "hudson.model.StringParameterValue",
    "hudson.model.PasswordParameterDefinition": "hudson.model.PasswordParameterValue",
}

Values = tuple[tuple[str, str], ...]


class NotParameterized(Exception):
    """buildWithParameters on a job without parameters (Jenkins: IllegalStateException, 500)."""


@dataclass(frozen=True)
class ParamDef:
    kind: str  # the definition's element name, e.g. hudson.model.StringParameterDefinition
    name: str
    default: str
    description: str | None
    choices: tuple[str, ...] = ()

    @property
    def value_class(self) -> str:
        return VALUE_CLASSES.get(self.kind, "hudson.model.StringParameterValue")


def typed(value_class: str, value: str) -> bool | str | None:
    """A value as its ParameterValue exports it: BooleanParameterValue.value is a boolean;
    PasswordParameterValue exports no value (a Secret) at all."""
    if value_class.endswith("BooleanParameterValue"):
        return value.strip().lower() == "true"
    return None if value_class.endswith("PasswordParameterValue") else value


def definitions(config: bytes) -> list[ParamDef]:
    """The parameter definitions of a job's config.xml (empty when it takes none)."""
    try:
        root = ET.fromstring(config)
    except ET.ParseError:
        return []
    found = []
    for prop in root.iter(PROPERTY):
        for element in prop.findall("./parameterDefinitions/*"):
            choices = [c.text or "" for c in element.iter("string")]
            default = element.findtext("defaultValue")
            if default is None:
                default = choices[0] if choices else ""
            found.append(
                ParamDef(
                    element.tag,
                    element.findtext("name") or "",
                    default,
                    element.findtext("description"),
                    tuple(choices) if element.tag.endswith("ChoiceParameterDefinition") else (),
                )
            )
    return found


def from_request(defs: list[ParamDef], given: dict[str, str]) -> Values:
    """buildWithParameters: each defined parameter takes the request's value, else its default."""
    if not defs:
        raise NotParameterized("This build is not parameterized!")
    return tuple((d.name, given.get(d.name, d.default)) for d in defs)


def from_form(defs: list[ParamDef], form_json: str | None) -> Values:
    """`build` of a parameterized job: the `json` form field ({"parameter": [{name, value}...]}), else defaults."""
    given: dict[str, str] = {}
    if form_json:
        data = json.loads(form_json).get("parameter", [])
        for entry in data if isinstance(data, list) else [data]:
            given[str(entry.get("name"))] = str(entry.get("value", ""))
    return tuple((d.name, given.get(d.name, d.default)) for d in defs)
