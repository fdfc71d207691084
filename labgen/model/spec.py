"""The lab spec: one YAML file (plus command-line overrides) validated into a `Lab`.

`load_lab` is the only place that reads the YAML; everything else works on the `Lab`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labgen.errors import SpecError
from labgen.model.names import master_names, project_name

DEFAULT_SPEC_FILE = "labgen.yaml"
HAPROXY_SERIES = ("2.0", "2.6")
ARTICLE_HAPROXY_VERSION = "2.0.8"
DEBIAN_HAPROXY_VERSION = "2.6.12"
JENKINS_VERSIONS = ("2.190.2",)
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CheckSpec(_Strict):
    inter_ms: int = Field(1000, ge=100, le=60000)
    rise: int = Field(1, ge=1, le=10)
    fall: int = Field(1, ge=1, le=10)


class HAProxySpec(_Strict):
    version: str = ARTICLE_HAPROXY_VERSION
    check: CheckSpec = CheckSpec()

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if not re.fullmatch(r"\d+\.\d+\.\d+", value) or value.rsplit(".", 1)[0] not in HAPROXY_SERIES:
            raise ValueError(
                f"HAProxy {value!r} is not supported; allowed: 2.0.x (the article's "
                f"{ARTICLE_HAPROXY_VERSION}) or 2.6.x (Debian 12's {DEBIAN_HAPROXY_VERSION})"
            )
        return value

    @property
    def series(self) -> tuple[int, int]:
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)


class JenkinsSpec(_Strict):
    version: str = JENKINS_VERSIONS[0]
    flavour: Literal["auto", "real", "lite"] = "auto"
    masters: int = Field(2, ge=2, le=4)

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in JENKINS_VERSIONS:
            raise ValueError(f"Jenkins {value!r} is not supported; allowed: {', '.join(JENKINS_VERSIONS)}")
        return value


class PortsSpec(_Strict):
    bind: str = "127.0.0.1"
    http: int = Field(8080, ge=1, le=65535)
    stats: int = Field(8001, ge=1, le=65535)
    agent: int = Field(8181, ge=1, le=65535)

    @field_validator("bind")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for all)") from None
        return value

    @model_validator(mode="after")
    def _distinct(self) -> PortsSpec:
        seen: dict[int, str] = {}
        for name in ("http", "stats", "agent"):
            port = getattr(self, name)
            if port in seen:
                raise ValueError(
                    f"ports.{seen[port]} and ports.{name} both publish host port {port}; each needs its own"
                )
            seen[port] = name
        return self


class StatsSpec(_Strict):
    user: str = Field("admin", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    password: str | None = Field(None, min_length=1, max_length=128)

    @field_validator("password")
    @classmethod
    def _safe_characters(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"[\s:\"'$\\]", value):
            raise ValueError("must not contain spaces, ':', quotes, '$' or backslashes (HAProxy config syntax)")
        return value


class NfsSpec(_Strict):
    client: Literal["auto", "kernel", "fuse", "local"] = "auto"
    subnet: str = "172.30.213.0/24"

    @field_validator("subnet")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 network (e.g. 172.30.213.0/24)") from None
        if network.num_addresses < 16:
            raise ValueError(f"{value!r} is too small: use a /28 or larger")
        return value


class Lab(_Strict):
    """Everything one lab is: read by the generator, the runner, chaos and verify."""

    name: str = "jenkins-ha"
    profile: Literal["ha", "article"] = "ha"
    haproxy: HAProxySpec = HAProxySpec()
    jenkins: JenkinsSpec = JenkinsSpec()
    ports: PortsSpec = PortsSpec()
    stats: StatsSpec = StatsSpec()
    nfs: NfsSpec = NfsSpec()

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid lab name; allowed: 2 to 32 lowercase letters, digits and "
                "dashes, starting with a letter"
            )
        return value

    @property
    def masters(self) -> list[str]:
        return master_names(self.jenkins.masters)

    @property
    def project(self) -> str:
        return project_name(self.name)


def load_lab(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Lab:
    """Read the spec file (if any), apply dotted-key overrides, validate. Raises SpecError."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        data = _read_yaml(path)
        source = str(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    try:
        return Lab.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_describe(exc, source), hint="`labgen init` writes a spec with every field explained") from None


def parse_override(assignment: str) -> tuple[str, Any]:
    """`haproxy.check.rise=2` -> ("haproxy.check.rise", 2); values are parsed as YAML scalars."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set haproxy.check.rise=2")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file", hint="create one with `labgen init`") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{path}: the spec must be a mapping of fields (name, profile, haproxy, ...), not {type(data).__name__}"
        )
    return data


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise SpecError(f"override {dotted!r}: {key!r} is not a section")
        node = child
    node[keys[-1]] = value


def _allowed_fields(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Lab
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid lab spec"]
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = ", ".join(_allowed_fields(loc))
            message = f"unknown field; allowed here: {allowed}"
        elif kind in ("literal_error", "enum"):
            message = error["msg"].replace("Input should be", "must be")
        elif kind.endswith("_type") or kind == "model_type":
            expected = kind.removesuffix("_type").replace("model", "mapping").replace("dict", "mapping")
            message = f"must be {'an' if expected[0] in 'aeiou' else 'a'} {expected}, got {error['input']!r}"
        elif kind == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        else:
            message = f"{error['msg']} (got {error['input']!r})"
        lines.append(f"  {field}: {message}")
    return "\n".join(lines)
