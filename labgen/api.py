"""labgen as a Python library: a Jenkins HA lab that a script or a test starts, breaks, checks and
removes. The CLI and this API run the same code (`runtime.up/down`, `chaos.apply`,
`run_failover`, `LabHandle`); nothing here parses command output.

    from labgen import Lab          # the same class as labgen.JenkinsHALab

    with Lab("plugin-demo", masters=2) as lab:      # up, and down (with volumes) at the end
        server = lab.python_jenkins()                         # python-jenkins, through HAProxy
        server.create_job("hello", jenkins.EMPTY_CONFIG_XML)
        lab.chaos("kill", lab.active_master())
        result = lab.verify_failover(trials=1)
        assert result.passed

Inside labgen the class is called ``JenkinsHALab`` (the lab's *spec*, what ``labgen.yaml`` holds, is
``labgen.model.spec.LabSpec``); the package exports it as ``labgen.Lab`` too.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from labgen.builder import BuildOptions
from labgen.chaos import AppliedFault, apply
from labgen.errors import LabUnhealthy, ToolMissing
from labgen.events import NULL_EMITTER, Emitter
from labgen.generate import secrets as secret_keys
from labgen.lab import runtime
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient
from labgen.model.grammar import check_lab_name
from labgen.model.spec import LabSpec, load_lab
from labgen.model.topology import Topology
from labgen.verify import VerifyResult, run_failover
from labgen.wire.haproxy import ServerState
from labgen.wire.net import free_port
from labgen.wire.poll import wait_for

if TYPE_CHECKING:
    import jenkins


class JenkinsHALab:
    """One lab: HAProxy in front of Jenkins masters that share JENKINS_HOME over NFS.

    ``name`` names the lab (and its Docker objects: ``labgen-<name>-*``). The spec comes from
    ``spec`` (a `labgen.model.spec.LabSpec`), else ``spec_file`` (a labgen.yaml), else the defaults;
    ``profile``, ``flavour``, ``masters`` and ``overrides`` (dotted spec fields, as ``--set``)
    change it. ``free_ports=True`` (the default) publishes on free ports rather than 8080/8001/
    8181, so a test's lab does not collide with anything already running.
    """

    def __init__(
        self,
        name: str,
        *,
        spec: LabSpec | None = None,
        spec_file: Path | None = None,
        profile: str | None = None,
        flavour: str | None = None,
        masters: int | None = None,
        overrides: dict[str, Any] | None = None,
        free_ports: bool = True,
        build_options: BuildOptions | dict[str, Any] | None = None,
        timeout: float = 300,
        keep_volumes: bool = False,
        emitter: Emitter = NULL_EMITTER,
    ) -> None:
        check_lab_name(name, "name")
        changes: dict[str, Any] = {"name": name}
        if free_ports:
            changes.update({"ports.http": free_port(), "ports.stats": free_port(), "ports.agent": free_port()})
        for key, value in (("profile", profile), ("jenkins.flavour", flavour), ("jenkins.masters", masters)):
            if value is not None:
                changes[key] = value
        changes.update(overrides or {})
        if spec is not None:  # the spec's sections as whole values, then the changes on top
            self.spec = load_lab(None, {**spec.model_dump(mode="json"), **changes})
        else:
            self.spec = load_lab(spec_file, changes)
        self.build_options = BuildOptions.of(build_options)
        self.timeout = timeout
        self.keep_volumes = keep_volumes
        self.emitter = emitter
        self._handle: LabHandle | None = None
        self.up_result: runtime.UpResult | None = None

    # ---- life cycle ----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    def up(self) -> JenkinsHALab:
        """Build what is missing, start the lab, wait until HAProxy serves a healthy master."""
        # jenkins "auto" defers to the spec's jenkins.flavour
        self.up_result = runtime.up(
            self.spec, build_options=self.build_options, timeout=self.timeout, emitter=self.emitter
        )
        self._handle = LabHandle.open(self.name)
        return self

    def down(self, *, volumes: bool | None = None) -> runtime.DownResult:
        """Remove the lab's containers and network (and JENKINS_HOME's volume unless ``keep_volumes``)."""
        self._handle = None
        return runtime.down(self.name, volumes=not self.keep_volumes if volumes is None else volumes)

    def __enter__(self) -> JenkinsHALab:
        try:
            return self.up()
        except BaseException:
            self.down()  # a half-started lab is removed too
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.down()

    # ---- what it is ----------------------------------------------------------------------------------
    @property
    def handle(self) -> LabHandle:
        """labgen's handle on the running lab (containers, health, HAProxy's view, exec)."""
        if self._handle is None:
            self._handle = LabHandle.open(self.name)
        return self._handle

    @property
    def topology(self) -> Topology:
        return self.handle.topology

    @property
    def masters(self) -> list[str]:
        return list(self.topology.masters)

    @property
    def urls(self) -> dict[str, str]:
        """``jenkins`` (through HAProxy), ``stats`` (HAProxy's stats page), ``agent`` (host:port)."""
        return dict(self.topology.urls)

    @property
    def credentials(self) -> dict[str, str]:
        """The lab's generated credentials: Jenkins admin user, password and API token; stats login."""
        s = self.handle.secrets
        return {
            "jenkins_user": s.get(secret_keys.ADMIN_USER, ""),
            "jenkins_password": s.get(secret_keys.ADMIN_PASSWORD, ""),
            "jenkins_token": s.get(secret_keys.ADMIN_TOKEN, ""),
            "stats_user": s.get(secret_keys.STATS_USER, ""),
            "stats_password": s.get(secret_keys.STATS_PASSWORD, ""),
        }

    # ---- Jenkins, through HAProxy --------------------------------------------------------------------
    def client(self, timeout: float = 3.0) -> JenkinsClient:
        """labgen's own small Jenkins client (stdlib only), as the admin with the API token."""
        return self.handle.jenkins(timeout=timeout)

    def python_jenkins(self, timeout: float = 10.0) -> jenkins.Jenkins:
        """A python-jenkins ``jenkins.Jenkins`` on the lab's URL, as the admin with the API token
        (``pip install python-jenkins``, or ``labgen[pytest]``)."""
        try:
            import jenkins
        except ImportError:
            raise ToolMissing(
                "python-jenkins is not installed", hint="pip install python-jenkins (or 'labgen[pytest]')"
            ) from None
        creds = self.credentials
        return jenkins.Jenkins(
            self.urls["jenkins"], username=creds["jenkins_user"], password=creds["jenkins_token"], timeout=timeout
        )

    # ---- HAProxy's view ------------------------------------------------------------------------------
    def haproxy_servers(self) -> list[ServerState]:
        """Every server of every proxy as HAProxy's stats page shows it (empty when it does not answer)."""
        return self.handle.haproxy_servers() or []

    def http_servers(self) -> list[ServerState]:
        """The masters' servers in HAProxy's HTTP backend (``.server``, ``.status``, ``.up``)."""
        return self.handle.http_servers(self.handle.haproxy_servers())

    def server_status(self, master: str) -> str | None:
        """HAProxy's status of a master's HTTP server: UP, DOWN, MAINT, ... (None: unknown)."""
        return self.handle.server_status(master)

    def active_master(self) -> str | None:
        """The master that serves through HAProxy now."""
        return self.handle.active_master(self.handle.haproxy_servers())

    def wait_for_master(self, *, other_than: str | None = None, timeout: float = 60.0) -> str:
        """Until a master (not ``other_than``) serves /login through HAProxy; its name."""

        def served() -> str | None:
            master = self.handle.probe_login()
            return master if master in self.topology.masters and master != other_than else None

        found = wait_for(served, timeout=timeout, interval=0.2)
        if found is None:
            raise LabUnhealthy(
                f"lab {self.name}: no master{f' other than {other_than}' if other_than else ''} "
                f"served through HAProxy within {timeout:.0f} s",
                hint=f"`labgen status --lab {self.name}`",
            )
        return str(found)

    def status(self) -> runtime.LabStatus:
        return runtime.status(self.name)

    # ---- break it, prove it --------------------------------------------------------------------------
    def chaos(self, action: str, target: str, **options: Any) -> AppliedFault:
        """One fault (kill, stop, start, restart, pause, unpause, partition, heal, reload) on one service."""
        return apply(self.handle, action, target, **options)

    def verify_failover(self, **options: Any) -> VerifyResult:
        """The failover experiment (`labgen verify failover`); ``result.passed`` is the verdict.
        Options: target, action, trials, rate, timeout, keep_jobs, ... (see `run_failover`)."""
        return run_failover(self.name, **options)
