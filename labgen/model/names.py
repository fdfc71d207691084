"""Every name of the lab's layout, spelled once: labels, services, proxies, tags, volumes, ports.

Only the model (this package) and the templates spell these; code everywhere else reads them
from here or from a `Topology` (tests/unit/model/test_names.py checks). The programs in the
images read them too (`labgen build` copies this file into their build contexts), so this module
imports nothing but the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Flavour = Literal["real", "lite"]
NfsClient = Literal["kernel", "fuse", "local"]

# ---- Docker labels: the source of truth for a running lab -----------------------------------------
LAB_LABEL = "org.labgen.lab"
SERVICE_LABEL = "org.labgen.service"
PROFILE_LABEL = "org.labgen.profile"
ROLE_LABEL = "org.labgen.role"
VOLUME_LABEL = "org.labgen.volume"
COMPONENT_LABEL = "org.labgen.component"
CONTENT_HASH_LABEL = "org.labgen.content-hash"
FLAVOUR_LABEL = "org.labgen.jenkins.flavour"
HAPROXY_ORIGIN_LABEL = "org.labgen.haproxy.source"
JENKINS_SHA_LABEL = "org.labgen.jenkins.sha256"
DEBIAN_SUITE_LABEL = "org.labgen.debian.suite"
# what an image says about itself (the Dockerfiles' LABEL keys come in as build args: label_buildargs)
HAPROXY_VERSION_LABEL = "org.labgen.haproxy.version"
HAPROXY_SHA_LABEL = "org.labgen.haproxy.sha256"
HAPROXY_DEBIAN_VERSION_LABEL = "org.labgen.haproxy.debian-version"
NFS_SERVER_LABEL = "org.labgen.nfs.server"
NFS_VERSION_LABEL = "org.labgen.nfs.version"
JENKINS_VERSION_LABEL = "org.labgen.jenkins.version"
JAVA_VERSION_LABEL = "org.labgen.java.version"
JAVA_FROM_LABEL = "org.labgen.java.from"

# ---- services and what runs in them ----------------------------------------------------------------
NFS = "nfs"
HAPROXY = "haproxy"  # the load balancer's service (haproxy.replicas 1); a pair is haproxy1, haproxy2
MAX_LOAD_BALANCERS = 2
MASTER_PREFIX = "jenkins"
JENKINS_HTTP_PORT = 8080  # inside a master's container
JENKINS_AGENT_PORT = 8181
HAPROXY_HTTP_PORT = 80  # inside HAProxy's container
HAPROXY_STATS_PORT = 8001
HAPROXY_AGENT_PORT = 8181
HOMECHECK_PORT = 8199  # inside a master: labgen_homecheck, HAProxy's agent-check (is JENKINS_HOME answering?)
HOMECHECK_LEASE_PORT = 8198  # inside a master: labgen_homecheck's decision arbiter (epochs claimed on the home)
HOMECHECK_UP = "up"  # the home check's answer when JENKINS_HOME answers (HAProxy's agent-check word)
# a probe of JENKINS_HOME (stat, write, read back) slower than this says "down" (jenkins.home_check_timeout_s):
# HAProxy then marks a master whose NFS died within seconds (tests/integration/test_faults.py fails with 3 s:
# not yet understood); a loaded machine whose NFS calls take seconds with nothing dead needs more
HOMECHECK_TIMEOUT_S = 2
HOMECHECK_TIMEOUT_ENV = "LABGEN_HOMECHECK_TIMEOUT_S"  # in each master's environment, when not the default
NETWORK = "lab"
HOME_VOLUME = "jenkins-home"
HOME_NFS_VOLUME = "jenkins-home-nfs"
HAPROXY_RUN_VOLUME = "haproxy-run"
NFS_EXPORT_DIR = "/export"  # the NFS server's exported volume, inside its container
NFS_PSEUDO_PATH = "/data"
JENKINS_DATA_DIR = "/var/lib/data"  # the article's NFS mount point on each master
JENKINS_HOME_DIR = f"{JENKINS_DATA_DIR}/jenkins"
JENKINS_LOCAL_DIR = f"{JENKINS_DATA_DIR}/jenkins-volume"  # nfs.client "local": the shared Docker volume
NFS_PORT = 2049
HAPROXY_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"  # inside HAProxy's container
HAPROXY_RUN_DIR = "/var/run/haproxy"  # the runtime API socket's folder (volume haproxy-run)
HAPROXY_ADMIN_SOCKET = f"{HAPROXY_RUN_DIR}/admin.sock"
SECRETS_FILE = "secrets.env"
STATS_PATH = "/haproxy?stats"
# a master's environment: HAProxy's stats page as a browser reaches it (lite's pages link it)
LITE_STATS_URL_ENV = "LABGEN_STATS_URL"
NFS_MOUNT_OPTIONS_ENV = "NFS_MOUNT_OPTIONS"  # the userspace NFS client's mount options (nfs.mount_options)

# ---- HAProxy's proxies -------------------------------------------------------------------------------
STATS_PROXY = "admin_stats"
AGENT_PROXY = "jenkins_agent"
HTTP_BACKEND = {"ha": "jenkins", "article": "jenkins_proxy"}  # the article names its backend jenkins_proxy
HTTP_FRONTEND = {"ha": "jenkins_http", "article": "jenkins_proxy"}
WRITE_BACKEND = "jenkins_write"  # ha: requests other than GET/HEAD, retried only where never applied
HOLD_PROXY = "hold"  # ha: where requests wait while no master may serve (tarpit, then 503)
HOLD_SERVER = "hold"
HOLD_SERVER_ID = 1000
HOLD_PORT = 8099  # on 127.0.0.1 inside HAProxy's container
ADMIN_USERLIST = "labgen_admin"  # the stats login, for the promoter's HTTP service
# The promoter: Lua inside HAProxy (ha profile), installed by images/haproxy/Dockerfile
PROMOTER = HAPROXY  # the service that promotes a standby: `labgen chaos kill` it to test that
PROMOTER_DIR = "/usr/local/share/labgen"  # promoter.lua and its modules (labgen/*.lua) in HAProxy's image
PROMOTER_LUA = f"{PROMOTER_DIR}/promoter.lua"
PROMOTER_SERVICE = "labgen"  # core.register_service name (promoter.lua)
PROMOTER_HOLD_ACTION = "labgen_hold"  # core.register_action name: requests wait while no master serves
PROMOTER_HOLD_AGAIN_ACTION = "labgen_hold_again"  # in the hold proxy: a request back from a dead master
PROMOTER_AGENT_HOLD_ACTION = "labgen_hold_agent"  # tcp-request: agent connections wait the same way
PROMOTER_HELD_ACTION = "labgen_held"  # http-response: says how long the request was held (HELD_HEADER)
PROMOTER_UNAVAILABLE_SERVICE = "labgen_unavailable"  # the 503 of a request held too long, saying why
HOLD_GAVE_UP_VAR = "txn.labgen_gave_up"  # set by the hold actions when the hold timeout passed
HOLD_ID_VAR = "txn.labgen_hold_id"  # the frontend's id of a held request (HOLD_HEADER)
HELD_MS_VAR = "txn.labgen_held_ms"  # how long the frontend held it
HOLD_HEADER = "X-Labgen-Hold"  # request: "<id> <ms since the epoch>", from the frontend to the hold proxy
HELD_HEADER = "X-Labgen-Held-Ms"  # response: how long HAProxy held the request before a master took it
PROMOTER_LOG_PREFIX = "labgen-promoter: "  # every line the promoter logs: "<prefix><event> key=value ..."
PROMOTE_START_EVENT = "promote.start"  # a promotion begins (it reloads a master): verify counts them
PROMOTER_PATH = "/labgen/"  # on the stats port: GET state, POST switchover?to=MASTER
PROMOTER_STATE_PATH = PROMOTER_PATH + "state"
PROMOTER_SWITCHOVER_PATH = PROMOTER_PATH + "switchover"
SERVED_BY_HEADER = "X-Labgen-Served-By"
NODE_HEADER = "X-Labgen-Node"
FLAVOUR_HEADER = "X-Labgen-Flavour"
LOGIN_PATH = "/login"  # Jenkins' login page: answered from memory, the masters' liveness probe
JENKINS_VERSION = "2.190.2"  # the article's Jenkins, the only one supported

# ---- the promotion decision (issue 20): which master is active, and its epoch ---------------------------
# Kept in a stick table synced by a `peers` section: HAProxy hands it from an old worker to the new one on a
# soft reload (the local peer), and between the two load balancers of a pair. The promoter records a
# decision by sending one request to a loopback listener whose rule tracks the key (HAProxy 2.0's Lua cannot
# write a stick table), and reads it back with `core.backends[DECISION_BACKEND].stktable:dump()`.
PEERS_SECTION = "labgen_peers"
PEERS_PORT = 10000  # each load balancer's peers listener (on loopback with a single HAProxy)
DECISION_BACKEND = "labgen_decision"  # the backend that holds the decision's stick table
DECISION_TABLE_SIZE = 16  # the newest decisions (least recently used ones are purged)
DECISION_KEY_LENGTH = 64
DECISION_PROXY = "labgen_record"  # on 127.0.0.1:DECISION_PORT: the promoter records a decision here
DECISION_PORT = 8098
DECISION_PORT_ENV = "LABGEN_DECISION_PORT"  # haproxy.cfg `setenv`: where the promoter records (DECISION_PORT)
DECISION_HEADER = "X-Labgen-Decision"  # "<epoch, 10 digits><DECISION_SEPARATOR><master>": the table's key
DECISION_SEPARATOR = "@"
DECISION_DIR = ".labgen-decision"  # in JENKINS_HOME: one file per claimed epoch (labgen_homecheck.lease)
LEASE_PORT_ENV = "LABGEN_LEASE_PORT"  # a pair of load balancers: the masters' HOMECHECK_LEASE_PORT (else unset)
PROMOTER_RECORDED_SERVICE = "labgen_recorded"  # answers the recording request (the key is tracked by then)

# ---- the promoter's settings: environment variables (haproxy.cfg `setenv`, compose.yaml) -----------
MASTERS_ENV = "LABGEN_MASTERS"  # comma separated server names of HTTP_BACKEND, in election order
HTTP_BACKEND_ENV = "LABGEN_HTTP_BACKEND"
WRITE_BACKEND_ENV = "LABGEN_WRITE_BACKEND"
HOMECHECK_PORT_ENV = "LABGEN_HOMECHECK_PORT"
REQUEUE_INTERRUPTED_ENV = "LABGEN_REQUEUE_INTERRUPTED"
HOLD_TIMEOUT_ENV = "LABGEN_HOLD_TIMEOUT_MS"  # haproxy.hold_timeout_s, in ms
HOLD_SLICE_ENV = "LABGEN_HOLD_SLICE_MS"
# Its timings: environment variable -> default in milliseconds (names.lua carries both to the Lua)
RELOAD_TIMEOUT_MS = 120_000  # a standby's reload, from POST /reload to its first 200
DRAIN_TIMEOUT_MS = 5_000  # a planned switchover waits this long for the old active's sessions
# requests on one master at once (haproxy.master_maxconn): Jenkins' Jetty serves 100 at most, lite far fewer
MASTER_MAXCONN = 32
HOLD_TIMEOUT_MS = RELOAD_TIMEOUT_MS  # a request waits this long at most (the default of haproxy.hold_timeout_s)
HOLD_SLICE_MS = 2_000  # one visit to the hold proxy, at most (below the backends' server timeouts)
HOLD_RETRIES = 40  # L7 retries besides those the hold slices need (connect failures to a dead master)
PROMOTER_TIMINGS_MS = {
    "LABGEN_POLL_MS": 100,
    "LABGEN_PROBE_TIMEOUT_MS": 1_000,
    "LABGEN_RELOAD_TIMEOUT_MS": RELOAD_TIMEOUT_MS,
    "LABGEN_RELOAD_QUIET_MS": 2_000,
    "LABGEN_RETRY_MS": 2_000,
    "LABGEN_DRAIN_TIMEOUT_MS": DRAIN_TIMEOUT_MS,
    "LABGEN_ELECT_GRACE_MS": 10_000,
    "LABGEN_HOLD_MS": 15_000,  # a standby's home that failed with the active's this recently: one outage
    HOLD_TIMEOUT_ENV: HOLD_TIMEOUT_MS,
    HOLD_SLICE_ENV: HOLD_SLICE_MS,
    "LABGEN_SETTLE_MS": 5_000,
    "LABGEN_BUILD_WATCH_MS": 1_000,
    "LABGEN_COLLISION_CHECK_MS": 2_000,
    # a starting worker with no recorded decision waits this long for its peers (the old worker on a
    # reload hands the table over in a few ms) before it elects
    "LABGEN_PEER_SYNC_MS": 1_000,
    # a pair: a promoter serves its master only this long after the home last confirmed its epoch, and
    # a new claim's master serves no sooner than this after the claim (the other one has stopped by then)
    "LABGEN_LEASE_MS": 1_000,
    # a pair: a claim whose promoter has not renewed it for this long is abandoned (the promoter died or
    # froze in the middle of its promotion): another one claims the next epoch; a claimer renews every
    # LABGEN_CLAIM_RENEW_MS while it reloads
    "LABGEN_CLAIM_STALE_MS": 3_000,
    "LABGEN_CLAIM_RENEW_MS": 500,
}
# POST /labgen/switchover answers within the reload and the drain, plus this margin; a client
# (labgen.lab.handle) waits that long and a little more.
SWITCHOVER_MARGIN_MS = 5_000
SWITCHOVER_ANSWER_MS = RELOAD_TIMEOUT_MS + DRAIN_TIMEOUT_MS + SWITCHOVER_MARGIN_MS

# ---- credentials: the variables of secrets.env (HAProxy's and the masters' environment) -------------
STATS_USER_ENV = "LABGEN_STATS_USER"
STATS_PASSWORD_ENV = "LABGEN_STATS_PASSWORD"
ADMIN_USER_ENV = "JENKINS_ADMIN_USER"
ADMIN_PASSWORD_ENV = "JENKINS_ADMIN_PASSWORD"
ADMIN_TOKEN_ENV = "JENKINS_ADMIN_TOKEN"

# ---- images -------------------------------------------------------------------------------------------
BASE_SUITE = "bookworm"  # the Debian release every image is built on
# ... but the real Jenkins on Debian's own Java: Debian 12 has only OpenJDK 17, which Jenkins 2.190.2
# refuses; Debian 11 has openjdk-11-jre-headless
JAVA11_SUITE = "bullseye"
JAVA11_BASE_IMAGE = f"base-{JAVA11_SUITE}"  # its key in BuildResult.tags
JENKINS_WAR_PATH = "/usr/share/jenkins/jenkins.war"  # in the real image
# The images' namespace: `labgen`, or LABGEN_IMAGE_NAMESPACE's value, so that checkouts built on one
# engine (two branches' CI runs, say) never replace each other's images. Read where images are named
# (`image_namespace`: the build, the generated compose.yaml, doctor), not when this module is imported.
IMAGE_NAMESPACE_ENV = "LABGEN_IMAGE_NAMESPACE"
DEFAULT_IMAGE_NAMESPACE = "labgen"
IMAGE_NAMESPACE_PATTERN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")  # a Docker repository namespace
MAX_IMAGE_NAMESPACE_CHARS = 64
# each image's repository in the namespace (ImageTags)
BASE_REPOSITORY_NAME = "base"  # tagged with its Debian suite
NFS_REPOSITORY_NAME = "nfs-ganesha"
NFS_TAG_VERSION = "4.3"
HAPROXY_REPOSITORY_NAME = "haproxy"
JENKINS_REPOSITORY_NAMES = {"real": "jenkins", "lite": "jenkins-lite"}
BASE_IMAGE = "base"  # the keys of Topology.images and of BuildResult.tags
JENKINS_IMAGE = "jenkins"  # one image for every master

# What nfs-ganesha needs with `--cap-drop ALL` (measured with libnfs clients creating, reading
# and writing files as root and as uid 1000; no --privileged, which this engine refuses):
NFS_CAPABILITIES = (
    "DAC_READ_SEARCH",  # open_by_handle_at(): FSAL_VFS reaches every file by its kernel handle
    "SETUID",  # per request ganesha takes the client's fsuid ...
    "SETGID",  # ... and its groups (setgroups); without these it aborts on the first write
    "DAC_OVERRIDE",  # No_Root_Squash: a root client may write into anyone's directories
    "FOWNER",  # set times/modes on the files it creates for a client (else NFS4ERR_PERM)
    "CHOWN",  # SETATTR owner/group from clients (chown over NFS)
)
# ganesha's VFS backend reaches files by handle (name_to_handle_at), which Docker Engine 20.10's
# default seccomp profile allows only together with CAP_SYS_ADMIN: the NFS container runs with
# labgen's own profile (labgen/model/seccomp.py), written into the lab folder. compose.yaml names
# the file (Compose reads it, relative to the lab folder); `docker run` (tests) takes it inline.
NFS_SECCOMP_PROFILE = "nfs/seccomp.json"
NFS_SECURITY_OPT = (f"seccomp=./{NFS_SECCOMP_PROFILE}",)
# labgen's FUSE NFS client in the masters (the Docker host's kernel has no NFS client)
FUSE_DEVICE = "/dev/fuse"
FUSE_CAPABILITIES = ("SYS_ADMIN",)


def nfs_run_options() -> dict[str, object]:
    """`docker run` settings of the NFS container (Docker SDK keyword names)."""
    from labgen.model import seccomp  # here: this module imports only the standard library

    # the Engine API takes the profile's JSON itself, not a path
    security_opt = [f"seccomp={seccomp.nfs_profile_json()}"]
    return {"cap_drop": ["ALL"], "cap_add": list(NFS_CAPABILITIES), "security_opt": security_opt}


def jenkins_run_options() -> dict[str, object]:
    """`docker run` settings of a master that mounts JENKINS_HOME with the FUSE NFS client."""
    return {"devices": [f"{FUSE_DEVICE}:{FUSE_DEVICE}:rwm"], "cap_add": list(FUSE_CAPABILITIES)}


def image_buildargs() -> dict[str, str]:
    """What every Dockerfile reads from the model, as build args: each label key (FLAVOUR_LABEL as
    LABEL_FLAVOUR: `LABEL ${LABEL_FLAVOUR}=...`), each environment variable's name (STATS_USER_ENV
    as STATS_USER_ENV) and the paths the images share with labgen."""
    found = {f"LABEL_{key.removesuffix('_LABEL')}": value for key, value in globals().items() if key.endswith("_LABEL")}
    variables = {key: value for key, value in globals().items() if key.endswith("_ENV") and isinstance(value, str)}
    shared = {
        "PROMOTER_DIR": PROMOTER_DIR,
        "PROMOTER_LUA": PROMOTER_LUA,
        "JENKINS_HOME_DIR": JENKINS_HOME_DIR,
        "KEEPALIVED_CONFIG_PATH": KEEPALIVED_CONFIG_PATH,
        "KEEPALIVED_STATE_FILE": KEEPALIVED_STATE_FILE,
        "HAPROXY_EXIT_FILE": HAPROXY_EXIT_FILE,
    }
    return {**found, **variables, **shared}


# ---- the lab network: fixed addresses, by host number in the lab's subnet ----------------------------
# Docker gives a user-defined bridge's gateway the subnet's first address; every service has a fixed
# one, so that the NFS export can admit the masters only and keepalived can name its peer. All fit a
# /28 (hosts 1 to 14).
GATEWAY_HOST = 1
LOAD_BALANCER_HOSTS = (2, 3)  # haproxy (or haproxy1), haproxy2
VIP_HOST = 4  # the pair's virtual IP (haproxy.replicas 2), unless haproxy.vip names another
NFS_HOST = 10
MASTER_HOSTS = (11, 12, 13, 14)  # jenkins01..jenkins04
# the subnet when the spec names none: a /24 in this block, chosen from the lab's name
DERIVED_SUBNET_BLOCK = "10.64.0.0/10"
DERIVED_SUBNET_PREFIX = 24
# VRRP (keepalived, haproxy.replicas 2): the first load balancer is preferred
VRRP_PRIORITIES = (150, 100)
VRRP_ROUTER_ID = 51
VRRP_INSTANCE = "labgen_vip"
VRRP_SCRIPT = "labgen_haproxy"  # keepalived's health check of the HAProxy beside it
KEEPALIVED_CONFIG_PATH = "/etc/keepalived/keepalived.conf"  # inside a load balancer's container
KEEPALIVED_STATE_FILE = "/run/labgen/vrrp-state"  # keepalived's notify script writes MASTER, BACKUP, FAULT
# 0 while HAProxy runs; the entrypoint writes 1 the moment HAProxy exits: keepalived watches it
# (vrrp_track_file, inotify) and gives up the VIP at once, not at its next 1 s script check
HAPROXY_EXIT_FILE = "/run/labgen/haproxy-exited"
VRRP_TRACK_FILE = "labgen_haproxy_exited"
LOAD_BALANCER_CAPABILITIES = ("NET_ADMIN",)  # keepalived adds and removes the VIP (NET_RAW kept: ARP)


def load_balancer_names(replicas: int) -> list[str]:
    """The load balancers' services: `haproxy` alone, or haproxy1, haproxy2 for a pair."""
    return [HAPROXY] if replicas == 1 else [f"{HAPROXY}{i}" for i in range(1, replicas + 1)]


def master_names(count: int) -> list[str]:
    return [f"{MASTER_PREFIX}{i:02d}" for i in range(1, count + 1)]


def project_name(lab_name: str) -> str:
    """The Compose project name, and the prefix of every container, network and volume."""
    return f"labgen-{lab_name}"


def image_namespace(environ: Mapping[str, str]) -> str:
    """The images' namespace that `environ` names (IMAGE_NAMESPACE_ENV), else DEFAULT_IMAGE_NAMESPACE;
    BadEnvironmentVariable for one Docker would refuse."""
    namespace = environ.get(IMAGE_NAMESPACE_ENV) or DEFAULT_IMAGE_NAMESPACE
    if not IMAGE_NAMESPACE_PATTERN.fullmatch(namespace) or len(namespace) > MAX_IMAGE_NAMESPACE_CHARS:
        from labgen.errors import BadEnvironmentVariable  # here: this module imports only the standard library

        raise BadEnvironmentVariable(
            f"{IMAGE_NAMESPACE_ENV}={namespace[:MAX_IMAGE_NAMESPACE_CHARS]!r} is not allowed; allowed: 1 to "
            f"{MAX_IMAGE_NAMESPACE_CHARS} lowercase letters and digits, with '.', '_' or '-' between them "
            "(a Docker repository namespace)"
        )
    return namespace


@dataclass(frozen=True)
class ImageTags:
    """The images' tags in one namespace: `ImageTags.of(os.environ)` where images are built or named."""

    namespace: str

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> ImageTags:
        return cls(image_namespace(environ))

    @property
    def prefix(self) -> str:
        """What every one of labgen's tags starts with."""
        return f"{self.namespace}/"

    def base(self, suite: str = BASE_SUITE) -> str:
        return f"{self.prefix}{BASE_REPOSITORY_NAME}:{suite}"

    @property
    def nfs(self) -> str:
        return f"{self.prefix}{NFS_REPOSITORY_NAME}:{NFS_TAG_VERSION}"

    @property
    def haproxy_repository(self) -> str:
        return f"{self.prefix}{HAPROXY_REPOSITORY_NAME}"

    def haproxy(self, version: str) -> str:
        return f"{self.haproxy_repository}:{version}"

    def jenkins_repository(self, flavour: str) -> str:
        return f"{self.prefix}{JENKINS_REPOSITORY_NAMES['real' if flavour == 'real' else 'lite']}"

    def jenkins(self, flavour: str, version: str) -> str:
        return f"{self.jenkins_repository(flavour)}:{version}"
