"""The lab spec: one YAML file (plus command-line overrides) validated into a `LabSpec`.

`load_lab` is the only place that reads the YAML; everything else works on the `LabSpec`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from yaml.nodes import MappingNode, Node, SequenceNode

from labgen.errors import BadSpecField, SpecError
from labgen.model import addresses, grammar, names
from labgen.model.grammar import ARTICLE_HAPROXY_VERSION, JENKINS_VERSIONS, excerpt
from labgen.model.names import master_names, project_name
from labgen.paths import read_regular_file

DEFAULT_SPEC_FILE = "labgen.yaml"
MAX_KEY_PARTS = 8  # a --set key: haproxy.check.rise is three
MAX_KEY_CHARS = 200
# Fields only the `ha` profile reads: set with --profile article, they would silently do nothing.
HA_ONLY_FIELDS = ("haproxy.read_timeout_ms", "jenkins.requeue_interrupted", "haproxy.replicas", "haproxy.vip")

# What a spec file may be: a lab spec is a few hundred bytes, three levels deep, without aliases.
MAX_SPEC_BYTES = 64 * 1024
MAX_YAML_DEPTH = 16
MAX_YAML_NODES = 5_000  # nodes after expanding aliases: a "billion laughs" stops here
MAX_ERRORS_SHOWN = 20
NULL_SPELLINGS = ("~", "null", "Null", "NULL")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CheckSpec(_Strict):
    inter_ms: int = Field(1000, ge=100, le=60000)
    rise: int = Field(1, ge=1, le=10)
    fall: int = Field(1, ge=1, le=10)


HOLD_TIMEOUT_S = names.HOLD_TIMEOUT_MS // 1000  # as long as the promoter waits for a standby's reload


class HAProxySpec(_Strict):
    version: str = ARTICLE_HAPROXY_VERSION
    check: CheckSpec = CheckSpec()
    # ha profile: how long a read waits for a master's first byte before HAProxy retries it on the
    # new active. Bounds what a read in flight to a paused or cut-off master costs; a Jenkins page
    # slower than this is retried and may fail, so lower it only for a Jenkins that answers fast.
    read_timeout_ms: int = Field(5000, ge=1000, le=600000)
    # ha profile: the longest a request or an agent connection waits in HAProxy while no master may
    # serve (a standby being promoted, however long its reload takes; the election at start); past
    # it the request gets one HTTP 503 whose body says why.
    hold_timeout_s: int = Field(HOLD_TIMEOUT_S, ge=10, le=3600)
    # ha profile: requests HAProxy sends one master at once (per backend: reads, writes); the rest wait
    # in HAProxy's queue, up to hold_timeout_s. What a promoted master meets first is the burst of
    # every request held while it reloaded: unbounded, it overflows the master's accept queue, and
    # one refused connection marks it DOWN (observe layer4).
    master_maxconn: int = Field(names.MASTER_MAXCONN, ge=1, le=10000)
    # ha profile: one HAProxy (the article's), or a pair sharing a virtual IP (keepalived, VRRP)
    replicas: int = Field(1, ge=1, le=names.MAX_LOAD_BALANCERS)
    # the pair's virtual IP on the lab network; None: host names.VIP_HOST of the subnet
    vip: str | None = None

    @field_validator("vip")
    @classmethod
    def _ipv4(cls, value: str | None) -> str | None:
        return addresses.check_vip(value)

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        return grammar.check_haproxy_version(value)

    @property
    def series(self) -> tuple[int, int]:
        major, minor, _ = self.version.split(".")
        return int(major), int(minor)


# Jenkins' own periods, which the lite flavour can compress for tests (issue 11).
OWNER_CHECK_SECONDS = 3600  # hudson.util.DoubleLaunchChecker: a check every 60 to 89 minutes
QUEUE_SAVE_SECONDS = 60  # hudson.model.Queue.Saver.DELAY_SECONDS


class LiteSpec(_Strict):
    """Settings of the lite flavour only (the real flavour ignores them: Jenkins has its own periods)."""

    owner_check_seconds: int = Field(OWNER_CHECK_SECONDS, ge=1, le=86400)
    queue_save_seconds: int = Field(QUEUE_SAVE_SECONDS, ge=0, le=3600)


class JenkinsSpec(_Strict):
    version: str = JENKINS_VERSIONS[0]
    flavour: Literal["auto", "real", "lite"] = "auto"
    masters: int = Field(2, ge=2, le=4)
    requeue_interrupted: bool = False
    # seconds a probe of JENKINS_HOME may hang before the master's home counts as not answering
    home_check_timeout_s: int = Field(names.HOMECHECK_TIMEOUT_S, ge=1, le=600)
    lite: LiteSpec = LiteSpec()

    @property
    def home_check_environment(self) -> dict[str, str]:
        """The masters' environment for the home check (none with the default)."""
        if self.home_check_timeout_s == names.HOMECHECK_TIMEOUT_S:
            return {}
        return {names.HOMECHECK_TIMEOUT_ENV: str(self.home_check_timeout_s)}

    @property
    def lite_environment(self) -> dict[str, str]:
        """The lite masters' environment for the periods that differ from Jenkins' (none by default)."""
        env = {}
        if self.lite.owner_check_seconds != OWNER_CHECK_SECONDS:
            env["JENKINS_OWNER_CHECK_SECONDS"] = str(self.lite.owner_check_seconds)
        if self.lite.queue_save_seconds != QUEUE_SAVE_SECONDS:
            env["JENKINS_QUEUE_SAVE_SECONDS"] = str(self.lite.queue_save_seconds)
        return env

    @field_validator("version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        return grammar.check_jenkins_version(value)


class PortsSpec(_Strict):
    bind: str = "127.0.0.1"
    http: int = Field(8080, ge=1, le=65535)
    stats: int = Field(8001, ge=1, le=65535)
    agent: int = Field(8181, ge=1, le=65535)

    @field_validator("bind")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        return addresses.check_bind_address(value)

    @property
    def loopback(self) -> bool:
        return addresses.is_loopback(self.bind)

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
    user: str = "admin"
    password: str | None = None

    @field_validator("user")
    @classmethod
    def _user_name(cls, value: str) -> str:
        return grammar.check_user(value)

    @field_validator("password")
    @classmethod
    def _safe_characters(cls, value: str | None) -> str | None:
        return grammar.check_password(value)


class NetworkSpec(_Strict):
    # the lab network's IPv4 subnet; None: a /24 chosen from the lab's name (derived_subnet)
    subnet: str | None = None

    @field_validator("subnet")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        return value if value is None else addresses.check_subnet(value)


class NfsSpec(_Strict):
    client: Literal["auto", "kernel", "fuse", "local"] = "auto"
    # the kernel NFS client's caching options (nfs(5): actimeo, acregmin, ..., noac, nocto, lookupcache),
    # for the masters' mounts, kernel or userspace; "" = the kernel's defaults
    mount_options: str = ""

    @field_validator("mount_options")
    @classmethod
    def _mount_options(cls, value: str) -> str:
        return grammar.check_mount_options(value)


class LabSpec(_Strict):
    """Everything one lab is: read by the generator, the runner, chaos and verify."""

    name: str = "jenkins-ha"
    profile: Literal["ha", "article"] = "ha"
    haproxy: HAProxySpec = HAProxySpec()
    jenkins: JenkinsSpec = JenkinsSpec()
    ports: PortsSpec = PortsSpec()
    stats: StatsSpec = StatsSpec()
    nfs: NfsSpec = NfsSpec()
    network: NetworkSpec = NetworkSpec()

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        nfs = data.get("nfs") if isinstance(data, dict) else None
        if isinstance(nfs, dict) and "subnet" in nfs:
            raise ValueError(
                "nfs.subnet is now network.subnet: the lab network's subnet, for every NFS client "
                "(e.g. network: {subnet: 172.30.213.0/24})"
            )
        return data

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return grammar.check_name(value)

    @model_validator(mode="after")
    def _profile_reads_every_field(self) -> LabSpec:
        if self.profile != "ha":
            unread = [f for f in HA_ONLY_FIELDS if _field(self, f) != _field(LabSpec(), f)]
            if unread:
                raise ValueError(
                    f"{', '.join(unread)}: only the ha profile reads {'these' if len(unread) > 1 else 'this'}; "
                    f"with profile {self.profile!r} leave {'them' if len(unread) > 1 else 'it'} unset "
                    "(or use profile ha)"
                )
        return self

    @model_validator(mode="after")
    def _vip_fits(self) -> LabSpec:
        if self.haproxy.vip is not None:
            addresses.check_vip_fits(self.haproxy.vip, self.haproxy.replicas, self.subnet, self.masters)
        return self

    @property
    def subnet(self) -> str:
        """The lab network's subnet: the spec's, or one derived from the lab's name."""
        return self.network.subnet or addresses.derived_subnet(self.name)

    @property
    def masters(self) -> list[str]:
        return master_names(self.jenkins.masters)

    @property
    def project(self) -> str:
        return project_name(self.name)


def _field(lab: LabSpec, dotted: str) -> object:
    value: object = lab
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def load_lab(path: Path | None = None, overrides: dict[str, Any] | None = None) -> LabSpec:
    """Read the spec file (if any), apply dotted-key overrides, validate. Raises SpecError."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        data = _read_yaml(path)
        source = str(path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    try:
        return LabSpec.model_validate(data)
    except ValidationError as exc:
        raise BadSpecField(
            _describe(exc, source), hint="`labgen init` writes a spec with every field explained"
        ) from None


def lab_from_text(text: str, source: str) -> LabSpec:
    """A spec's text (no overrides) validated into a `LabSpec`."""
    data = safe_yaml(text, source)
    try:
        return LabSpec.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise BadSpecField(_describe(exc, source)) from None


def parse_override(assignment: str) -> tuple[str, Any]:
    """`haproxy.check.rise=2` -> ("haproxy.check.rise", 2); values are parsed as YAML scalars."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BadSpecField(f"--set {excerpt(assignment)}: expected KEY=VALUE, e.g. --set haproxy.check.rise=2")
    if any(not part.strip() for part in key.split(".")):
        raise BadSpecField(f"--set {excerpt(key)}: empty field name; expected dotted names, e.g. haproxy.check.rise")
    if len(key) > MAX_KEY_CHARS or key.count(".") >= MAX_KEY_PARTS:
        raise BadSpecField(
            f"--set {excerpt(key)}: a spec field is at most {MAX_KEY_PARTS} names deep and "
            f"{MAX_KEY_CHARS} characters long, e.g. haproxy.check.rise"
        )
    try:
        value = safe_yaml(raw, f"--set {key}") if raw.strip() else raw
    except _Refused:
        raise
    except SpecError:
        value = raw  # not YAML: the text as it is
    if value is None and raw.strip() not in NULL_SPELLINGS:
        value = raw  # e.g. "&secret": YAML reads an anchor on nothing as null; the user meant the text
    return key, value


class _Refused(SpecError):
    """YAML that labgen will not read at all (too big, too deep, too many aliases, duplicate keys)."""


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with a depth cap while composing and duplicate keys refused."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable: the constructor reports it
            if duplicate:
                raise _Refused(
                    f"duplicate key {excerpt(key)} (line {key_node.start_mark.line + 1}): give each field once"
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _expanded_size(node: Node, memo: dict[int, int | None]) -> int:
    """Nodes in the document with every alias expanded; _Refused past MAX_YAML_NODES."""
    known = memo.get(id(node), -1)
    if known is None:
        raise _Refused(f"recursive alias (line {node.start_mark.line + 1})")
    if known != -1:
        return known
    memo[id(node)] = None
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    if size > MAX_YAML_NODES:
        raise _Refused(f"more than {MAX_YAML_NODES} values once its aliases are expanded (an alias bomb?)")
    memo[id(node)] = size
    return size


def safe_yaml(text: str, source: str) -> Any:
    """YAML text to Python values, with caps on size, depth and alias expansion; SpecError otherwise."""
    if len(text) > MAX_SPEC_BYTES:
        raise _Refused(f"{source}: {len(text)} characters; a lab spec is at most {MAX_SPEC_BYTES}")
    try:
        loader = _SpecLoader(text)  # the reader refuses control characters here
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _expanded_size(node, {})
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except _Refused as exc:
        raise _Refused(f"{source}: refused: {exc.message.removeprefix(source + ': ')}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{source}: malformed YAML{where}: {problem[:200]}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp such as 2019-13-45
        raise SpecError(f"{source}: malformed YAML: {str(exc)[:200]}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists() and not path.is_symlink():
        raise SpecError(f"{path}: no such spec file", hint="create one with `labgen init`")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder; --spec needs a YAML file")
    raw = read_regular_file(path, MAX_SPEC_BYTES, "a lab spec (a short YAML file)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            hint="save the spec as UTF-8",
        ) from None
    data = safe_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{path}: the spec must be a mapping of fields (name, profile, haproxy, ...), not {type(data).__name__}"
        )
    return data


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    if len(dotted) > MAX_KEY_CHARS or len(keys) > MAX_KEY_PARTS:
        raise SpecError(f"override {excerpt(dotted)}: a spec field is at most {MAX_KEY_PARTS} names deep")
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise BadSpecField(f"override {excerpt(dotted)}: {excerpt(key)} is not a section")
        node = child
    node[keys[-1]] = value


def _allowed_fields(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = LabSpec
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid lab spec"]
    errors = exc.errors()
    for error in errors[:MAX_ERRORS_SHOWN]:
        loc = tuple(error["loc"])
        field = ".".join(str(p) if len(str(p)) <= 40 else excerpt(p) for p in loc) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = ", ".join(_allowed_fields(loc))
            message = f"unknown field; allowed here: {allowed}"
        elif kind in ("literal_error", "enum"):
            message = error["msg"].replace("Input should be", "must be")
        elif kind.endswith("_type") or kind == "model_type":
            expected = kind.removesuffix("_type").replace("model", "mapping").replace("dict", "mapping")
            message = f"must be {'an' if expected[0] in 'aeiou' else 'a'} {expected}, got {excerpt(error['input'])}"
            if isinstance(error["input"], bool | None) and expected == "string":
                message += " (YAML reads yes, no, on, off, true, false and null as such: quote the text)"
        elif kind == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        else:
            message = f"{error['msg']} (got {excerpt(error['input'])})"
        lines.append(f"  {field}: {message}")
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"  ... and {len(errors) - MAX_ERRORS_SHOWN} more")
    return "\n".join(lines)
